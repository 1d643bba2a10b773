"""Draw predicted boxes: a coloured rectangle and a ``"<label> <score>"`` tag above each.

Used by the box heads' ``draw`` (RGB images, RGB colours); the video renderer (BGR frames, BGR
colours, line and text sizes scaled to the frame) draws its tags with :func:`draw_tag` where
:mod:`perception.video.label_layout` places them. The functions draw colours as given, in the
image's own channel order.
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
        draw_labelled_box(image, box, f"{label} {float(score):.2f}", colour)


def draw_labelled_box(
    image: np.ndarray,
    box: Sequence[float],
    text: str,
    colour: Colour,
    thickness: int = 2,
    font_scale: float = _FONT_SCALE,
    text_thickness: int = 1,
) -> None:
    """One ``x1, y1, x2, y2`` box outline ``thickness`` wide with :func:`draw_tag` ``text`` just
    above it, on ``image (H, W, 3)`` uint8 in place; ``colour`` is in the image's channel
    order."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
    draw_tag(image, text, x1, y1 - thickness, colour, font_scale, text_thickness)


def tag_size(
    text: str, font_scale: float = _FONT_SCALE, text_thickness: int = 1
) -> tuple[int, int]:
    """``(width, height)`` in pixels of the box :func:`draw_tag` draws for ``text``."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, text_thickness)
    return text_w + 1, text_h + baseline + 1


def draw_tag(
    image: np.ndarray,
    text: str,
    left: int,
    bottom: int,
    colour: Colour,
    font_scale: float = _FONT_SCALE,
    text_thickness: int = 1,
) -> None:
    """``text`` in ``colour`` on a black box (:func:`tag_size`) whose bottom-left pixel is
    ``(left, bottom)``, moved down to stay inside the image."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, text_thickness)
    bottom = max(bottom, text_h + baseline)
    top_left = (left, bottom - text_h - baseline)
    cv2.rectangle(image, top_left, (left + text_w, bottom), (0, 0, 0), cv2.FILLED)
    cv2.putText(
        image,
        text,
        (left, bottom - baseline),
        _FONT,
        font_scale,
        colour,
        text_thickness,
        cv2.LINE_AA,
    )
