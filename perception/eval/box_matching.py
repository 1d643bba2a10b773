"""Box IoU and greedy score-ordered matching of detections to ground truth (COCO-style)."""

from __future__ import annotations

import numpy as np


def box_iou(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """IoU of every pair of ``first (N, 4)`` and ``second (M, 4)`` xyxy boxes: ``(N, M)``.

    Coordinates are pixel edges, so a box's area is ``(x2 - x1) * (y2 - y1)``; empty boxes have
    IoU 0 with everything.
    """
    first = np.asarray(first, dtype=np.float64).reshape(-1, 4)
    second = np.asarray(second, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None).prod(axis=2)
    area_first = np.clip(first[:, 2:] - first[:, :2], 0.0, None).prod(axis=1)
    area_second = np.clip(second[:, 2:] - second[:, :2], 0.0, None).prod(axis=1)
    union = area_first[:, None] + area_second[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def greedy_match(
    detection_boxes: np.ndarray,
    detection_scores: np.ndarray,
    gt_boxes: np.ndarray,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """Match detections to ground truth, highest score first.

    Each detection in turn takes the still unmatched ground-truth box it overlaps most, if that
    IoU is at least ``iou_threshold``.

    Returns:
        ``(K,)`` int64: for each detection the index of its ground-truth box, or ``-1``.
    """
    matches = np.full(len(detection_scores), -1, dtype=np.int64)
    if len(gt_boxes) == 0 or len(detection_scores) == 0:
        return matches
    iou = box_iou(detection_boxes, gt_boxes)
    taken = np.zeros(len(gt_boxes), dtype=bool)
    for detection in np.argsort(-np.asarray(detection_scores), kind="stable"):
        candidates = np.where(taken, -1.0, iou[detection])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            matches[detection] = best
            taken[best] = True
    return matches
