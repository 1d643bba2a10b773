"""Dense depth metrics (AbsRel, RMSE, delta < 1.25) and the per-row mean-depth baseline.

Metrics are pooled per pixel over the whole split, not averaged per image: every valid pixel of
every image counts once, so an image with more labelled pixels weighs more. A pixel is valid when
its ground truth is ``> 0``; ground truth is capped at ``max_depth`` and predictions are clamped
to ``[min_depth, max_depth]`` before comparing (the range the depth head can express)::

    AbsRel = 1/N sum |p - g| / g
    RMSE   = sqrt(1/N sum (p - g)^2)                        (metres)
    delta1 = 1/N #{max(p / g, g / p) < 1.25}

The baseline needs no model: for every image row, the mean valid ground-truth depth of that row
over the training samples the evaluator observed (rows that never had a valid pixel use the mean
over all observed pixels). Ground truth is fixed per camera row on a flat road, so this is the
"flat world" prior a model has to beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.data.letterbox import letterbox
from perception.data.sample import Sample
from perception.model.task_head import TaskEvaluator

DEPTH_METRIC_DIRECTIONS: dict[str, str] = {"abs_rel": "lower", "rmse": "lower", "delta1": "higher"}
"""Metric name -> which way is better."""

DELTA1_THRESHOLD = 1.25
"""``delta1`` counts pixels whose ratio to the ground truth (either way) is below this."""


@dataclass
class DepthErrorSums:
    """Running per-pixel sums over a split; :meth:`metrics` turns them into the three metrics."""

    pixels: int = 0
    relative_error: float = 0.0
    squared_error: float = 0.0
    within_delta1: int = 0

    def add(self, prediction: np.ndarray, ground_truth: np.ndarray) -> None:
        """Add the valid pixels of one image; both arrays ``(H, W)`` in metres, already capped
        and clamped (``ground_truth`` 0 = unknown)."""
        valid = ground_truth > 0
        pred = prediction[valid].astype(np.float64)
        true = ground_truth[valid].astype(np.float64)
        self.pixels += int(valid.sum())
        self.relative_error += float((np.abs(pred - true) / true).sum())
        self.squared_error += float(((pred - true) ** 2).sum())
        self.within_delta1 += int((np.maximum(pred / true, true / pred) < DELTA1_THRESHOLD).sum())

    def metrics(self) -> dict[str, float]:
        """``{"abs_rel", "rmse", "delta1"}``; NaN when no valid pixel was added."""
        if self.pixels == 0:
            return dict.fromkeys(DEPTH_METRIC_DIRECTIONS, float("nan"))
        return {
            "abs_rel": self.relative_error / self.pixels,
            "rmse": float(np.sqrt(self.squared_error / self.pixels)),
            "delta1": self.within_delta1 / self.pixels,
        }


class DepthEvaluator(TaskEvaluator):
    """Evaluates ``decoded["map"] (B, 1, H, W)`` metres against the samples' depth.

    Args:
        input_size: ``(H, W)`` of the letterboxed network input; observed training samples of
            another size are letterboxed to it first.
        min_depth, max_depth: the clamp range of predictions and the cap of ground truth.
    """

    def __init__(self, input_size: tuple[int, int], min_depth: float, max_depth: float) -> None:
        if not 0 < min_depth < max_depth:
            raise ValueError(f"need 0 < min_depth < max_depth, got {min_depth}, {max_depth}")
        self.input_size = input_size
        self.min_depth = min_depth
        self.max_depth = max_depth
        self.model_sums = DepthErrorSums()
        self.baseline_sums = DepthErrorSums()
        self.row_sums = np.zeros(input_size[0], dtype=np.float64)
        self.row_counts = np.zeros(input_size[0], dtype=np.int64)

    def observe_training_sample(self, sample: Sample) -> None:
        if sample.depth is None:
            return
        if (sample.height, sample.width) != self.input_size:
            sample = letterbox(sample, *self.input_size)
        assert sample.depth is not None
        depth = self._cap(sample.depth)
        valid = depth > 0
        self.row_sums += np.where(valid, depth, 0.0).sum(axis=1)
        self.row_counts += valid.sum(axis=1)

    def baseline_rows(self) -> np.ndarray | None:
        """``(H,)`` mean training depth per row (global mean where a row had no data), or
        ``None`` before any training pixel was observed."""
        total = int(self.row_counts.sum())
        if total == 0:
            return None
        global_mean = self.row_sums.sum() / total
        rows = np.full(self.input_size[0], global_mean)
        seen = self.row_counts > 0
        rows[seen] = self.row_sums[seen] / self.row_counts[seen]
        return rows

    def update(self, decoded: dict[str, np.ndarray], samples: list[Sample]) -> None:
        depth_maps = decoded["map"]
        if depth_maps.shape[0] != len(samples) or depth_maps.shape[1] != 1:
            raise ValueError(
                f"decoded map must be (B, 1, H, W) with B = {len(samples)}, got {depth_maps.shape}"
            )
        rows = self.baseline_rows()
        for depth_map, sample in zip(depth_maps, samples, strict=True):
            if sample.depth is None:
                continue
            if sample.depth.shape != depth_map.shape[1:]:
                raise ValueError(
                    f"sample {sample.image_id!r}: depth {sample.depth.shape} does not match the "
                    f"prediction {depth_map.shape[1:]}; evaluate letterboxed samples"
                )
            truth = self._cap(sample.depth)
            self.model_sums.add(self._clamp(depth_map[0]), truth)
            if rows is not None:
                baseline = np.broadcast_to(rows[:, None], truth.shape)
                self.baseline_sums.add(self._clamp(baseline), truth)

    def compute(self) -> dict[str, dict[str, float]]:
        return {"model": self.model_sums.metrics(), "baseline": self.baseline_sums.metrics()}

    def _cap(self, depth: np.ndarray) -> np.ndarray:
        return np.minimum(depth, self.max_depth)

    def _clamp(self, depth: np.ndarray) -> np.ndarray:
        return np.clip(depth, self.min_depth, self.max_depth)
