"""Box IoU and greedy matching."""

from __future__ import annotations

import numpy as np
import pytest

from perception.eval.box_matching import box_iou, greedy_match


def test_iou_of_hand_made_pairs() -> None:
    first = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.0, 5.0]])
    second = np.array([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    iou = box_iou(first, second)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(50 / 150)
    assert iou[0, 1] == 1.0
    assert iou[0, 2] == 0.0
    assert (iou[1] == 0.0).all()


def test_higher_score_takes_the_box_first() -> None:
    gt = np.array([[0.0, 0.0, 10.0, 10.0]])
    detections = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0]])
    np.testing.assert_array_equal(greedy_match(detections, np.array([0.2, 0.9]), gt), [-1, 0])


def test_each_detection_takes_its_best_free_box_above_the_threshold() -> None:
    gt = np.array([[0.0, 0.0, 10.0, 10.0], [2.0, 0.0, 12.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    detections = np.array(
        [[2.0, 0.0, 12.0, 10.0], [1.0, 0.0, 11.0, 10.0], [52.0, 52.0, 62.0, 62.0]]
    )
    matches = greedy_match(detections, np.array([0.9, 0.8, 0.7]), gt, iou_threshold=0.5)
    # the first takes box 1 (IoU 1); the second gets box 0 (IoU 0.82); the third overlaps 0.47
    np.testing.assert_array_equal(matches, [1, 0, -1])


def test_empty_inputs() -> None:
    empty = np.zeros((0, 4))
    assert greedy_match(empty, np.zeros(0), np.ones((2, 4))).shape == (0,)
    np.testing.assert_array_equal(greedy_match(np.ones((2, 4)), np.ones(2), empty), [-1, -1])
