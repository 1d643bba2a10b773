"""Open the right engine for a model file: ``.onnx`` -> ONNX Runtime, anything else -> a
training checkpoint run by torch (imported only then, so ONNX use stays torch-free)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from perception.inference.engine import InferenceEngine
from perception.inference.onnx_engine import OnnxEngine, print_to_stderr
from perception.inference.providers import DEFAULT_PREFERENCE


def open_engine(
    path: str | Path,
    heads: Sequence[str] | None = None,
    providers: Sequence[str] = DEFAULT_PREFERENCE,
    device: str = "auto",
    session_config: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print_to_stderr,
) -> InferenceEngine:
    """The engine for ``path``: an exported ``.onnx`` file (run on the first of ``providers``
    that works, with ONNX Runtime ``session_config`` entries) or a ``.pt`` training checkpoint
    (run by torch on ``device``)."""
    if Path(path).suffix.lower() == ".onnx":
        return OnnxEngine(
            path, providers=providers, heads=heads, session_config=session_config, log=log
        )
    from perception.inference.torch_engine import TorchEngine  # torch only for checkpoints

    engine = TorchEngine.from_checkpoint(path, heads=heads, device=device)
    log(f"torch: running {Path(path).name} on {engine.device}")
    return engine
