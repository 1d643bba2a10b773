"""COCO box AP from arrays agrees with pycocotools run on hand-written COCO JSON files."""

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

from perception.eval.coco_boxes import coco_box_ap

# Two images. Image 1: two objects, one found well, one too loosely (IoU 0.47), plus a confident
# false positive.
# Image 2: one object, found with a low score; a false positive with a higher score.
GT_JSON = {
    "images": [{"id": 7}, {"id": 9}],
    "categories": [{"id": 3, "name": "car"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 10, 40, 20], "area": 800,
         "iscrowd": 0},
        {"id": 2, "image_id": 7, "category_id": 3, "bbox": [60, 30, 20, 30], "area": 600,
         "iscrowd": 0},
        {"id": 3, "image_id": 9, "category_id": 3, "bbox": [0, 0, 30, 30], "area": 900,
         "iscrowd": 0},
    ],
}  # fmt: skip
RESULTS_JSON = [
    {"image_id": 7, "category_id": 3, "bbox": [11, 10, 40, 21], "score": 0.9},
    {"image_id": 7, "category_id": 3, "bbox": [64, 36, 20, 30], "score": 0.6},
    {"image_id": 7, "category_id": 3, "bbox": [100, 100, 10, 10], "score": 0.8},
    {"image_id": 9, "category_id": 3, "bbox": [1, 2, 29, 27], "score": 0.3},
    {"image_id": 9, "category_id": 3, "bbox": [50, 50, 20, 20], "score": 0.7},
]


def _xyxy(bbox: list[float]) -> list[float]:
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


def _arrays() -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    ground_truth, detections = [], []
    for image in GT_JSON["images"]:
        gt = [_xyxy(a["bbox"]) for a in GT_JSON["annotations"] if a["image_id"] == image["id"]]
        dets = [r for r in RESULTS_JSON if r["image_id"] == image["id"]]
        ground_truth.append(np.array(gt, dtype=np.float32))
        detections.append(
            (
                np.array([_xyxy(r["bbox"]) for r in dets], dtype=np.float32),
                np.array([r["score"] for r in dets], dtype=np.float32),
            )
        )
    return ground_truth, detections


def _pycocotools_stats(tmp_path: Path) -> np.ndarray:
    gt_file, results_file = tmp_path / "gt.json", tmp_path / "results.json"
    gt_file.write_text(json.dumps(GT_JSON))
    results_file.write_text(json.dumps(RESULTS_JSON))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_file))
        evaluation = COCOeval(coco_gt, coco_gt.loadRes(str(results_file)), iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


def test_matches_pycocotools_on_json_files(tmp_path: Path) -> None:
    stats = _pycocotools_stats(tmp_path)
    result = coco_box_ap(*_arrays())
    assert result.ap == pytest.approx(stats[0], abs=1e-9)
    assert result.ap50 == pytest.approx(stats[1], abs=1e-9)
    assert 0.2 < result.ap < result.ap50 < 1.0


def test_perfect_detections_score_one() -> None:
    ground_truth, _ = _arrays()
    detections = [(boxes, np.ones(len(boxes))) for boxes in ground_truth]
    result = coco_box_ap(ground_truth, detections)
    assert result.ap == pytest.approx(1.0)
    assert result.ap50 == pytest.approx(1.0)


def test_no_ground_truth_is_nan_and_no_detections_is_zero() -> None:
    empty = np.zeros((0, 4), dtype=np.float32)
    ground_truth, detections = _arrays()
    no_gt = coco_box_ap([empty, empty], detections)
    assert math.isnan(no_gt.ap) and math.isnan(no_gt.ap50)
    no_dets = coco_box_ap(ground_truth, [(empty, np.zeros(0))] * 2)
    assert no_dets.ap == 0.0 and no_dets.ap50 == 0.0


def test_only_the_best_max_detections_per_image_count() -> None:
    ground_truth = [np.array([[0.0, 0.0, 10.0, 10.0]])]
    # the true box is ranked second: with one detection allowed it is never seen
    boxes = np.array([[50.0, 50.0, 60.0, 60.0], [0.0, 0.0, 10.0, 10.0]])
    detections = [(boxes, np.array([0.9, 0.5]))]
    assert coco_box_ap(ground_truth, detections, max_detections=2).ap50 == pytest.approx(
        0.5, abs=0.01
    )
    assert coco_box_ap(ground_truth, detections, max_detections=1).ap50 == 0.0


def test_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    coco_box_ap(*_arrays())
    assert capsys.readouterr().out == ""


def test_mismatched_lengths_are_refused() -> None:
    ground_truth, detections = _arrays()
    with pytest.raises(ValueError, match="ground-truth images"):
        coco_box_ap(ground_truth, detections[:1])
