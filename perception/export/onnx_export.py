"""Export a multi-task model (backbone, neck, heads and their decode) to one ONNX file.

The graph takes one input, :data:`INPUT_NAME`: ``(B, 3, H, W)`` float32 RGB in ``[0, 255]``,
already letterboxed to the model's input size (cast uint8 frames to float32; do not normalise:
the graph does it). ``B`` is dynamic. The outputs are every exported head's decoded predictions,
named ``<head>.<output>`` (``cars.boxes``, ``depth.map``), in head order. The metadata JSON under
:data:`~perception.export.onnx_format.METADATA_KEY` describes all of it. With ``half=True`` the
weights and arithmetic are float16 while the input and outputs stay float32.

Before anything is written, the graph is checked with ``onnx.checker``, run once in ONNX Runtime
on the CPU and compared with PyTorch on the same input: equal output shapes and dtypes, and
predictions that agree as detection sets within
:data:`~perception.inference.compare.FLOAT32` (or ``FLOAT16``); a disagreement raises
:class:`~perception.errors.PerceptionError` and leaves no file behind.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from perception.atomic import write_bytes_atomic
from perception.config.schema import RunConfig
from perception.data.letterbox import LetterboxWindow
from perception.errors import PerceptionError
from perception.export.metadata import export_metadata
from perception.export.onnx_format import BATCH_DIM, INPUT_NAME, METADATA_KEY
from perception.inference.compare import FLOAT16, FLOAT32, prediction_differences
from perception.inference.decode_predictions import decode_predictions
from perception.model.flat_outputs import FlatOutputs
from perception.model.head_selection import select_heads

TRACE_BATCH = 2
CHECK_BATCH = 3
"""The batch sizes of the tracing input and of the comparison input; they differ so that a
graph whose batch dimension was fixed while tracing fails the comparison."""


def export_onnx(
    model: nn.Module,
    config: RunConfig,
    path: str | Path,
    heads: Sequence[str] | None = None,
    half: bool = False,
) -> Path:
    """Export ``model`` (built from ``config``) to the single-file ONNX model ``path``.

    Args:
        model: a multi-task model (``head_names``, ``task_heads``, ``pixel_mean``/``pixel_std``
            buffers, eval forward ``images -> {head: {output: tensor}}``); put in eval mode.
        config: the config the model was built and trained with (input size, metadata).
        path: the ``.onnx`` file to write (atomically; its folder is created).
        heads: the heads to export, in this order; all of the model's heads by default.
        half: store weights and compute in float16 (for GPUs); the input and outputs stay
            float32, and the check uses :data:`~perception.inference.compare.FLOAT16`.

    Returns:
        ``path``.

    Raises:
        ConfigError: ``heads`` is empty, repeats a head or names one the model lacks.
        PerceptionError: the exported graph fails ``onnx.checker`` or ONNX Runtime disagrees
            with PyTorch (the message names the output and the difference).
    """
    model.eval()
    selected = select_heads(model, heads)
    names = [name for name, _ in selected]
    wrapper = FlatOutputs(model, names).eval()
    graph = FlatOutputs(copy.deepcopy(model).half(), names, half=True).eval() if half else wrapper
    device = model.pixel_mean.device
    height, width = config.data.input_height, config.data.input_width
    trace_images = _sample_images(TRACE_BATCH, height, width, device, seed=0)
    check_images = _sample_images(CHECK_BATCH, height, width, device, seed=1)
    with torch.no_grad():
        output_names = list(wrapper.named(trace_images))
        expected = {
            name: value.cpu().numpy() for name, value in wrapper.named(check_images).items()
        }
        program = torch.onnx.export(
            graph,
            (trace_images,),
            input_names=[INPUT_NAME],
            output_names=output_names,
            dynamic_shapes={"images": {0: torch.export.Dim(BATCH_DIM)}},
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    proto = program.model_proto
    metadata = export_metadata(
        config, selected, expected, model.pixel_mean, model.pixel_std, INPUT_NAME, half
    )
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(metadata)})
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise PerceptionError(f"the exported ONNX graph for {path} is invalid: {exc}") from None
    data = proto.SerializeToString()
    actual = _run_on_cpu(data, check_images.cpu().numpy(), list(expected))
    heads_described = {name: head.describe() for name, head in selected}
    _check_agreement(actual, expected, heads_described, (height, width), half, Path(path))
    return write_bytes_atomic(path, data)


def _sample_images(
    batch: int, height: int, width: int, device: torch.device, seed: int
) -> torch.Tensor:
    """Reproducible ``(batch, 3, height, width)`` float32 noise in ``[0, 255]``."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand((batch, 3, height, width), generator=generator) * 255.0
    return images.to(device)


def _run_on_cpu(data: bytes, images: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Run the serialised graph ``data`` on ``images`` in ONNX Runtime's CPU provider."""
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        data, sess_options=options, providers=["CPUExecutionProvider"]
    )
    return dict(zip(names, session.run(names, {INPUT_NAME: images}), strict=True))


def _check_agreement(
    actual: dict[str, np.ndarray],
    expected: dict[str, np.ndarray],
    heads: dict[str, dict[str, Any]],
    input_size: tuple[int, int],
    half: bool,
    path: Path,
) -> None:
    """Raise :class:`PerceptionError` unless ONNX Runtime's outputs have PyTorch's shapes and
    dtypes and their predictions (every detection, no threshold) agree as detection sets
    within :data:`FLOAT32` (or :data:`FLOAT16` for a half-precision graph).

    Detections are matched as sets because the two runtimes may rank peaks whose scores differ
    by float rounding in either order; see :mod:`perception.inference.compare`."""
    for name, reference in expected.items():
        value = actual[name]
        if value.shape != reference.shape or value.dtype != reference.dtype:
            raise PerceptionError(
                f"not writing {path}: output '{name}' is {value.dtype}{list(value.shape)} in ONNX "
                f"Runtime but {reference.dtype}{list(reference.shape)} in PyTorch"
            )
    height, width = input_size
    windows = [LetterboxWindow(height, width, height, width, 0, 0)] * CHECK_BATCH
    tolerance, precision = (FLOAT16, "float16") if half else (FLOAT32, "float32")
    problems = prediction_differences(
        decode_predictions(actual, heads, windows, 0.0),
        decode_predictions(expected, heads, windows, 0.0),
        tolerance,
        score_threshold=0.0,
    )
    if problems:
        raise PerceptionError(
            f"not writing {path}: the {precision} graph in ONNX Runtime disagrees with PyTorch: "
            f"{problems[0]} ({len(problems)} problems in all)"
        )
