"""Dense metric depth: a small decoder on the stride-4 features, trained with the SILog loss.

The module fuses the finest feature level with the next coarser one (upsampled), runs two
depthwise-separable 3x3 convolutions and predicts natural-log depth at stride 4. Log depth is
what the SILog loss compares, so the loss is a smooth function of the raw output with no
saturation (a ``max_depth * sigmoid`` output stalls near both ends); the bias starts at the log
of the geometric mean of ``min_depth`` and ``max_depth``. The loss is taken at the input
resolution on the bilinearly upsampled log depth; :meth:`DepthHead.decode` upsamples,
exponentiates and clamps to ``[min_depth, max_depth]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception.config.loader import build_dataclass
from perception.data.draw import depth_panel
from perception.data.sample import Sample
from perception.errors import ConfigError
from perception.eval.depth_metrics import DEPTH_METRIC_DIRECTIONS, DepthEvaluator
from perception.model.feature_spec import FeatureSpec
from perception.model.separable_conv import separable_conv_bn_relu
from perception.model.silog_loss import silog_loss
from perception.model.task_head import TaskEvaluator, TaskHead, zero_loss

SUMMARY = "dense metric depth (SILog loss; AbsRel, RMSE, delta1 vs a per-row mean baseline)"


@dataclass
class DepthOptions:
    """Options of the ``depth`` head (``model.head_options.depth``).

    ``min_depth``/``max_depth`` (metres) bound the decoded depth; ground truth beyond
    ``max_depth`` is capped. ``head_channels`` is the width of the decoder convolutions.
    ``fuse_coarser`` adds the second feature level (upsampled) to the finest one.
    ``variance_focus`` is the SILog ``lambda``. ``inset_fraction`` is the size of the drawn
    depth inset relative to the image.
    """

    min_depth: float = 0.5
    max_depth: float = 100.0
    head_channels: int = 64
    fuse_coarser: bool = True
    variance_focus: float = 0.85
    inset_fraction: float = 0.3


class DepthHead(TaskHead):
    """Outputs ``log_depth (B, 1, H/s, W/s)`` at the finest stride ``s`` (4 for the FPN neck);
    decodes to ``map (B, 1, H, W)`` metres."""

    def __init__(
        self, feature_spec: FeatureSpec, input_size: tuple[int, int], options: DepthOptions
    ) -> None:
        super().__init__("depth", feature_spec, input_size)
        self.options = options
        finest = feature_spec.finest
        self.fine_level = finest.name
        self.coarse_level: str | None = None
        in_channels = finest.channels
        if options.fuse_coarser and len(feature_spec.levels) > 1:
            coarse = feature_spec.levels[1]
            self.coarse_level = coarse.name
            in_channels += coarse.channels
        width = options.head_channels
        self.decoder = nn.Sequential(
            separable_conv_bn_relu(in_channels, width),
            separable_conv_bn_relu(width, width),
            nn.Conv2d(width, 1, 1),
        )
        prediction = self.decoder[-1]
        assert isinstance(prediction, nn.Conv2d) and prediction.bias is not None
        nn.init.normal_(prediction.weight, std=1e-3)
        nn.init.constant_(
            prediction.bias, math.log(math.sqrt(options.min_depth * options.max_depth))
        )

    def encode_targets(self, sample: Sample) -> dict[str, np.ndarray] | None:
        """``{"depth": (H, W) float32}`` metres, capped at ``max_depth`` (0 stays unknown)."""
        if sample.depth is None:
            return None
        _check_letterboxed(sample, self.input_size)
        depth = np.minimum(sample.depth.astype(np.float32), np.float32(self.options.max_depth))
        return {"depth": depth}

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fine = features[self.fine_level]
        if self.coarse_level is not None:
            coarse = F.interpolate(
                features[self.coarse_level], size=fine.shape[-2:], mode="bilinear"
            )
            fine = torch.cat([fine, coarse], dim=1)
        return {"log_depth": self.decoder(fine)}

    def _full_resolution(self, log_depth: torch.Tensor) -> torch.Tensor:
        """``(B, 1, h, w)`` -> ``(B, 1, H, W)`` bilinear, at the input size."""
        return F.interpolate(log_depth, size=self.input_size, mode="bilinear")

    def loss(
        self,
        outputs: dict[str, torch.Tensor],
        targets: dict[str, torch.Tensor],
        labelled: torch.Tensor,
    ) -> torch.Tensor:
        if "depth" not in targets or not bool(labelled.any()):
            return zero_loss(outputs)
        full = self._full_resolution(outputs["log_depth"])[:, 0].float()
        target = targets["depth"]
        # Ground truth nearer than min_depth is raised to it: the decoded depth cannot go lower.
        target = torch.where(target > 0, target.clamp(min=self.options.min_depth), target)
        return silog_loss(full, target, labelled, variance_focus=self.options.variance_focus)

    def decode(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{"map": (B, 1, H, W)}`` metres in ``[min_depth, max_depth]``."""
        depth = torch.exp(self._full_resolution(outputs["log_depth"]))
        return {"map": depth.clamp(self.options.min_depth, self.options.max_depth)}

    def evaluator(self) -> TaskEvaluator:
        return DepthEvaluator(self.input_size, self.options.min_depth, self.options.max_depth)

    def metric_directions(self) -> dict[str, str]:
        return dict(DEPTH_METRIC_DIRECTIONS)

    def draw(
        self, image: np.ndarray, decoded: dict[str, np.ndarray], score_threshold: float
    ) -> None:
        """A colour-mapped depth inset (TURBO, near = warm) in the bottom-right corner, framed
        in white. ``score_threshold`` does not apply to a dense map."""
        height, width = image.shape[:2]
        inset_h = max(1, round(height * self.options.inset_fraction))
        inset_w = max(1, round(width * self.options.inset_fraction))
        depth = cv2.resize(
            np.ascontiguousarray(decoded["map"][0], dtype=np.float32),
            (inset_w, inset_h),
            interpolation=cv2.INTER_AREA,
        )
        panel = depth_panel(depth, inset_h, inset_w, max_depth=self.options.max_depth)
        image[height - inset_h :, width - inset_w :] = panel
        cv2.rectangle(
            image, (width - inset_w - 1, height - inset_h - 1), (width, height), (255, 255, 255), 1
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "depth",
            "outputs": {"map": "(B, 1, H, W) depth in metres"},
            "min_depth": self.options.min_depth,
            "max_depth": self.options.max_depth,
        }


