"""Modal labels read back from the painted instance map.

A box is the bounding box of an object's pixels that survived painting (clipped to the
image, ``x2``/``y2`` exclusive pixel edges). An object's full area is what it covered right
after it was painted: nothing drawn before it (farther) can hide it, and everything drawn after
it is nearer, so ``visible / full`` is its unoccluded fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perception.synth.camera import NEAR_PLANE
from perception.synth.canvas import Canvas

MIN_VISIBLE_PIXELS = 20
MIN_VISIBLE_FRACTION = 0.1
OCCLUDED_BELOW = 0.9


@dataclass
class Drawn:
    """One labelled object as painted: ``track`` (its instance id), ``category``,
    ``light_state`` (-1 if not a light), its ``full_area`` in pixels, and for pedestrians the
    camera-frame keypoints ``(17, 3)`` with their self-occlusion flags ``(17,)``."""

    track: int
    category: int
    light_state: int
    full_area: int
    keypoints: np.ndarray | None = None
    self_hidden: np.ndarray | None = None


@dataclass
class Labels:
    """Box-aligned label arrays (see :class:`perception.data.sample.Sample`) plus per box the
    ``tracks`` ``(N,)`` and the ``depth_ranges`` ``(N, 2)`` of the object's painted geometry."""

    boxes: np.ndarray
    category: np.ndarray
    light_state: np.ndarray
    occluded: np.ndarray
    truncated: np.ndarray
    keypoints: np.ndarray
    tracks: np.ndarray
    depth_ranges: np.ndarray


def crop_of(canvas: Canvas, track: int) -> tuple[int, int, int, int] | None:
    """Image rectangle ``x0, y0, x1, y1`` that holds every pixel painted for ``track``."""
    extent = canvas.extents.get(track)
    if extent is None:
        return None
    h, w = canvas.instance.shape
    x0 = max(math.floor(extent[0]) - 2, 0)
    y0 = max(math.floor(extent[1]) - 2, 0)
    x1 = min(math.ceil(extent[2]) + 2, w)
    y1 = min(math.ceil(extent[3]) + 2, h)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def painted_area(canvas: Canvas, track: int) -> int:
    """Pixels currently owned by ``track``."""
    crop = crop_of(canvas, track)
    if crop is None:
        return 0
    x0, y0, x1, y1 = crop
    return int(np.count_nonzero(canvas.instance[y0:y1, x0:x1] == track))


def collect_labels(canvas: Canvas, drawn: list[Drawn]) -> Labels:
    """Boxes, flags and keypoints of the objects in ``drawn`` that stayed visible enough."""
    h, w = canvas.instance.shape
    rows: list[tuple[Drawn, tuple[float, float, float, float], bool, bool]] = []
    for obj in sorted(drawn, key=lambda d: d.track):
        crop = crop_of(canvas, obj.track)
        if crop is None or obj.full_area == 0:
            continue
        x0, y0, x1, y1 = crop
        mask = canvas.instance[y0:y1, x0:x1] == obj.track
        visible = int(np.count_nonzero(mask))
        if visible < MIN_VISIBLE_PIXELS or visible < MIN_VISIBLE_FRACTION * obj.full_area:
            continue
        ys = np.flatnonzero(mask.any(axis=1))
        xs = np.flatnonzero(mask.any(axis=0))
        box = (x0 + xs[0], y0 + ys[0], x0 + xs[-1] + 1.0, y0 + ys[-1] + 1.0)
        u0, v0, u1, v1, _, _, clipped = canvas.extents[obj.track]
        truncated = bool(clipped) or u0 < 0 or v0 < 0 or u1 > w or v1 > h
        rows.append((obj, box, visible < OCCLUDED_BELOW * obj.full_area, truncated))
    n = len(rows)
    keypoints = np.zeros((n, 17, 3), np.float32)
    for k, (obj, _, _, _) in enumerate(rows):
        if obj.keypoints is not None and obj.self_hidden is not None:
            keypoints[k] = _keypoints(canvas, obj.track, obj.keypoints, obj.self_hidden)
    return Labels(
        boxes=np.array([r[1] for r in rows], np.float32).reshape(n, 4),
        category=np.array([r[0].category for r in rows], np.int64),
        light_state=np.array([r[0].light_state for r in rows], np.int64),
        occluded=np.array([r[2] for r in rows], bool),
        truncated=np.array([r[3] for r in rows], bool),
        keypoints=keypoints,
        tracks=np.array([r[0].track for r in rows], np.int64),
        depth_ranges=np.array([canvas.extents[r[0].track][4:6] for r in rows], np.float32).reshape(
            n, 2
        ),
    )


def _keypoints(canvas: Canvas, track: int, cam: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """COCO keypoints ``(17, 3)``: 2 = on the person's visible pixels, 1 = in the image but
    hidden (by another object or the person's own body), 0 = outside the image (x = y = 0)."""
    camera = canvas.camera
    out = np.zeros((17, 3), np.float32)
    front = cam[:, 2] >= NEAR_PLANE
    uv = camera.project(np.where(front[:, None], cam, 1.0))
    for k in range(17):
        u, v = float(uv[k, 0]), float(uv[k, 1])
        if not front[k] or not (0.0 <= u < camera.width and 0.0 <= v < camera.height):
            continue
        on_person = canvas.instance[int(v), int(u)] == track
        out[k] = (u, v, 2.0 if on_person and not hidden[k] else 1.0)
    return out
