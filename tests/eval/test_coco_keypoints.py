"""OKS AP of pedestrian keypoints: our evaluator against pycocotools run directly on JSON files."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from perception.data.sample import CATEGORIES, Sample
from perception.eval.coco_keypoints import KeypointEvaluator, MeanPoseBaseline, labelled_people

PEDESTRIAN, CAR = CATEGORIES.index("pedestrian"), CATEGORIES.index("car")
SIZE = (80, 120)

Prediction = tuple[int, np.ndarray, float]
"""``(image_id from 1, keypoints (17, 3) with the score as third column, person score)``."""


def _pose(box: list[float], seed: int) -> np.ndarray:
    """17 keypoints inside ``box`` (x1, y1, x2, y2); every third joint unlabelled."""
    rng = np.random.default_rng(seed)
    x1, y1, x2, y2 = box
    joints = np.zeros((17, 3), dtype=np.float32)
    joints[:, 0] = rng.uniform(x1, x2 - 1, 17)
    joints[:, 1] = rng.uniform(y1, y2 - 1, 17)
    joints[:, 2] = 2
    joints[::3, 2] = 0
    joints[1::3, 2] = 1
    return joints


def _sample(boxes: list[list[float]], categories: list[int], poses: list[np.ndarray]) -> Sample:
    count = len(boxes)
    return Sample(
        image=np.zeros((*SIZE, 3), dtype=np.uint8),
        boxes=np.array(boxes, dtype=np.float32).reshape(count, 4),
        category=np.array(categories, dtype=np.int64),
        light_state=np.full(count, -1, dtype=np.int64),
        occluded=np.zeros(count, dtype=bool),
        truncated=np.zeros(count, dtype=bool),
        keypoints=np.array(poses, dtype=np.float32).reshape(count, 17, 3),
    )


BOXES = [[[10, 10, 30, 60]], [[50, 5, 70, 45], [80, 20, 104, 76], [0, 0, 40, 30]]]
CATEGORY_ROWS = [[PEDESTRIAN], [PEDESTRIAN, PEDESTRIAN, CAR]]


def _scenes() -> tuple[list[Sample], list[list[np.ndarray]]]:
    """Two images: one pedestrian; two pedestrians and a car. Also returns the people's poses."""
    poses = [[_pose(BOXES[0][0], 1)], [_pose(BOXES[1][0], 2), _pose(BOXES[1][1], 3)]]
    samples = [
        _sample(BOXES[0], CATEGORY_ROWS[0], poses[0]),
        _sample(BOXES[1], CATEGORY_ROWS[1], [*poses[1], np.zeros((17, 3))]),
    ]
    return samples, poses


def _pycocotools_direct(
    tmp_path: Path, poses: list[list[np.ndarray]], predictions: list[Prediction]
) -> tuple[float, float]:
    """AP and AP50 from pycocotools on GT/result JSON files written here by hand."""
    images, annotations = [], []
    for image_id, people in enumerate(poses, start=1):
        images.append({"id": image_id, "width": SIZE[1], "height": SIZE[0]})
        for box, pose in zip(BOXES[image_id - 1], people, strict=False):
            x1, y1, x2, y2 = box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                    "num_keypoints": int((pose[:, 2] > 0).sum()),
                    "keypoints": pose.reshape(-1).tolist(),
                }
            )
    ground_truth = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}],
    }
    results = [
        {"image_id": image_id, "category_id": 1, "keypoints": kp.reshape(-1).tolist(), "score": s}
        for image_id, kp, s in predictions
    ]
    (tmp_path / "gt.json").write_text(json.dumps(ground_truth))
    (tmp_path / "results.json").write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "gt.json"))
        evaluation = COCOeval(coco, coco.loadRes(str(tmp_path / "results.json")), "keypoints")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


