"""ONNX Runtime execution providers: a preference order, fallback, and saying which one runs.

A session is opened with each preferred provider in turn until one actually runs the model.
ONNX Runtime itself falls back to the CPU silently when a GPU provider cannot start (no driver,
no GPU, missing TensorRT); here that counts as a failure of the provider, its reason is captured
from ONNX Runtime's log and reported, and the next preference is tried. Before the first GPU
provider is tried, the CUDA and cuDNN libraries that come with the ``nvidia-*`` pip packages are
preloaded (``onnxruntime.preload_dlls``), so no ``LD_LIBRARY_PATH`` is needed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import onnxruntime

from perception.errors import ConfigError, PerceptionError, did_you_mean
from perception.export.onnx_format import INPUT_NAME

PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
"""Short names accepted in a preference, and the ONNX Runtime provider each stands for."""

DEFAULT_PREFERENCE = ("tensorrt", "cuda", "cpu")
"""TensorRT where it is installed, else CUDA, else the CPU."""

CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
GPU_PROVIDERS = frozenset({TENSORRT, CUDA})

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
"""The colour codes ONNX Runtime's console log wraps its lines in."""


def provider_name(name: str) -> str:
    """The ONNX Runtime provider for a short name (``cuda``) or a full one
    (``CUDAExecutionProvider``); :class:`ConfigError` with a suggestion for anything else."""
    if name.lower() in PROVIDERS:
        return PROVIDERS[name.lower()]
    known = set(PROVIDERS.values()) | set(onnxruntime.get_available_providers())
    if name in known:
        return name
    raise ConfigError(
        f"unknown ONNX Runtime provider '{name}'{did_you_mean(name, [*PROVIDERS, *known])}; "
        f"use {', '.join(PROVIDERS)} or a full provider name"
    )


