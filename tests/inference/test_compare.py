"""Comparing two engines' predictions: set-wise, forgiving tie order, not disagreement."""

from __future__ import annotations

import numpy as np

from perception.inference.compare import FLOAT16, FLOAT32, Tolerance, prediction_differences
from perception.inference.predictions import DepthMap, Detections


def detections(
    scores: list[float], xs: list[float], classes: list[int] | None = None
) -> Detections:
    boxes = np.array([[x, 10.0, x + 20.0, 30.0] for x in xs], np.float32).reshape(-1, 4)
    return Detections(
        boxes=boxes,
        scores=np.array(scores, np.float32),
        classes=np.array(classes or [0] * len(scores), np.int64),
        class_names=("car", "truck"),
    )


def compare(
    actual: Detections,
    expected: Detections,
    threshold: float = 0.0,
    tolerance: Tolerance = FLOAT32,
) -> list[str]:
    return prediction_differences([{"cars": actual}], [{"cars": expected}], tolerance, threshold)


def test_identical_and_tie_swapped_detections_agree() -> None:
    expected = detections([0.9, 0.5, 0.5], [0, 40, 80])
    assert compare(expected, expected) == []
    assert compare(detections([0.9, 0.5, 0.5], [0, 80, 40]), expected) == []


def test_a_moved_box_or_another_class_disagrees() -> None:
    expected = detections([0.9, 0.5, 0.2], [0, 40, 80])
    moved = compare(detections([0.9, 0.5, 0.2], [0, 41, 80]), expected)
    assert moved and moved[0].startswith("frame 0, head 'cars': extra detection 1")
    assert compare(detections([0.9, 0.5, 0.2], [0, 40, 80], [0, 1, 0]), expected)
    assert compare(detections([0.9, 0.6, 0.2], [0, 40, 80]), expected)


def test_a_missing_detection_disagrees_unless_it_is_a_tie_at_the_cut_off() -> None:
    expected = detections([0.9, 0.5, 0.2], [0, 40, 80])
    problems = compare(detections([0.9, 0.2], [0, 80]), expected)
    assert problems == [
        "frame 0, head 'cars': missing detection 1 (score 0.5000) has no counterpart"
    ]
    # Both kept two of three detections tied at 0.2 at the end of the list: not a disagreement.
    tied = detections([0.9, 0.2], [0, 40])
    assert compare(tied, detections([0.9, 0.2], [0, 80])) == []
    # A detection just at the threshold may fall on either side of it.
    assert compare(detections([0.9, 0.30001], [0, 40]), detections([0.9], [0]), 0.3) == []


def test_float16_forgives_a_few_moved_peaks_but_not_a_moved_list() -> None:
    """A few peaks found elsewhere (rounding moved a near-tied local maximum, or merged it and
    the tail refilled) are forgiven up to FLOAT16.moved_peaks per side, never in float32."""
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    xs = [0.0, 40, 80, 120, 160, 200, 240, 280]
    expected = detections(scores, xs)
    one_moved = detections(scores, [*xs[:4], 400, *xs[5:]])
    assert compare(one_moved, expected, tolerance=FLOAT16) == []
    assert len(compare(one_moved, expected)) == 2
    merged_and_refilled = detections([*scores[:4], *scores[5:], 0.1], [*xs[:4], *xs[5:], 600])
    assert compare(merged_and_refilled, expected, tolerance=FLOAT16) == []
    budget = FLOAT16.moved_peaks
    within = detections(scores, [x + 500 * (i < budget) for i, x in enumerate(xs)])
    assert compare(within, expected, tolerance=FLOAT16) == []
    beyond = detections(scores, [x + 500 * (i <= budget) for i, x in enumerate(xs)])
    assert len(compare(beyond, expected, tolerance=FLOAT16)) == 2 * (budget + 1)
    # Moved peaks come in pairs: a lost detection with nothing in its place is reported.
    lost = detections([*scores[:4], *scores[5:]], [*xs[:4], *xs[5:]])
    assert compare(lost, expected, tolerance=FLOAT16) == [
        "frame 0, head 'cars': missing detection 4 (score 0.5000) has no counterpart"
    ]


def test_depth_maps_compare_within_tolerance() -> None:
    metres = np.full((4, 6), 20.0, np.float32)
    same = [{"depth": DepthMap(metres + 1e-4, 80.0)}]
    assert prediction_differences(same, [{"depth": DepthMap(metres, 80.0)}], FLOAT32, 0.0) == []
    off = [{"depth": DepthMap(metres + 0.5, 80.0)}]
    problems = prediction_differences(off, [{"depth": DepthMap(metres, 80.0)}], FLOAT32, 0.0)
    assert problems == ["frame 0, head 'depth': depth: max abs difference 0.5"]
