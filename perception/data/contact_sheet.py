"""A contact sheet: a PNG grid of samples, each tile its drawn labels above its depth panel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from perception.data.draw import depth_panel, draw_labels
from perception.data.image_file import write_image_atomic
from perception.data.letterbox import PAD_VALUE
from perception.data.sample import Sample


def tile_size(first: Sample, tile_width: int) -> tuple[int, int]:
    """``(height, width)`` of one tile's image part: ``tile_width`` wide, aspect of ``first``."""
    return max(1, round(tile_width * first.height / first.width)), tile_width


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``image`` ``(h, w, 3)`` to fit ``height x width`` keeping aspect; pad grey."""
    scale = min(height / image.shape[0], width / image.shape[1])
    new_h = min(height, max(1, round(image.shape[0] * scale)))
    new_w = min(width, max(1, round(image.shape[1] * scale)))
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


def write_contact_sheet(
    samples: Sequence[Sample], path: Path, columns: int = 4, tile_width: int = 320
) -> Path:
    """Write a grid of ``min(columns, n)`` columns and ``ceil(n / columns)`` rows to ``path``.

    Each tile is ``2 * th`` by ``tile_width`` pixels (``th`` from :func:`tile_size` on the first
    sample): the drawn image on top, its depth panel below. Empty cells are black. The PNG is
    written atomically; returns ``path``.
    """
    if not samples:
        raise ValueError(f"{path}: no samples for the contact sheet")
    if columns <= 0 or tile_width <= 0:
        raise ValueError(f"{path}: columns and tile_width must be positive")
    tile_h, tile_w = tile_size(samples[0], tile_width)
    used_columns = min(columns, len(samples))
    rows = math.ceil(len(samples) / used_columns)
    sheet = np.zeros((rows * 2 * tile_h, used_columns * tile_w, 3), dtype=np.uint8)
    for index, sample in enumerate(samples):
        top, left = (index // used_columns) * 2 * tile_h, (index % used_columns) * tile_w
        drawn = draw_labels(sample)
        panel = depth_panel(sample.depth, sample.height, sample.width)
        sheet[top : top + tile_h, left : left + tile_w] = _fit(drawn, tile_h, tile_w)
        sheet[top + tile_h : top + 2 * tile_h, left : left + tile_w] = _fit(panel, tile_h, tile_w)
    return write_image_atomic(Path(path), sheet)
