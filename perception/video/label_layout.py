"""Where box labels go on a frame, so that labels of nearby boxes do not cover each other.

Each label has a few candidate spots around its box, in order of preference: above the box's
top-left corner (where detection tools usually put it), above its top-right corner, just inside
its top edge (left, then right), below its bottom edge (left, then right). Labels are placed one
after another, strongest first; each takes its first candidate that covers no label placed
before it (nor a reserved area such as the FPS tag), else the candidate that covers the least.
Every spot is moved inside the frame. Where labels must overlap, the caller draws the strongest
last, so it stays on top.
"""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in pixels, right and bottom exclusive."""


def place_labels(
    boxes: Sequence[Sequence[float]],
    sizes: Sequence[tuple[int, int]],
    frame_size: tuple[int, int],
    gap: int = 1,
    reserved: Sequence[Rect] = (),
) -> list[Rect]:
    """One rectangle per label, in the order given (earlier labels choose first).

    Args:
        boxes: each label's box, ``x1, y1, x2, y2`` pixels.
        sizes: each label's ``(width, height)`` in pixels.
        frame_size: ``(height, width)`` of the frame.
        gap: pixels between a box's edge and a label outside it (the box's line width).
        reserved: areas labels should not cover.
    """
    if len(boxes) != len(sizes):
        raise ValueError(f"{len(boxes)} boxes but {len(sizes)} label sizes")
    placed: list[Rect] = list(reserved)
    chosen: list[Rect] = []
    for box, size in zip(boxes, sizes, strict=True):
        candidates = [_inside(spot, frame_size) for spot in _candidates(box, size, gap)]
        # the least covered spot, the most preferred among equals: the first free one if any
        spot = min(candidates, key=lambda candidate: _covered_area(candidate, placed))
        placed.append(spot)
        chosen.append(spot)
    return chosen


def _candidates(box: Sequence[float], size: tuple[int, int], gap: int) -> list[Rect]:
    """The spots for a ``size`` label around ``box``, most preferred first."""
    x1, y1, x2, y2 = (round(float(value)) for value in box)
    width, height = size
    above = y1 - gap - height
    inside, below = y1 + gap, y2 + gap
    return [
        (x1, above, x1 + width, above + height),
        (x2 - width, above, x2, above + height),
        (x1, inside, x1 + width, inside + height),
        (x2 - width, inside, x2, inside + height),
        (x1, below, x1 + width, below + height),
        (x2 - width, below, x2, below + height),
    ]


def _inside(rect: Rect, frame_size: tuple[int, int]) -> Rect:
    """``rect`` shifted (not resized) to lie within the frame where it fits."""
    left, top, right, bottom = rect
    frame_height, frame_width = frame_size
    dx = max(0, -left) or min(0, frame_width - right)
    dy = max(0, -top) or min(0, frame_height - bottom)
    return (left + dx, top + dy, right + dx, bottom + dy)


def _covered_area(rect: Rect, others: Sequence[Rect]) -> int:
    """Pixels of ``rect`` that ``others`` cover (summed, so a pixel under two counts twice)."""
    left, top, right, bottom = rect
    area = 0
    for other_left, other_top, other_right, other_bottom in others:
        width = min(right, other_right) - max(left, other_left)
        height = min(bottom, other_bottom) - max(top, other_top)
        if width > 0 and height > 0:
            area += width * height
    return area
