"""Box labels are placed so that they stay inside the frame and, where there is room, cover
neither each other nor the FPS tag; the strongest box keeps the usual spot above its corner."""

from __future__ import annotations

import itertools

import pytest

from perception.video.label_layout import Rect, place_labels

FRAME = (180, 320)
SIZE = (60, 12)


def overlap(a: Rect, b: Rect) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def inside(rect: Rect, frame: tuple[int, int] = FRAME) -> bool:
    return rect[0] >= 0 and rect[1] >= 0 and rect[2] <= frame[1] and rect[3] <= frame[0]


def test_a_lone_label_sits_above_the_box_s_top_left_corner() -> None:
    assert place_labels([[100, 60, 200, 120]], [SIZE], FRAME, gap=2) == [(100, 46, 160, 58)]


def test_labels_of_overlapping_boxes_do_not_cover_each_other() -> None:
    boxes = [[100, 60, 200, 120], [105, 62, 205, 122], [110, 58, 210, 118]]
    spots = place_labels(boxes, [SIZE] * 3, FRAME, gap=1)
    assert spots[0] == (100, 47, 160, 59), "the first (strongest) keeps the usual spot"
    for a, b in itertools.combinations(spots, 2):
        assert not overlap(a, b), spots
    assert all(inside(spot) for spot in spots)


def test_a_reserved_area_is_avoided() -> None:
    fps_tag = (1, 0, 80, 14)
    assert place_labels([[20, 20, 200, 80]], [SIZE], FRAME, gap=1) == [(20, 7, 80, 19)]
    (spot,) = place_labels([[20, 20, 200, 80]], [SIZE], FRAME, gap=1, reserved=[fps_tag])
    assert spot == (140, 7, 200, 19), "above the top-right corner instead"


@pytest.mark.parametrize(
    "box", [[-20, -20, 30, 30], [300, 5, 330, 40], [100, 170, 200, 200], [0, 0, 320, 180]]
)
def test_labels_stay_inside_the_frame(box: list[float]) -> None:
    (spot,) = place_labels([box], [SIZE], FRAME)
    assert inside(spot) and (spot[2] - spot[0], spot[3] - spot[1]) == SIZE


def test_a_crowded_frame_still_places_every_label_inside_it() -> None:
    boxes = [[100, 60, 130, 80]] * 12
    spots = place_labels(boxes, [SIZE] * 12, FRAME)
    assert len(spots) == 12 and all(inside(spot) for spot in spots)
    assert len(set(spots[:6])) == 6, "every candidate spot is used before any is shared"


def test_boxes_and_sizes_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 boxes but 1 label sizes"):
        place_labels([[0, 0, 1, 1]] * 2, [SIZE], FRAME)