def _decoded_batch(
    samples: list[Sample], predictions: list[Prediction], count: int = 3
) -> dict[str, np.ndarray]:
    """Decoded arrays ``(B, count, ...)`` holding ``predictions`` (image_id from 1), zero-padded
    with score-0 people."""
    keypoints = np.zeros((len(samples), count, 17, 3), dtype=np.float32)
    scores = np.zeros((len(samples), count), dtype=np.float32)
    boxes = np.zeros((len(samples), count, 4), dtype=np.float32)
    filled = [0] * len(samples)
    for image_id, pose, score in predictions:
        row, slot = image_id - 1, filled[image_id - 1]
        keypoints[row, slot] = pose
        scores[row, slot] = score
        filled[row] += 1
    return {"boxes": boxes, "scores": scores, "keypoints": keypoints}


def _as_prediction(pose: np.ndarray, score: float) -> np.ndarray:
    predicted = pose.copy()
    predicted[:, 2] = score
    return predicted


def _perfect_and_noisy_predictions(noisy: bool) -> list[Prediction]:
    _, poses = _scenes()
    rng = np.random.default_rng(7)
    predictions: list[Prediction] = []
    for image_id, people in enumerate(poses, start=1):
        for index, pose in enumerate(people):
            guess = _as_prediction(pose, 0.9 - 0.1 * index)
            if noisy:
                guess[:, :2] += rng.normal(0, 2.5 * (index + 1), (17, 2))
            predictions.append((image_id, guess, 0.9 - 0.1 * index))
    if noisy:  # a confident false positive far from everyone
        predictions.append((1, _as_prediction(_pose([80, 50, 100, 79], 9), 0.95), 0.95))
    return predictions


def _zero_padded(predictions: list[Prediction], count: int = 3) -> list[Prediction]:
    """Our evaluator also sees the score-0 padding rows; pycocotools must see them too."""
    padded = list(predictions)
    for image_id in (1, 2):
        used = sum(1 for p in predictions if p[0] == image_id)
        padded += [(image_id, np.zeros((17, 3), dtype=np.float32), 0.0)] * (count - used)
    return padded


@pytest.mark.parametrize("noisy", [False, True], ids=["perfect", "noisy"])
def test_matches_pycocotools_run_directly(tmp_path: Path, noisy: bool) -> None:
    samples, poses = _scenes()
    predictions = _perfect_and_noisy_predictions(noisy)
    evaluator = KeypointEvaluator(SIZE)
    evaluator.update(_decoded_batch(samples, predictions), samples)
    ours = evaluator.compute()["model"]
    ap, ap50 = _pycocotools_direct(tmp_path, poses, _zero_padded(predictions))
    assert ours["oks_ap"] == pytest.approx(ap, abs=1e-9)
    assert ours["oks_ap50"] == pytest.approx(ap50, abs=1e-9)
    if noisy:
        assert ours["oks_ap"] < 1.0
    else:
        assert ours["oks_ap"] == pytest.approx(1.0)


def test_only_pedestrians_with_a_labelled_keypoint_count() -> None:
    samples, _ = _scenes()
    unlabelled = _sample([[0, 0, 10, 20]], [PEDESTRIAN], [np.zeros((17, 3))])
    assert labelled_people(samples[1]).tolist() == [0, 1]
    assert labelled_people(unlabelled).tolist() == []


def test_no_people_gives_nan_and_people_without_results_zero() -> None:
    samples, _ = _scenes()
    empty = KeypointEvaluator(SIZE)
    nobody = _sample([[0, 0, 10, 20]], [CAR], [np.zeros((17, 3))])
    empty.update(_decoded_batch([nobody], [], count=2), [nobody])
    assert all(math.isnan(value) for value in empty.compute()["model"].values())

    missed = KeypointEvaluator(SIZE)
    missed.update(_decoded_batch(samples, [], count=2), samples)
    assert missed.compute()["model"]["oks_ap"] == 0.0


