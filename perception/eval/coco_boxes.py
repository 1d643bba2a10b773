"""COCO box average precision for one class, computed by pycocotools from in-memory arrays.

Ground truth and detections are turned into COCO dictionaries (one image per entry, one category,
boxes ``[x, y, w, h]`` from pixel-edge ``x1, y1, x2, y2``) and scored by ``COCOeval`` with
``iouType="bbox"``; its console output is swallowed.

With no ground-truth box in any image, AP is undefined and reported as ``nan`` (pycocotools
itself says ``-1``); aggregate with ``nanmean``. With ground truth but no detections, AP is 0.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

CATEGORY_ID = 1


@dataclass(frozen=True)
class BoxAP:
    """``ap``: AP averaged over IoU 0.50:0.05:0.95; ``ap50``: AP at IoU 0.5 (``nan``: no GT)."""

    ap: float
    ap50: float


def coco_box_ap(
    ground_truth: Sequence[np.ndarray],
    detections: Sequence[tuple[np.ndarray, np.ndarray]],
    max_detections: int = 100,
) -> BoxAP:
    """COCO AP and AP50 of one class over a set of images.

    Args:
        ground_truth: per image, ``(N_i, 4)`` boxes ``x1, y1, x2, y2`` in pixels.
        detections: per image, ``boxes (K_i, 4)`` in the same format and ``scores (K_i,)``.
        max_detections: detections per image that count (the highest scored are kept).
    """
    if len(ground_truth) != len(detections):
        raise ValueError(
            f"{len(ground_truth)} ground-truth images but {len(detections)} detection images"
        )
    if max_detections <= 0:
        raise ValueError(f"max_detections must be positive, got {max_detections}")
    images = [{"id": image_id} for image_id in range(1, len(ground_truth) + 1)]
    categories = [{"id": CATEGORY_ID, "name": "object"}]
    gt_annotations = []
    dt_annotations = []
    for image_id, (boxes, (det_boxes, det_scores)) in enumerate(
        zip(ground_truth, detections, strict=True), start=1
    ):
        if len(det_boxes) != len(det_scores):
            raise ValueError(f"image {image_id - 1}: {len(det_boxes)} boxes but scores differ")
        best = np.argsort(-np.asarray(det_scores), kind="stable")[:max_detections]
        det_boxes = np.asarray(det_boxes).reshape(-1, 4)[best]
        det_scores = np.asarray(det_scores)[best]
        gt_annotations += _annotations(image_id, boxes, None, len(gt_annotations))
        dt_annotations += _annotations(image_id, det_boxes, det_scores, len(dt_annotations))
    if not gt_annotations:
        return BoxAP(math.nan, math.nan)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = _coco(images, categories, gt_annotations)
        coco_dt = _coco(images, categories, dt_annotations)
        evaluation = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluation.params.maxDets = [1, 10, max(100, max_detections)]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return BoxAP(float(evaluation.stats[0]), float(evaluation.stats[1]))


def _annotations(
    image_id: int, boxes: np.ndarray, scores: np.ndarray | None, first_id: int
) -> list[dict[str, Any]]:
    """COCO annotations for one image's boxes (detections when ``scores`` is given)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    annotations = []
    for row, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        width, height = x2 - x1, y2 - y1
        annotation: dict[str, Any] = {
            "id": first_id + row + 1,
            "image_id": image_id,
            "category_id": CATEGORY_ID,
            "bbox": [x1, y1, width, height],
            "area": width * height,
            "iscrowd": 0,
        }
        if scores is not None:
            annotation["score"] = float(scores[row])
        annotations.append(annotation)
    return annotations


def _coco(
    images: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
) -> COCO:
    coco = COCO()
    coco.dataset = {"images": images, "categories": categories, "annotations": annotations}
    coco.createIndex()
    return coco
