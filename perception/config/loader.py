"""Load YAML configs into typed objects, apply ``--set`` overrides, save the resolved config.

Validation is strict: a key that is not a field at its path is refused with a "did you mean"
suggestion and the key's dotted path; a value of the wrong type names the key and the expected
type. Overrides use dotted paths (``--set data.batch_size=4``) and their values are parsed with
``yaml.safe_load``, so ``4`` is an int, ``0.5`` a float, ``null`` is None and ``[1, 2]`` a list.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from perception.atomic import write_text_atomic
from perception.config.schema import RunConfig
from perception.errors import ConfigError, did_you_mean

ConfigT = TypeVar("ConfigT")


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """Read ``path`` (or start from the defaults when ``None``), validate, apply overrides.

    Raises:
        ConfigError: one line naming the file or override, the key path and the problem.
    """
    raw: Mapping[str, Any] = {}
    origin = "defaults"
    if path is not None:
        origin = str(path)
        raw = read_yaml_mapping(Path(path))
    config = build_dataclass(RunConfig, raw, key_path="", origin=origin)
    for override in overrides:
        apply_override(config, override)
    return config


def read_yaml_mapping(path: Path) -> Mapping[str, Any]:
    """Parse a YAML file whose top level must be a mapping (an empty file is ``{}``)."""
    if not path.is_file():
        raise ConfigError(f"config file '{path}' not found")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: cannot parse YAML{where}: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(loaded).__name__}")
    return loaded


def build_dataclass(cls: type[ConfigT], raw: Any, key_path: str, origin: str) -> ConfigT:
    """Validate the mapping ``raw`` into dataclass ``cls``; missing keys keep their defaults."""
    label = key_path or "the top level"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{origin}: '{label}' must be a mapping of {cls.__name__} fields, "
            f"got {type(raw).__name__} {raw!r}"
        )
    hints = typing.get_type_hints(cls)
    field_names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    extra_field = getattr(cls, "EXTRA_KEYS_FIELD", None)
    for key, value in raw.items():
        child = _join(key_path, str(key))
        if key not in field_names and extra_field is not None:
            # An open section (e.g. ``balancer``): the plugin it names validates these keys.
            values.setdefault(extra_field, {})[str(key)] = value
            continue
        if key not in field_names:
            raise ConfigError(
                f"{origin}: unknown key '{child}'{did_you_mean(str(key), field_names)}"
            )
        values[key] = convert_value(value, hints[key], child, origin)
    return cls(**values)


def convert_value(value: Any, annotation: Any, key_path: str, origin: str) -> Any:
    """Check ``value`` against the type ``annotation`` and return it in that type."""
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return build_dataclass(annotation, value, key_path, origin)
    origin_type = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin_type in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (arg for arg in args if arg is not type(None)):
            try:
                return convert_value(value, option, key_path, origin)
            except ConfigError:
                continue
        raise _type_error(value, annotation, key_path, origin)
    if origin_type is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(repr(arg) for arg in args)
        raise ConfigError(f"{origin}: key '{key_path}' must be one of {choices}, got {value!r}")
    if origin_type is list:
        if not isinstance(value, list):
            raise _type_error(value, annotation, key_path, origin)
        return [convert_value(v, args[0], f"{key_path}[{i}]", origin) for i, v in enumerate(value)]
    if origin_type is dict:
        if not isinstance(value, dict):
            raise _type_error(value, annotation, key_path, origin)
        return {
            convert_value(k, args[0], key_path, origin): convert_value(
                v, args[1], _join(key_path, str(k)), origin
            )
            for k, v in value.items()
        }
    return _convert_scalar(value, annotation, key_path, origin)


def _convert_scalar(value: Any, annotation: Any, key_path: str, origin: str) -> Any:
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"config schema uses unsupported type {annotation!r} at '{key_path}'")
    raise _type_error(value, annotation, key_path, origin)


def _type_error(value: Any, annotation: Any, key_path: str, origin: str) -> ConfigError:
    return ConfigError(
        f"{origin}: key '{key_path}' expects {_type_name(annotation)}, "
        f"got {type(value).__name__} {value!r}"
    )


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def apply_override(config: Any, override: str) -> None:
    """Apply one ``dotted.key=value`` override in place; the value is parsed as YAML."""
    origin = f"--set {override}"
    key_path, sep, text = override.partition("=")
    key_path = key_path.strip()
    if not sep or not key_path:
        raise ConfigError(f"{origin}: expected KEY=VALUE, e.g. --set data.batch_size=4")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"{origin}: the value is not valid YAML") from None
    parts = key_path.split(".")
    target = config
    for depth, part in enumerate(parts):
        names = [f.name for f in dataclasses.fields(target)]
        prefix = ".".join(parts[:depth])
        extra_field = getattr(type(target), "EXTRA_KEYS_FIELD", None)
        if part not in names and extra_field is not None and depth == len(parts) - 1:
            getattr(target, extra_field)[part] = value
            return
        if part not in names:
            raise ConfigError(
                f"{origin}: unknown key '{_join(prefix, part)}'{did_you_mean(part, names)}"
            )
        if depth == len(parts) - 1:
            annotation = typing.get_type_hints(type(target))[part]
            current = getattr(target, part)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                value = {**config_to_dict(current), **value}
            setattr(target, part, convert_value(value, annotation, key_path, origin))
            return
        target = getattr(target, part)
        if not dataclasses.is_dataclass(target):
            raise ConfigError(f"{origin}: '{_join(prefix, part)}' is a value, not a section")


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config as plain YAML-serialisable data."""
    return dataclasses.asdict(config)


def save_config(config: Any, path: str | Path) -> Path:
    """Write the resolved config as YAML to ``path`` atomically; return the path."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False)
    write_text_atomic(path, text)
    return Path(path)