def test_samples_without_keypoint_labels_are_skipped() -> None:
    samples, _ = _scenes()
    bare = Sample(image=samples[0].image)
    predictions = _perfect_and_noisy_predictions(noisy=False)
    evaluator = KeypointEvaluator(SIZE)
    evaluator.update(_decoded_batch([*samples, bare], predictions), [*samples, bare])
    assert evaluator.compute()["model"]["oks_ap"] == pytest.approx(1.0)


def test_mean_pose_baseline_averages_box_relative_joints() -> None:
    box_a, box_b = [10.0, 10.0, 30.0, 50.0], [30.0, 20.0, 50.0, 60.0]
    pose_a, pose_b = np.zeros((17, 3)), np.zeros((17, 3))
    # joint 0: labelled in both; joint 1: only in a; the rest never labelled
    pose_a[0] = (box_a[0] + 0.25 * 20 - 0.5, box_a[1] + 0.5 * 40 - 0.5, 2)
    pose_b[0] = (box_b[0] + 0.75 * 20 - 0.5, box_b[1] + 0.1 * 40 - 0.5, 1)
    pose_a[1] = (box_a[0] + 1.0 * 20 - 0.5, box_a[1] - 0.5, 2)
    baseline = MeanPoseBaseline()
    assert baseline.predict() is None
    for box, pose in ((box_a, pose_a), (box_b, pose_b)):
        baseline.observe(_sample([box], [PEDESTRIAN], [pose]))
    predicted = baseline.predict()
    assert predicted is not None
    mean_x1, mean_y1, width, height = 20.0, 15.0, 20.0, 40.0
    np.testing.assert_allclose(
        predicted[0], (mean_x1 + 0.5 * width - 0.5, mean_y1 + 0.3 * height - 0.5, 1)
    )
    np.testing.assert_allclose(predicted[1], (mean_x1 + width - 0.5, mean_y1 - 0.5, 1))
    np.testing.assert_allclose(
        predicted[2:], [(mean_x1 + 0.5 * width - 0.5, mean_y1 + 0.5 * height - 0.5, 1)] * 15
    )


def test_baseline_scores_the_mean_person_perfectly_and_others_worse() -> None:
    box_a, box_b = [10.0, 10.0, 30.0, 50.0], [30.0, 20.0, 50.0, 60.0]
    relative = np.random.default_rng(3).uniform(0.1, 0.9, (17, 2))

    def placed(box: list[float]) -> np.ndarray:
        pose = np.full((17, 3), 2.0)
        pose[:, 0] = box[0] + relative[:, 0] * (box[2] - box[0]) - 0.5
        pose[:, 1] = box[1] + relative[:, 1] * (box[3] - box[1]) - 0.5
        return pose

    evaluator = KeypointEvaluator(SIZE)
    for box in (box_a, box_b):
        evaluator.observe_training_sample(_sample([box], [PEDESTRIAN], [placed(box)]))
    mean_box = [20.0, 15.0, 40.0, 55.0]
    on_mean = _sample([mean_box], [PEDESTRIAN], [placed(mean_box)])
    evaluator.update(_decoded_batch([on_mean], [], count=1), [on_mean])
    assert evaluator.compute()["baseline"]["oks_ap"] == pytest.approx(1.0)

    elsewhere = KeypointEvaluator(SIZE)
    for box in (box_a, box_b):
        elsewhere.observe_training_sample(_sample([box], [PEDESTRIAN], [placed(box)]))
    far_box = [70.0, 30.0, 90.0, 70.0]
    far = _sample([far_box], [PEDESTRIAN], [placed(far_box)])
    elsewhere.update(_decoded_batch([far], [], count=1), [far])
    assert elsewhere.compute()["baseline"]["oks_ap"] == 0.0


def test_baseline_is_nan_without_training_people() -> None:
    samples, _ = _scenes()
    evaluator = KeypointEvaluator(SIZE)
    evaluator.update(_decoded_batch(samples, [], count=2), samples)
    assert math.isnan(evaluator.compute()["baseline"]["oks_ap"])
