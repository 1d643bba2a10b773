"""The JSON an exported ONNX file carries in ``metadata_props`` under ``"perception"``.

It holds everything a deployment needs without plugin code: the input contract (size, colour
order, value range, where normalisation happens, the letterbox rule), every exported output with
its shape and dtype, each head's :meth:`~perception.model.task_head.TaskHead.describe` (classes,
attributes, colours: how it is drawn), the toolkit version and the training config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from perception import __version__
from perception.config.loader import config_to_dict
from perception.config.schema import RunConfig
from perception.data.letterbox import PAD_VALUE
from perception.export.onnx_format import BATCH_DIM, METADATA_FORMAT
from perception.model.task_head import TaskHead
from perception.strict_json import finite_or_none

LETTERBOX_RULE: dict[str, Any] = {
    "scale": "min(input_height / source_height, input_width / source_width)",
    "resized_size": "round(source_width * scale), round(source_height * scale), "
    "each at least 1 and at most the input size",
    "offset": "offset_x = (input_width - resized_width) // 2, "
    "offset_y = (input_height - resized_height) // 2",
    "resampling": "cv2.INTER_AREA when shrinking, cv2.INTER_LINEAR when enlarging",
    "pad_value": PAD_VALUE,
    "boxes_to_source": "x_source = (x_input - offset_x) / (resized_width / source_width), "
    "likewise y (pixel-edge coordinates)",
    "keypoints_to_source": "x_source = (x_input + 0.5 - offset_x) / (resized_width / "
    "source_width) - 0.5, likewise y (pixel centres)",
    "depth": "metres, not rescaled; crop the resized window to map back",
}
"""How frames must be letterboxed before the graph, as :func:`perception.data.letterbox`
does it."""


def export_metadata(
    config: RunConfig,
    heads: Sequence[tuple[str, TaskHead]],
    outputs: Mapping[str, np.ndarray],
    pixel_mean: torch.Tensor,
    pixel_std: torch.Tensor,
    input_name: str,
    half: bool = False,
) -> dict[str, Any]:
    """The metadata for a graph whose input ``input_name`` is ``(B, 3, H, W)`` float32 RGB and
    whose outputs are ``outputs`` (``<head>.<output>`` -> a PyTorch result with leading ``B``).

    ``heads`` are the exported ``(name, head)`` pairs in output order; ``pixel_mean`` and
    ``pixel_std`` are the model's per-channel statistics on the ``[0, 255]`` scale; ``half``
    says the graph computes in float16 (its input and outputs are float32 either way).
    """
    height, width = config.data.input_height, config.data.input_width
    head_entries: dict[str, Any] = {}
    for name, head in heads:
        prefix = f"{name}."
        head_entries[name] = {
            "outputs": {
                output_name: {
                    "name": output_name[len(prefix) :],
                    "shape": [BATCH_DIM, *value.shape[1:]],
                    "dtype": str(value.dtype),
                }
                for output_name, value in outputs.items()
                if output_name.startswith(prefix)
            },
            "describe": head.describe(),
        }
    metadata = {
        "format": METADATA_FORMAT,
        "toolkit": {"name": "perception", "version": __version__},
        "precision": "float16" if half else "float32",
        "input": {
            "name": input_name,
            "shape": [BATCH_DIM, 3, height, width],
            "dtype": "float32",
            "layout": "NCHW",
            "colour_order": "RGB",
            "value_range": [0.0, 255.0],
        },
        "normalisation": {
            "in_graph": True,
            "description": "the graph computes (images - mean) / std itself; feed RGB in "
            "[0, 255] (uint8 cast to float32), not normalised images",
            "mean": pixel_mean.flatten().tolist(),
            "std": pixel_std.flatten().tolist(),
        },
        "letterbox": {"height": height, "width": width, **LETTERBOX_RULE},
        "outputs": list(outputs),
        "heads": head_entries,
        "config": config_to_dict(config),
    }
    return finite_or_none(metadata)