def _check_letterboxed(sample: Sample, input_size: tuple[int, int]) -> None:
    if (sample.height, sample.width) != input_size:
        raise ValueError(
            f"sample {sample.image_id!r} is {sample.height}x{sample.width}; the depth head "
            f"encodes letterboxed {input_size[0]}x{input_size[1]} samples"
        )


def build_depth(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> DepthHead:
    """The ``depth`` head factory; ``options`` are :class:`DepthOptions` fields."""
    parsed = build_dataclass(
        DepthOptions, options, key_path="model.head_options.depth", origin="head 'depth'"
    )
    if not 0 < parsed.min_depth < parsed.max_depth:
        raise ConfigError(
            "head 'depth': need 0 < min_depth < max_depth, got "
            f"min_depth={parsed.min_depth}, max_depth={parsed.max_depth}"
        )
    if parsed.head_channels <= 0:
        raise ConfigError(
            f"head 'depth': head_channels must be positive, got {parsed.head_channels}"
        )
    if not 0.0 <= parsed.variance_focus <= 1.0:
        raise ConfigError(
            f"head 'depth': variance_focus must be in [0, 1], got {parsed.variance_focus}"
        )
    if not 0.0 < parsed.inset_fraction <= 1.0:
        raise ConfigError(
            f"head 'depth': inset_fraction must be in (0, 1], got {parsed.inset_fraction}"
        )
    return DepthHead(feature_spec, (int(input_size[0]), int(input_size[1])), parsed)
