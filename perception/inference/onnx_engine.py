"""The ONNX Runtime engine: an exported file alone behind ``predict(frames)``.

Everything it needs comes from the file's metadata (input size, heads and how to read their
outputs), so it runs without the plugins that defined the heads and without torch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
from google.protobuf.message import DecodeError

from perception.errors import ConfigError, MalformedFileError, MissingFileError
from perception.export.onnx_format import INPUT_NAME, METADATA_FORMAT, METADATA_KEY
from perception.inference.engine import InferenceEngine
from perception.inference.providers import (
    DEFAULT_PREFERENCE,
    default_provider_options,
    open_session,
    provider_name,
)
from perception.model.head_selection import choose_heads

DEFAULT_MAX_BATCH = 32
"""The largest batch a TensorRT optimisation profile is built for, unless told otherwise."""


def print_to_stderr(message: str) -> None:
    """The default ``log`` of the engines: one line on standard error."""
    print(message, file=sys.stderr, flush=True)


class OnnxEngine(InferenceEngine):
    """Runs an exported ``.onnx`` file in ONNX Runtime.

    Args:
        path: a file written by ``perception export``.
        providers: preference order, short (``tensorrt``, ``cuda``, ``cpu``) or full ONNX
            Runtime names; the first that runs the model is used and announced once through
            ``log``, with the reasons the ones before it were skipped.
        heads: the heads to predict, in this order (default: every head in the file).
        provider_options: ``{provider: {option: value}}`` added to the defaults of
            :func:`~perception.inference.providers.default_provider_options`, or replacing
            them where they name the same option.
        io_binding: bind inputs and outputs explicitly (default: on GPU providers only).
        max_batch: the largest batch TensorRT's optimisation profile covers.
        threads: intra-op threads for the CPU provider (0: ONNX Runtime's default).
        session_config: ONNX Runtime session config entries, e.g.
            ``{"session.intra_op.allow_spinning": "0"}`` so idle worker threads sleep instead of
            spinning (steadier when other threads or sessions share the cores).
        log: where the one "running on ..." message goes (default: standard error).

    Raises:
        MissingFileError: ``path`` does not exist.
        MalformedFileError: ``path`` is not a complete ONNX model, or has no usable perception
            metadata.
        ConfigError: an unknown provider or head name (with a suggestion).
        PerceptionError: none of the preferred providers can run the model.
    """

    def __init__(
        self,
        path: str | Path,
        providers: Sequence[str] = DEFAULT_PREFERENCE,
        heads: Sequence[str] | None = None,
        provider_options: Mapping[str, Mapping[str, Any]] | None = None,
        io_binding: bool | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        threads: int = 0,
        session_config: Mapping[str, str] | None = None,
        log: Callable[[str], None] = print_to_stderr,
    ) -> None:
        self.path = Path(path)
        model = _read_model(self.path)
        self.metadata = read_metadata(model, self.path)
        input_shape = self.metadata["input"]["shape"]
        described = {name: entry["describe"] for name, entry in self.metadata["heads"].items()}
        chosen = {name: described[name] for name in choose_heads(heads, list(described))}
        super().__init__((int(input_shape[2]), int(input_shape[3])), chosen)
        self.output_names = [
            output for head in self.heads for output in self.metadata["heads"][head]["outputs"]
        ]
        preference = [provider_name(name) for name in providers]
        if not preference:
            raise ConfigError("no ONNX Runtime provider given; use e.g. ['cuda', 'cpu']")
        options = {
            name: dict(default_provider_options(name, input_shape[1:], max_batch))
            for name in preference
        }
        for name, values in (provider_options or {}).items():
            full_name = provider_name(name)
            options[full_name] = {**options.get(full_name, {}), **values}
        session_options = onnxruntime.SessionOptions()
        session_options.log_severity_level = 3
        session_options.intra_op_num_threads = threads
        for key, value in (session_config or {}).items():
            session_options.add_session_config_entry(key, value)
        self.session, self.provider, skipped = open_session(
            model, self.path, preference, options, session_options
        )
        self.io_binding = (
            self.provider != "CPUExecutionProvider" if io_binding is None else io_binding
        )
        self._device_type = "cpu" if self.provider == "CPUExecutionProvider" else "cuda"
        log(_announcement(self.path, self.provider, skipped))

    @property
    def device(self) -> str:
        return self.provider

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        images = np.ascontiguousarray(images, dtype=np.float32)
        if self.io_binding:
            binding = self.session.io_binding()
            binding.bind_cpu_input(INPUT_NAME, images)
            for name in self.output_names:
                binding.bind_output(name, self._device_type)
            self.session.run_with_iobinding(binding)
            values = binding.copy_outputs_to_cpu()
        else:
            values = self.session.run(self.output_names, {INPUT_NAME: images})
        return dict(zip(self.output_names, values, strict=True))


def read_metadata(model: bytes, path: Path) -> dict[str, Any]:
    """The perception metadata JSON of the serialised ONNX ``model`` read from ``path``.

    Raises:
        MalformedFileError: ``model`` does not parse as ONNX (truncated or corrupt), has no
            metadata under :data:`METADATA_KEY`, or its metadata is unreadable or too new.
    """
    try:
        proto = onnx.load_model_from_string(model)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise MalformedFileError(
            f"{path} is not a complete ONNX model (truncated or corrupt): {exc}"
        ) from None
    props = {prop.key: prop.value for prop in proto.metadata_props}
    if METADATA_KEY not in props:
        raise MalformedFileError(
            f"{path} has no '{METADATA_KEY}' metadata: it was not written by `perception "
            f"export` (or it was cut short); re-export it from the training checkpoint"
        )
    try:
        metadata = json.loads(props[METADATA_KEY])
        version = int(metadata["format"])
        heads = metadata["heads"]
        shape = metadata["input"]["shape"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedFileError(
            f"{path}: its '{METADATA_KEY}' metadata is unreadable ({type(exc).__name__}: {exc})"
        ) from None
    if version > METADATA_FORMAT:
        raise MalformedFileError(
            f"{path} has metadata format {version}; this toolkit reads up to {METADATA_FORMAT}"
        )
    if not isinstance(heads, dict) or not heads or len(shape) != 4:
        raise MalformedFileError(f"{path}: its '{METADATA_KEY}' metadata lists no heads or input")
    graph_outputs = {output.name for output in proto.graph.output}
    for head, entry in heads.items():
        missing = sorted(set(entry.get("outputs", {})) - graph_outputs)
        if missing or "describe" not in entry:
            raise MalformedFileError(
                f"{path}: head '{head}' in the metadata does not match the graph "
                f"(missing outputs {missing})"
            )
    return metadata


def _read_model(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(f"ONNX model {path} does not exist") from None
    except OSError as exc:
        raise MissingFileError(f"ONNX model {path} cannot be read: {exc.strerror}") from None


def _announcement(path: Path, provider: str, skipped: Sequence[str]) -> str:
    message = f"onnxruntime: running {path.name} on {provider}"
    if skipped:
        message += " (skipped " + "; ".join(skipped) + ")"
    return message
