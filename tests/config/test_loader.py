"""The config loader: strict keys with suggestions, type errors, overrides, saving."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from perception.config.loader import load_config, save_config
from perception.config.schema import RunConfig
from perception.errors import ConfigError
from tests.conftest import REPO_ROOT


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_when_no_file() -> None:
    assert load_config(None) == RunConfig()


def test_values_from_file_override_defaults(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "seed: 7\nsynth:\n  height: 96\n  lighting: {night: 1.0}\n")
    config = load_config(path)
    assert config.seed == 7
    assert config.synth.height == 96
    assert config.synth.width == RunConfig().synth.width
    assert config.synth.lighting.night == 1.0
    assert config.synth.lighting.day == RunConfig().synth.lighting.day


def test_unknown_key_gets_suggestion_and_path(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "data:\n  batch_sise: 4\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'data.batch_sise'" in message
    assert "did you mean 'batch_size'" in message


def test_unknown_key_without_close_match_has_no_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'zzz'$"):
        load_config(write_yaml(tmp_path, "zzz: 1\n"))


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("seed: abc", "seed", "int"),
        ("seed: true", "seed", "int"),
        ("data: {augment: {enabled: 1}}", "data.augment.enabled", "bool"),
        ("synth: {fog_probability: high}", "synth.fog_probability", "float"),
        ("data: {root: 5}", "data.root", "str | None"),
        ("data: 3", "data", "mapping"),
    ],
)
def test_wrong_type_names_key_and_expected_type(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_yaml(tmp_path, text))
    assert f"'{key}'" in str(caught.value)
    assert expected in str(caught.value)


def test_int_accepted_for_float(tmp_path: Path) -> None:
    config = load_config(write_yaml(tmp_path, "synth: {fog_probability: 1}\n"))
    assert config.synth.fog_probability == 1.0
    assert isinstance(config.synth.fog_probability, float)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"line 2"):
        load_config(write_yaml(tmp_path, "seed: 1\ndata: a: b\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write_yaml(tmp_path, "- a\n- b\n"))


def test_overrides_are_parsed_as_yaml() -> None:
    config = load_config(
        None,
        [
            "data.batch_size=3",
            "synth.fog_probability=0.5",
            "data.root=null",
            "output_dir=runs/x",
            "synth.lighting={night: 2}",
        ],
    )
    assert config.data.batch_size == 3
    assert config.synth.fog_probability == 0.5
    assert config.data.root is None
    assert config.output_dir == "runs/x"
    assert config.synth.lighting.night == 2.0
    assert config.synth.lighting.day == RunConfig().synth.lighting.day


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("data.batch_sz=3", "did you mean 'batch_size'"),
        ("data.batch_size=three", "expects int"),
        ("seed.x=1", "is a value, not a section"),
        ("no_equals_sign", "expected KEY=VALUE"),
    ],
)
def test_bad_overrides_name_the_override(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, [override])
    assert f"--set {override}" in str(caught.value)
    assert fragment in str(caught.value)


def test_saved_config_loads_back_identically(tmp_path: Path) -> None:
    config = load_config(None, ["seed=11", "data.num_workers=0", "synth.lighting.dusk=0.9"])
    path = save_config(config, tmp_path / "run" / "config.yaml")
    assert yaml.safe_load(path.read_text())["seed"] == 11
    assert load_config(path) == config
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "configs").glob("*.yaml")), ids=str)
def test_shipped_configs_validate(path: Path) -> None:
    load_config(path)


def test_balancer_section_collects_its_options_for_the_plugin(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("balancer: {type: gradnorm, alpha: 1.5}\n")
    config = load_config(path, ["balancer.weight_lr=0.01"])
    assert config.balancer.type == "gradnorm"
    assert config.balancer.options == {"alpha": 1.5, "weight_lr": 0.01}
    save_config(config, tmp_path / "saved.yaml")
    assert load_config(tmp_path / "saved.yaml") == config
