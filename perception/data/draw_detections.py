"""Draw predicted boxes: a coloured rectangle and a ``"<label> <score>"`` tag above each.

Used by the box heads' ``draw`` and by anything that renders detections from export metadata
(no plugin code needed: boxes, labels and colours are all it takes). Colours are RGB.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Colour = tuple[int, int, int]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_SCALE = 0.4


def draw_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    colours: Sequence[Colour],
) -> None:
    """Draw ``boxes (N, 4)`` xyxy pixels with ``scores (N,)`` onto ``image (H, W, 3)`` uint8 RGB
    in place; ``labels`` and ``colours`` hold one entry per box."""
    if not len(boxes) == len(scores) == len(labels) == len(colours):
        raise ValueError("boxes, scores, labels and colours must have one entry per box")
    for box, score, label, colour in zip(boxes, scores, labels, colours, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        text = f"{label} {float(score):.2f}"
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, _FONT_SCALE, 1)
        bottom = max(y1 - 2, text_h + baseline)
        top_left = (x1, bottom - text_h - baseline)
        cv2.rectangle(image, top_left, (x1 + text_w, bottom), (0, 0, 0), cv2.FILLED)
        cv2.putText(
            image, text, (x1, bottom - baseline), _FONT, _FONT_SCALE, colour, 1, cv2.LINE_AA
        )
