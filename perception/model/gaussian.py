"""Gaussian splats for CenterNet heatmap targets (Zhou et al. 2019, "Objects as Points")."""

from __future__ import annotations

import math

import numpy as np


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """Largest centre shift (in cells) that keeps IoU >= ``min_overlap`` for a box of
    ``height x width`` cells: the smallest root of CornerNet's three quadratic cases."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap: np.ndarray, center_x: int, center_y: int, radius: int) -> None:
    """Splat ``exp(-d^2 / (2 sigma^2))`` (``sigma = (2 radius + 1) / 6``) onto ``heatmap (h, w)``
    in place, keeping the element-wise maximum with what is already there."""
    radius = max(0, int(radius))
    sigma = (2 * radius + 1) / 6.0
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(offsets[None, :] ** 2 + offsets[:, None] ** 2) / (2 * sigma**2))
    height, width = heatmap.shape
    left, right = min(center_x, radius), min(width - center_x, radius + 1)
    top, bottom = min(center_y, radius), min(height - center_y, radius + 1)
    if left + right <= 0 or top + bottom <= 0:
        return
    window = heatmap[center_y - top : center_y + bottom, center_x - left : center_x + right]
    patch = kernel[radius - top : radius + bottom, radius - left : radius + right]
    np.maximum(window, patch, out=window)
