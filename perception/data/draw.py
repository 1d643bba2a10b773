"""Draw a sample's labels: boxes with class names, lamp states, skeletons, and a depth panel.

All colours are RGB (the images are RGB). Occluded objects get a thin dashed box; traffic
lights are boxed in the colour of their lamp state and labelled with it. Keypoints with
visibility 2 are filled dots, visibility 1 (labelled but hidden) hollow rings, and skeleton
edges touching a hidden keypoint are drawn thin.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from perception.data.draw_detections import Colour, draw_tag
from perception.data.sample import CATEGORIES, LIGHT_STATES, SKELETON, Sample

CATEGORY_COLOURS: dict[str, Colour] = {
    "car": (0, 170, 255),
    "pedestrian": (255, 0, 255),
    "traffic_light": (255, 255, 255),
    "stop_sign": (255, 128, 0),
}
STATE_COLOURS: dict[str, Colour] = {
    "red": (255, 40, 40),
    "yellow": (255, 220, 0),
    "green": (40, 255, 80),
    "off": (128, 128, 128),
}
VISIBLE_KEYPOINT: Colour = (0, 255, 255)
HIDDEN_KEYPOINT: Colour = (255, 255, 0)


def _dashed_rectangle(
    image: np.ndarray, top_left: tuple[int, int], bottom_right: tuple[int, int], colour: Colour
) -> None:
    """A 1-pixel dashed box (6 px on, 6 px off) for occluded objects."""
    (x1, y1), (x2, y2) = top_left, bottom_right
    corners = np.array([(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)], dtype=np.float64)
    for start, end in itertools.pairwise(corners):
        length = float(np.abs(end - start).max())
        for offset in np.arange(0.0, length, 12.0):
            p = start + (end - start) * offset / length
            q = start + (end - start) * min(offset + 6.0, length) / length
            p_int = (round(p[0]), round(p[1]))
            q_int = (round(q[0]), round(q[1]))
            cv2.line(image, p_int, q_int, colour, 1, cv2.LINE_AA)


def _draw_skeleton(image: np.ndarray, keypoints: np.ndarray) -> None:
    """Draw one ``(17, 3)`` keypoint set (pixel indices, visibility 0/1/2)."""
    points = [(round(float(x)), round(float(y))) for x, y, _ in keypoints]
    visibility = keypoints[:, 2]
    for a, b in SKELETON:
        if visibility[a] > 0 and visibility[b] > 0:
            both_visible = visibility[a] == 2 and visibility[b] == 2
            thickness = 2 if both_visible else 1
            cv2.line(image, points[a], points[b], VISIBLE_KEYPOINT, thickness, cv2.LINE_AA)
    for point, flag in zip(points, visibility, strict=True):
        if flag == 2:
            cv2.circle(image, point, 3, VISIBLE_KEYPOINT, cv2.FILLED, cv2.LINE_AA)
        elif flag == 1:
            cv2.circle(image, point, 3, HIDDEN_KEYPOINT, 1, cv2.LINE_AA)


def draw_labels(sample: Sample) -> np.ndarray:
    """Return a copy of ``sample.image`` ``(H, W, 3)`` uint8 RGB with every label drawn."""
    canvas = sample.image.copy()
    if sample.boxes is None:
        return canvas
    assert sample.category is not None and sample.light_state is not None
    assert sample.occluded is not None
    for row in range(sample.num_objects):
        name = CATEGORIES[int(sample.category[row])]
        colour = CATEGORY_COLOURS[name]
        text = name
        state = int(sample.light_state[row])
        if name == "traffic_light" and 0 <= state < len(LIGHT_STATES):
            colour = STATE_COLOURS[LIGHT_STATES[state]]
            text = f"light {LIGHT_STATES[state]}"
        x1, y1, x2, y2 = (round(float(v)) for v in sample.boxes[row])
        if sample.occluded[row]:
            _dashed_rectangle(canvas, (x1, y1), (x2, y2), colour)
        else:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        draw_tag(canvas, text, x1, y1 - 2, colour)
        if sample.keypoints is not None:
            _draw_skeleton(canvas, sample.keypoints[row])
    return canvas


def depth_panel(
    depth: np.ndarray | None, height: int, width: int, max_depth: float = 80.0
) -> np.ndarray:
    """Colour-map metric depth ``(H, W)`` into an ``(height, width, 3)`` uint8 RGB panel.

    Near is warm, far (``>= max_depth``) is cold (TURBO colour map on ``1 - depth / max_depth``);
    unknown depth (0) is black. ``depth=None`` gives a black panel reading "no depth".
    """
    if depth is None:
        panel = np.zeros((height, width, 3), dtype=np.uint8)
        draw_tag(panel, "no depth", 4, 16, (255, 255, 255))
        return panel
    if depth.shape != (height, width):
        raise ValueError(f"depth is {depth.shape}, panel wants ({height}, {width})")
    if max_depth <= 0:
        raise ValueError(f"max_depth must be positive, got {max_depth}")
    # nearness in 0..255: |255 - depth * 255 / max_depth| on depth clipped to [0, max_depth]
    levels = cv2.convertScaleAbs(np.clip(depth, 0.0, max_depth), alpha=-255.0 / max_depth, beta=255)
    panel = cv2.LUT(cv2.cvtColor(levels, cv2.COLOR_GRAY2RGB), _TURBO_RGB)
    panel[~(depth > 0)] = 0
    return panel


_TURBO_RGB = cv2.cvtColor(
    cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB
)
"""``(1, 256, 3)`` uint8 RGB: OpenCV's TURBO colour map as a ``cv2.LUT`` table, built once.
With it a 384x216 video inset takes 0.26 ms instead of 0.77 ms with numpy float arithmetic and
``applyColorMap`` per call (a one-off timing on the 2-core benchmark machine)."""
