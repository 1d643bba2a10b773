"""Metrics of a box head: COCO AP / AP50 per class and attribute accuracy on matched boxes.

Model metrics:

- ``AP`` and ``AP50``: pycocotools box AP (see :mod:`perception.eval.coco_boxes`) per class of
  the head, averaged over the classes that have ground truth (``nan`` when none has).
- ``<attribute>_accuracy``: detections are matched to ground truth of their class (IoU >= 0.5,
  highest score first); among matched ground-truth boxes whose attribute is known, the fraction
  whose predicted value is right (``nan`` when no such box was matched).

Baseline (a predictor that never looks at the image):

- ``AP``/``AP50`` of the training set's mean box per class (the mean of its ``x1, y1, x2, y2``
  over the observed training boxes), placed once in every image with score 1.0; a class never
  seen in training gets no box.
- ``<attribute>_accuracy`` of always answering the training set's most frequent value, over
  every evaluated ground-truth box whose attribute is known (the baseline detects nothing, so it
  is not limited to matched boxes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from perception.data.sample import Sample
from perception.eval.box_matching import greedy_match
from perception.eval.coco_boxes import coco_box_ap
from perception.model.centernet_targets import BoxAttribute
from perception.model.task_head import TaskEvaluator


class DetectionEvaluator(TaskEvaluator):
    """Evaluator for heads whose decode gives ``boxes (B, K, 4)``, ``scores (B, K)``,
    ``classes (B, K)`` (index into ``category_indices``) and ``<attribute> (B, K)``.

    Args:
        category_indices: the :data:`~perception.data.sample.CATEGORIES` index of each class.
        attributes: the per-box attributes the head predicts.
        max_detections: detections per image that count for AP.
        iou_threshold: minimum IoU for a detection to match a box (attribute accuracy).
    """

    def __init__(
        self,
        category_indices: Sequence[int],
        attributes: Sequence[BoxAttribute] = (),
        max_detections: int = 100,
        iou_threshold: float = 0.5,
    ) -> None:
        self.category_indices = tuple(category_indices)
        self.attributes = tuple(attributes)
        self.max_detections = max_detections
        self.iou_threshold = iou_threshold
        classes = len(self.category_indices)
        self._train_box_sums = np.zeros((classes, 4), dtype=np.float64)
        self._train_box_counts = np.zeros(classes, dtype=np.int64)
        self._train_value_counts = {
            a.name: np.zeros(len(a.values), dtype=np.int64) for a in self.attributes
        }
        self._gt_boxes: list[list[np.ndarray]] = [[] for _ in range(classes)]
        self._detections: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(classes)]
        self._attribute_hits = dict.fromkeys((a.name for a in self.attributes), 0)
        self._attribute_matched = dict.fromkeys((a.name for a in self.attributes), 0)
        self._gt_values: dict[str, list[np.ndarray]] = {a.name: [] for a in self.attributes}

    def observe_training_sample(self, sample: Sample) -> None:
        if sample.boxes is None:
            return
        for channel, category in enumerate(self.category_indices):
            rows = sample.category == category
            self._train_box_sums[channel] += sample.boxes[rows].astype(np.float64).sum(axis=0)
            self._train_box_counts[channel] += int(rows.sum())
            for attribute in self.attributes:
                values = _known_values(sample, attribute, rows)
                self._train_value_counts[attribute.name] += np.bincount(
                    values, minlength=len(attribute.values)
                )

    def update(self, decoded: dict[str, np.ndarray], samples: list[Sample]) -> None:
        for row, sample in enumerate(samples):
            if sample.boxes is None:
                continue
            for channel, category in enumerate(self.category_indices):
                gt_rows = sample.category == category
                gt_boxes = sample.boxes[gt_rows]
                chosen = decoded["classes"][row] == channel
                boxes = decoded["boxes"][row][chosen]
                scores = decoded["scores"][row][chosen]
                self._gt_boxes[channel].append(gt_boxes)
                self._detections[channel].append((boxes, scores))
                if not self.attributes:
                    continue
                matches = greedy_match(boxes, scores, gt_boxes, self.iou_threshold)
                for attribute in self.attributes:
                    truth = _attribute_labels(sample, attribute, gt_rows)
                    self._gt_values[attribute.name].append(truth[truth >= 0])
                    matched = matches >= 0
                    known = truth[matches[matched]] >= 0
                    predicted = decoded[attribute.name][row][chosen][matched][known]
                    self._attribute_matched[attribute.name] += int(known.sum())
                    self._attribute_hits[attribute.name] += int(
                        (predicted == truth[matches[matched]][known]).sum()
                    )

    def compute(self) -> dict[str, dict[str, float]]:
        model = self._box_metrics(self._detections)
        baseline = self._box_metrics(self._baseline_detections())
        for attribute in self.attributes:
            name = attribute.name
            matched = self._attribute_matched[name]
            model[f"{name}_accuracy"] = (
                self._attribute_hits[name] / matched if matched else math.nan
            )
            baseline[f"{name}_accuracy"] = self._majority_accuracy(name)
        return {"model": model, "baseline": baseline}

    def _box_metrics(
        self, detections: list[list[tuple[np.ndarray, np.ndarray]]]
    ) -> dict[str, float]:
        results = [
            coco_box_ap(self._gt_boxes[channel], detections[channel], self.max_detections)
            for channel in range(len(self.category_indices))
        ]
        return {
            "AP": _mean_ignoring_nan([result.ap for result in results]),
            "AP50": _mean_ignoring_nan([result.ap50 for result in results]),
        }

    def _baseline_detections(self) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        detections = []
        for channel, images in enumerate(self._gt_boxes):
            count = self._train_box_counts[channel]
            if count:
                box = (self._train_box_sums[channel] / count).reshape(1, 4)
                guess = (box, np.ones(1))
            else:
                guess = (np.zeros((0, 4)), np.zeros(0))
            detections.append([guess] * len(images))
        return detections

    def _majority_accuracy(self, name: str) -> float:
        counts = self._train_value_counts[name]
        values = self._gt_values[name]
        truth = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
        if counts.sum() == 0 or truth.size == 0:
            return math.nan
        return float((truth == int(np.argmax(counts))).mean())


def _attribute_labels(sample: Sample, attribute: BoxAttribute, rows: np.ndarray) -> np.ndarray:
    """The attribute's labels of the selected boxes, ``-1`` where unknown or out of range."""
    labels = getattr(sample, attribute.sample_field)
    if labels is None:
        return np.full(int(rows.sum()), -1, dtype=np.int64)
    selected = np.asarray(labels, dtype=np.int64)[rows]
    return np.where((selected >= 0) & (selected < len(attribute.values)), selected, -1)


def _known_values(sample: Sample, attribute: BoxAttribute, rows: np.ndarray) -> np.ndarray:
    labels = _attribute_labels(sample, attribute, rows)
    return labels[labels >= 0]


def _mean_ignoring_nan(values: list[float]) -> float:
    finite = [value for value in values if not math.isnan(value)]
    return float(np.mean(finite)) if finite else math.nan
