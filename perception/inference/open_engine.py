"""Open the right engine for a model file: ``.onnx`` -> ONNX Runtime, anything else -> a
training checkpoint run by torch (imported only then, so ONNX use stays torch-free)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from perception.errors import ConfigError
from perception.inference.engine import InferenceEngine
from perception.inference.onnx_engine import OnnxEngine, print_to_stderr
from perception.inference.providers import preference_for_device


def open_engine(
    path: str | Path,
    heads: Sequence[str] | None = None,
    providers: Sequence[str] | None = None,
    device: str = "auto",
    session_config: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print_to_stderr,
) -> InferenceEngine:
    """The engine for ``path``: an exported ``.onnx`` file or a ``.pt`` training checkpoint.

    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``) says where either runs: a checkpoint on
    that torch device; an ONNX file on the matching ONNX Runtime providers
    (:func:`~perception.inference.providers.preference_for_device`), or on the first of
    ``providers`` that works (a preference, most wanted first, which must agree with a
    ``device`` other than ``auto``), with ONNX Runtime ``session_config`` entries.

    Raises:
        ConfigError: ``providers`` for a checkpoint (torch runs it), or ``providers`` that
            contradict ``device``.
    """
    if Path(path).suffix.lower() == ".onnx":
        preference, options = preference_for_device(device, providers)
        return OnnxEngine(
            path,
            providers=preference,
            heads=heads,
            provider_options=options,
            session_config=session_config,
            log=log,
        )
    if providers is not None:
        raise ConfigError(
            f"ONNX Runtime providers {list(providers)} were given for {path}, which torch runs "
            "(it is not an .onnx file); choose its device instead (--device auto, cpu, cuda or "
            "cuda:N)"
        )
    from perception.inference.torch_engine import TorchEngine  # torch only for checkpoints

    engine = TorchEngine.from_checkpoint(path, heads=heads, device=device)
    log(f"torch: running {Path(path).name} on {engine.device}")
    return engine