def preference_for_device(
    device: str, providers: Sequence[str] | None = None
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Where an ONNX model runs when the caller names a device as torch does, as for a
    checkpoint: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    ``auto`` keeps ``providers`` (default :data:`DEFAULT_PREFERENCE`). ``cpu`` means the CPU
    provider unless ``providers`` names others, none of them a GPU's; ``cuda[:N]`` means
    TensorRT, else CUDA, unless ``providers`` names others, at least one of them a GPU's, which
    then run on GPU ``N``.

    Returns:
        ``(preference, provider_options)``: full ONNX Runtime provider names, most wanted first,
        and ``{provider: {"device_id": "N"}}`` for both GPU providers when ``N`` is given.

    Raises:
        ConfigError: ``device`` is none of these, or ``providers`` contradicts it (``cpu`` with
            a GPU provider, ``cuda`` with none).
    """
    given = None if providers is None else [provider_name(name) for name in providers]
    if device == "auto":
        return [PROVIDERS[name] for name in DEFAULT_PREFERENCE] if given is None else given, {}
    kind, _, index = device.partition(":")
    if device == "cpu":
        chosen = [PROVIDERS["cpu"]] if given is None else given
        contradicting = [name for name in chosen if name in GPU_PROVIDERS]
        if contradicting:
            raise ConfigError(
                f"device cpu contradicts the GPU providers {contradicting}; give one or the other"
            )
        return chosen, {}
    if kind != "cuda" or not (index.isdigit() or device == "cuda"):
        raise ConfigError(
            f"'{device}' is not a device for an ONNX model; use auto, cpu, cuda or cuda:N"
        )
    chosen = [TENSORRT, CUDA] if given is None else given
    if not GPU_PROVIDERS.intersection(chosen):
        raise ConfigError(
            f"device {device} needs a GPU provider (tensorrt or cuda), but the providers are "
            f"{chosen}"
        )
    # CUDA too when only TensorRT is named: it takes the nodes TensorRT cannot (open_session)
    return chosen, {name: {"device_id": index} for name in GPU_PROVIDERS} if index else {}


def default_provider_options(provider: str, input_shape: Sequence[int], max_batch: int) -> dict:
    """Options used unless the caller gives its own: TensorRT caches its engines under
    ``~/.cache/perception/tensorrt`` and gets an optimisation profile for batches 1 to
    ``max_batch`` of ``input_shape`` ``(3, H, W)``; CUDA uses heuristic convolution search."""
    if provider == TENSORRT:
        channels, height, width = input_shape
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        shape = f"{channels}x{height}x{width}"
        return {
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(cache / "perception" / "tensorrt"),
            "trt_profile_min_shapes": f"{INPUT_NAME}:1x{shape}",
            "trt_profile_opt_shapes": f"{INPUT_NAME}:1x{shape}",
            "trt_profile_max_shapes": f"{INPUT_NAME}:{max_batch}x{shape}",
        }
    if provider == CUDA:
        return {"cudnn_conv_algo_search": "HEURISTIC"}
    return {}


def open_session(
    model: bytes,
    source: Path,
    preference: Sequence[str],
    provider_options: Mapping[str, Mapping[str, Any]],
    session_options: onnxruntime.SessionOptions,
) -> tuple[onnxruntime.InferenceSession, str, list[str]]:
    """An inference session on the first provider in ``preference`` that runs ``model``.

    Args:
        model: the serialised ONNX model (read from ``source``, named in messages).
        preference: ONNX Runtime provider names, most wanted first.
        provider_options: options per provider name (missing: none).
        session_options: passed to every attempt.

    Returns:
        ``(session, provider, skipped)``: ``skipped`` says, per preferred provider that could not
        run, why (``"CUDAExecutionProvider: libcuda.so.1: cannot open shared object file"``).

    Raises:
        PerceptionError: no preferred provider can run the model; the message lists the reasons
            and the providers this onnxruntime build has.
    """
    available = onnxruntime.get_available_providers()
    skipped: list[str] = []
    for provider in preference:
        if provider not in available:
            skipped.append(f"{provider}: not in this onnxruntime build")
            continue
        if provider in GPU_PROVIDERS:
            _preload_cuda_libraries()
        attempt = [(provider, dict(provider_options.get(provider, {})))]
        if provider == TENSORRT and CUDA in available:
            # Nodes TensorRT cannot take run on CUDA rather than on the CPU.
            attempt.append((CUDA, dict(provider_options.get(CUDA, {}))))
        with _captured_runtime_log() as log:
            try:
                session = onnxruntime.InferenceSession(
                    model, sess_options=session_options, providers=attempt
                )
            except Exception as exc:  # ONNX Runtime raises its own pybind exception types
                skipped.append(f"{provider}: {_first_line(str(exc))}")
                continue
        if session.get_providers()[0] == provider:
            return session, provider, skipped
        skipped.append(f"{provider}: {_failure_reason(log.getvalue())}")
    raise PerceptionError(
        f"none of the requested ONNX Runtime providers can run {source}: "
        f"{'; '.join(skipped)}. This onnxruntime build has {available}; add 'cpu' to the "
        f"preference to fall back to the CPU"
    )


_preloaded = False


def _preload_cuda_libraries() -> None:
    """Load the pip-installed CUDA and cuDNN libraries once, before the first GPU session."""
    global _preloaded
    if _preloaded:
        return
    _preloaded = True
    preload = getattr(onnxruntime, "preload_dlls", None)
    if preload is not None:
        with _captured_runtime_log():
            preload()


@contextlib.contextmanager
def _captured_runtime_log() -> Iterator[io.StringIO]:
    """Collect what ONNX Runtime writes while the block runs instead of showing it: its native
    log goes to file descriptor 2 and its Python fallback notices to ``sys.stdout``."""
    captured = io.StringIO()
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as native, contextlib.redirect_stdout(captured):
        os.dup2(native.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            native.seek(0)
            captured.write(native.read().decode("utf-8", errors="replace"))


def _failure_reason(log: str) -> str:
    """The most telling line of ONNX Runtime's log about a provider that did not start: the
    library that failed to load, else its own "Failed to create" or "Please install" notice."""
    lines = [ANSI_COLOUR.sub("", line) for line in log.splitlines()]
    for line in lines:
        if "with error: " in line:
            return _first_line(line.split("with error: ", 1)[1])
    for marker in ("Failed to create ", "Please install"):
        for line in lines:
            if marker in line:
                return _first_line(line[line.index(marker) :])
    return "it did not start on this machine (ONNX Runtime fell back to the CPU)"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "unknown error")[:300]
