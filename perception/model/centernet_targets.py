"""CenterNet target encoding for one letterboxed sample (Zhou et al. 2019, "Objects as Points").

An object of the head's classes becomes a peak of 1 at the cell holding its box centre in its
class channel of the heatmap, surrounded by a gaussian whose radius follows the box size in cells
(CornerNet's radius rule). Its regression targets sit in fixed-size padded arrays, one slot per
object: the flattened cell index, ``log(w / stride), log(h / stride)``, the sub-cell offset of
the centre and one label per attribute, with a ``mask`` saying which slots are real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perception.data.sample import Sample
from perception.model.gaussian import draw_gaussian, gaussian_radius

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class BoxAttribute:
    """A per-box classification predicted at each object centre (e.g. a traffic light's lamp).

    Attributes:
        name: output name (``<name>`` and ``<name>_scores`` in decode, ``attr_<name>`` raw).
        sample_field: the box-aligned int64 :class:`~perception.data.sample.Sample` field holding
            the label (an index into ``values``; ``-1`` = unknown, ignored by loss and metrics).
        values: the value names.
        colours: optional RGB colour per value, used to draw boxes by their predicted value.
    """

    name: str
    sample_field: str
    values: tuple[str, ...]
    colours: tuple[Colour, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ValueError(f"attribute {self.name!r} needs at least two values")
        if self.colours is not None and len(self.colours) != len(self.values):
            raise ValueError(f"attribute {self.name!r}: one colour per value is needed")


class CenterNetTargetEncoder:
    """Turns a sample's boxes into fixed-shape CenterNet targets for a ``grid`` of cells.

    Args:
        category_indices: the :data:`~perception.data.sample.CATEGORIES` indices the head
            detects; heatmap channel ``c`` is ``category_indices[c]``.
        attributes: per-box attributes to encode.
        input_size: ``(H, W)`` of the letterboxed input.
        stride: pixels per heatmap cell (``H`` and ``W`` must be multiples of it).
        max_objects: regression slots; objects beyond it still get their heatmap peak.
        min_box_size: boxes narrower or lower than this (pixels) are left out entirely.
    """

    def __init__(
        self,
        category_indices: Sequence[int],
        attributes: Sequence[BoxAttribute],
        input_size: tuple[int, int],
        stride: int,
        max_objects: int,
        min_box_size: float,
    ) -> None:
        height, width = input_size
        if height % stride or width % stride:
            raise ValueError(f"input size {input_size} is not a multiple of stride {stride}")
        self.category_indices = tuple(category_indices)
        self.attributes = tuple(attributes)
        self.stride = stride
        self.grid = (height // stride, width // stride)
        self.max_objects = max_objects
        self.min_box_size = min_box_size

    def __call__(self, sample: Sample) -> dict[str, np.ndarray] | None:
        """Targets of one sample, or ``None`` when it has no box labels.

        Returns:
            ``heatmap (C, h, w)`` float32 in ``[0, 1]``; ``indices (M,)`` int64 flattened cell
            ``y * w + x``; ``log_size (M, 2)`` and ``offset (M, 2)`` float32 (x then y);
            ``attr_<name> (M,)`` int64 (``-1`` unknown); ``mask (M,)`` float32, 1 for used
            slots. ``M`` is ``max_objects``.
        """
        if sample.boxes is None:
            return None
        assert sample.category is not None
        grid_h, grid_w = self.grid
        slots = self.max_objects
        targets = {
            "heatmap": np.zeros((len(self.category_indices), grid_h, grid_w), dtype=np.float32),
            "indices": np.zeros(slots, dtype=np.int64),
            "log_size": np.zeros((slots, 2), dtype=np.float32),
            "offset": np.zeros((slots, 2), dtype=np.float32),
            "mask": np.zeros(slots, dtype=np.float32),
        }
        for attribute in self.attributes:
            targets[f"attr_{attribute.name}"] = np.full(slots, -1, dtype=np.int64)
        used = 0
        for row in range(sample.num_objects):
            category = int(sample.category[row])
            if category not in self.category_indices:
                continue
            x1, y1, x2, y2 = (float(v) for v in sample.boxes[row])
            box_w, box_h = x2 - x1, y2 - y1
            if box_w < self.min_box_size or box_h < self.min_box_size or min(box_w, box_h) <= 0:
                continue
            centre_x = (x1 + x2) / 2 / self.stride
            centre_y = (y1 + y2) / 2 / self.stride
            cell_x = min(max(math.floor(centre_x), 0), grid_w - 1)
            cell_y = min(max(math.floor(centre_y), 0), grid_h - 1)
            radius = gaussian_radius(box_h / self.stride, box_w / self.stride)
            channel = self.category_indices.index(category)
            draw_gaussian(targets["heatmap"][channel], cell_x, cell_y, int(radius))
            if used == slots:
                continue
            targets["indices"][used] = cell_y * grid_w + cell_x
            targets["log_size"][used] = np.log([box_w / self.stride, box_h / self.stride])
            targets["offset"][used] = (centre_x - cell_x, centre_y - cell_y)
            targets["mask"][used] = 1.0
            for attribute in self.attributes:
                labels = getattr(sample, attribute.sample_field)
                value = -1 if labels is None else int(labels[row])
                known = 0 <= value < len(attribute.values)
                targets[f"attr_{attribute.name}"][used] = value if known else -1
            used += 1
        return targets
