"""Peak extraction for CenterNet-style heads: 3x3 max-pool non-maximum suppression + top-k.

Tensor-only with fixed output shapes, so it exports to ONNX inside the model graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def topk_peaks(
    heatmap: torch.Tensor, k: int, kernel: int = 3
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` highest local maxima over all classes of a heatmap.

    Args:
        heatmap: ``(B, C, h, w)`` scores in ``[0, 1]`` (after the sigmoid).
        k: how many peaks to return per image (``k <= C * h * w``).
        kernel: odd max-pool window; a cell is a peak when it equals its window's maximum.

    Returns:
        ``scores (B, k)``, ``classes (B, k)`` int64, ``ys (B, k)`` and ``xs (B, k)`` int64 cell
        coordinates, sorted by descending score.
    """
    batch, channels, height, width = heatmap.shape
    pooled = F.max_pool2d(heatmap, kernel, stride=1, padding=kernel // 2)
    peaks = heatmap * (pooled == heatmap).to(heatmap.dtype)
    scores, flat = torch.topk(peaks.reshape(batch, channels * height * width), k)
    classes = torch.div(flat, height * width, rounding_mode="floor")
    cell = flat - classes * (height * width)
    ys = torch.div(cell, width, rounding_mode="floor")
    xs = cell - ys * width
    return scores, classes, ys, xs


def gather_at(feature: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Values of ``feature (B, C, h, w)`` at cells ``ys, xs (B, K)``: returns ``(B, K, C)``."""
    batch, channels, _, width = feature.shape
    index = (ys * width + xs).unsqueeze(1).expand(batch, channels, ys.shape[1])
    return feature.reshape(batch, channels, -1).gather(2, index).permute(0, 2, 1)
