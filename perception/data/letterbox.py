"""Letterbox: resize keeping the aspect ratio, then pad to a fixed ``height x width``.

Every sample is letterboxed before batching. The mapping is recorded in
``sample.meta["letterbox"]`` so that predictions on the network input can be mapped back to
the source image with :func:`boxes_to_source` / :func:`keypoints_to_source`::

    x_input = x_source * scale_x + offset_x        (boxes, edge coordinates)

Keypoints are pixel indices (COCO), so they map through pixel centres:
``k_input + 0.5 = (k_source + 0.5) * scale_x + offset_x``. Letterboxing an already
letterboxed sample composes the two mappings.

Metric depth is *not* rescaled: letterboxing changes the effective focal length of the camera
(recorded as ``scale_x``/``scale_y``), not the distances in the scene.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np

from perception.data.sample import Sample

PAD_VALUE = 114
"""Grey level of the padding (image); padded depth is 0 = unknown."""


@dataclasses.dataclass(frozen=True)
class LetterboxWindow:
    """Where a ``source_height x source_width`` image lands in a letterboxed input: resized to
    ``resized_width x resized_height`` and placed at ``(offset_x, offset_y)``."""

    source_height: int
    source_width: int
    resized_height: int
    resized_width: int
    offset_x: int
    offset_y: int

    @classmethod
    def fit(cls, source_height: int, source_width: int, height: int, width: int) -> LetterboxWindow:
        """The window for a source image letterboxed into ``height x width``."""
        if height <= 0 or width <= 0:
            raise ValueError(f"letterbox size must be positive, got {height}x{width}")
        if source_height <= 0 or source_width <= 0:
            raise ValueError(f"cannot letterbox an empty {source_height}x{source_width} image")
        scale = min(height / source_height, width / source_width)
        resized_w = min(width, max(1, round(source_width * scale)))
        resized_h = min(height, max(1, round(source_height * scale)))
        return cls(
            source_height,
            source_width,
            resized_h,
            resized_w,
            (width - resized_w) // 2,
            (height - resized_h) // 2,
        )

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, columns)`` of the resized image inside the letterboxed input."""
        return (
            slice(self.offset_y, self.offset_y + self.resized_height),
            slice(self.offset_x, self.offset_x + self.resized_width),
        )

    def mapping(self) -> dict[str, Any]:
        """The ``sample.meta["letterbox"]`` dict for this window (see :func:`boxes_to_source`)."""
        return {
            "scale_x": self.resized_width / self.source_width,
            "scale_y": self.resized_height / self.source_height,
            "offset_x": float(self.offset_x),
            "offset_y": float(self.offset_y),
            "source_width": self.source_width,
            "source_height": self.source_height,
        }


def letterbox_image(
    image: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, LetterboxWindow]:
    """``image`` ``(h, w, C)`` uint8 resized into a ``(height, width, C)`` canvas of
    :data:`PAD_VALUE` (INTER_AREA when shrinking, INTER_LINEAR when enlarging), and its window."""
    window = LetterboxWindow.fit(image.shape[0], image.shape[1], height, width)
    shrinking = min(height / window.source_height, width / window.source_width) < 1
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    canvas = np.full((height, width, *image.shape[2:]), PAD_VALUE, dtype=np.uint8)
    canvas[window.slices] = cv2.resize(
        image, (window.resized_width, window.resized_height), interpolation=interpolation
    ).reshape(window.resized_height, window.resized_width, *image.shape[2:])
    return canvas, window


def letterbox(sample: Sample, height: int, width: int) -> Sample:
    """Return a new sample of size ``height x width`` (image ``(height, width, 3)``).

    Boxes ``(N, 4)``, keypoints ``(N, 17, 3)`` and depth ``(height, width)`` follow the image;
    depth uses nearest-neighbour resampling so no values are blended.
    """
    image, window = letterbox_image(sample.image, height, width)
    mapping = window.mapping()
    scale_x, scale_y = mapping["scale_x"], mapping["scale_y"]
    offset_x, offset_y = window.offset_x, window.offset_y
    depth = None
    if sample.depth is not None:
        depth = np.zeros((height, width), dtype=np.float32)
        depth[window.slices] = cv2.resize(
            sample.depth.astype(np.float32),
            (window.resized_width, window.resized_height),
            interpolation=cv2.INTER_NEAREST,
        )
    boxes = None
    if sample.boxes is not None:
        factor = np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float64)
        shift = np.array([offset_x, offset_y, offset_x, offset_y], dtype=np.float64)
        boxes = (sample.boxes.astype(np.float64) * factor + shift).astype(np.float32)
    keypoints = None
    if sample.keypoints is not None:
        keypoints = sample.keypoints.copy()
        keypoints[..., 0] = (keypoints[..., 0] + 0.5) * scale_x + offset_x - 0.5
        keypoints[..., 1] = (keypoints[..., 1] + 0.5) * scale_y + offset_y - 0.5

    return dataclasses.replace(
        sample,
        image=image,
        boxes=boxes,
        keypoints=keypoints,
        depth=depth,
        meta={**sample.meta, "letterbox": _compose(sample.meta.get("letterbox"), mapping)},
    )


def _compose(first: Any, second: dict[str, Any]) -> dict[str, Any]:
    """Mapping of ``second`` applied after ``first`` (``first`` may be ``None``)."""
    if first is None:
        return second
    return {
        "scale_x": first["scale_x"] * second["scale_x"],
        "scale_y": first["scale_y"] * second["scale_y"],
        "offset_x": first["offset_x"] * second["scale_x"] + second["offset_x"],
        "offset_y": first["offset_y"] * second["scale_y"] + second["offset_y"],
        "source_width": first["source_width"],
        "source_height": first["source_height"],
    }


def boxes_to_source(boxes: np.ndarray, mapping: dict[str, Any]) -> np.ndarray:
    """Map ``(N, 4)`` ``x1, y1, x2, y2`` boxes on the letterboxed input back to the source.

    ``mapping`` is ``sample.meta["letterbox"]``. Returns float32 ``(N, 4)``.
    """
    factor = np.array([mapping["scale_x"], mapping["scale_y"]] * 2, dtype=np.float64)
    shift = np.array([mapping["offset_x"], mapping["offset_y"]] * 2, dtype=np.float64)
    return ((np.asarray(boxes, dtype=np.float64) - shift) / factor).astype(np.float32)


def keypoints_to_source(keypoints: np.ndarray, mapping: dict[str, Any]) -> np.ndarray:
    """Map ``(..., 3)`` ``x, y, visibility`` keypoints back to the source image (float32)."""
    result = np.array(keypoints, dtype=np.float32, copy=True)
    for axis, key in ((0, "x"), (1, "y")):
        scale, offset = mapping[f"scale_{key}"], mapping[f"offset_{key}"]
        result[..., axis] = (result[..., axis] + 0.5 - offset) / scale - 0.5
    return result
