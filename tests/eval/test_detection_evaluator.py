"""The box-head evaluator: AP per class, attribute accuracy on matched boxes, baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perception.data.sample import CATEGORIES, LIGHT_STATES, Sample
from perception.eval.coco_boxes import coco_box_ap
from perception.eval.detection_evaluator import DetectionEvaluator
from perception.model.centernet_targets import BoxAttribute

LIGHT = CATEGORIES.index("traffic_light")
CAR = CATEGORIES.index("car")
STATE = BoxAttribute("state", "light_state", LIGHT_STATES)


def _sample(boxes: list[list[float]], categories: list[int], states: list[int]) -> Sample:
    count = len(boxes)
    return Sample(
        image=np.zeros((64, 96, 3), dtype=np.uint8),
        boxes=np.array(boxes, dtype=np.float32).reshape(count, 4),
        category=np.array(categories, dtype=np.int64),
        light_state=np.array(states, dtype=np.int64),
        occluded=np.zeros(count, dtype=bool),
        truncated=np.zeros(count, dtype=bool),
    )


def _decoded(rows: list[list[tuple[list[float], float, int]]]) -> dict[str, np.ndarray]:
    """Decode-style arrays from per-image ``(box, score, state)`` lists of equal length."""
    return {
        "boxes": np.array([[box for box, _, _ in row] for row in rows], dtype=np.float32),
        "scores": np.array([[score for _, score, _ in row] for row in rows], dtype=np.float32),
        "classes": np.zeros((len(rows), len(rows[0])), dtype=np.int64),
        "state": np.array([[state for _, _, state in row] for row in rows], dtype=np.int64),
    }


def test_attribute_accuracy_counts_matched_boxes_with_known_state() -> None:
    sample = _sample(
        [[0, 0, 10, 20], [20, 0, 30, 20], [40, 0, 50, 20], [60, 0, 70, 20], [0, 30, 40, 60]],
        [LIGHT, LIGHT, LIGHT, LIGHT, CAR],
        [0, 2, -1, 1, -1],
    )
    decoded = _decoded(
        [
            [
                ([0, 0, 10, 20], 0.9, 0),  # matches light 0, state right
                ([20, 1, 30, 21], 0.8, 1),  # matches light 1, state wrong
                ([40, 0, 50, 20], 0.7, 3),  # matches light 2, state unknown: not counted
                ([0, 30, 40, 60], 0.6, 1),  # a car box: no light there
                ([1, 0, 11, 20], 0.5, 2),  # light 0 is already taken
            ]
        ]
    )
    evaluator = DetectionEvaluator([LIGHT], [STATE])
    evaluator.update(decoded, [sample])
    metrics = evaluator.compute()["model"]
    assert metrics["state_accuracy"] == pytest.approx(1 / 2)
    boxes, scores = decoded["boxes"][0], decoded["scores"][0]
    expected = coco_box_ap([sample.boxes[:4]], [(boxes, scores)])
    assert metrics["AP"] == pytest.approx(expected.ap)
    assert metrics["AP50"] == pytest.approx(expected.ap50)
    assert metrics["AP50"] < 1.0


def test_baseline_places_the_mean_training_box_and_answers_the_majority_state() -> None:
    evaluator = DetectionEvaluator([LIGHT], [STATE])
    evaluator.observe_training_sample(
        _sample(
            [[10, 10, 20, 30], [30, 10, 40, 30], [0, 0, 50, 50]], [LIGHT, LIGHT, CAR], [2, 2, -1]
        )
    )
    evaluator.observe_training_sample(_sample([[20, 10, 30, 30]], [LIGHT], [0]))
    # the mean light box is (20, 10, 30, 30): it finds the light at that spot and misses the other
    validation = _sample([[20, 10, 30, 30], [60, 10, 70, 30]], [LIGHT, LIGHT], [2, 1])
    nothing = _decoded([[([0, 0, 1, 1], 0.0, 0)]])
    evaluator.update(nothing, [validation])
    baseline = evaluator.compute()["baseline"]
    assert baseline["AP50"] == pytest.approx(0.5, abs=0.01)
    assert baseline["state_accuracy"] == pytest.approx(1 / 2)


def test_samples_without_box_labels_are_skipped_and_empty_gives_nan() -> None:
    evaluator = DetectionEvaluator([LIGHT], [STATE])
    unlabelled = Sample(image=np.zeros((64, 96, 3), dtype=np.uint8))
    evaluator.update(_decoded([[([0, 0, 10, 10], 0.9, 0)]]), [unlabelled])
    result = evaluator.compute()
    assert all(math.isnan(value) for value in result["model"].values())
    assert all(math.isnan(value) for value in result["baseline"].values())


def test_ap_is_the_mean_over_classes_with_ground_truth() -> None:
    evaluator = DetectionEvaluator([CAR, LIGHT])
    sample = _sample([[0, 0, 10, 10], [20, 20, 30, 30]], [CAR, LIGHT], [-1, -1])
    decoded = {
        "boxes": np.array([[[0, 0, 10, 10], [20, 20, 30, 30]]], dtype=np.float32),
        "scores": np.array([[0.9, 0.8]], dtype=np.float32),
        "classes": np.array([[0, 0]]),  # both predicted as cars: the light is missed
    }
    evaluator.update(decoded, [sample])
    assert evaluator.compute()["model"]["AP50"] == pytest.approx(0.5)
