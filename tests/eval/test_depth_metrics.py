"""Depth metrics (AbsRel, RMSE, delta1) and the per-row mean-depth baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perception.data.sample import Sample
from perception.eval.depth_metrics import DepthEvaluator


def _sample(depth: np.ndarray | None, height: int = 2, width: int = 3) -> Sample:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    return Sample(image=image, depth=None if depth is None else depth.astype(np.float32))


def _decoded(*maps: np.ndarray) -> dict[str, np.ndarray]:
    return {"map": np.stack([m[None] for m in maps]).astype(np.float32)}


def test_hand_computed_case_with_unknown_capped_and_clamped_pixels() -> None:
    truth = np.array([[2.0, 4.0, 0.0], [10.0, 200.0, 1.0]])
    prediction = np.array([[2.2, 3.0, 5.0], [10.0, 90.0, 0.1]])
    evaluator = DepthEvaluator((2, 3), min_depth=0.5, max_depth=100.0)
    evaluator.update(_decoded(prediction), [_sample(truth)])
    metrics = evaluator.compute()["model"]
    # valid pixels: (2.2 vs 2), (3 vs 4), (10 vs 10), (90 vs 200 capped to 100), (0.1 -> 0.5 vs 1)
    pairs = [(2.2, 2.0), (3.0, 4.0), (10.0, 10.0), (90.0, 100.0), (0.5, 1.0)]
    assert metrics["abs_rel"] == pytest.approx(sum(abs(p - g) / g for p, g in pairs) / 5)
    assert metrics["rmse"] == pytest.approx(math.sqrt(sum((p - g) ** 2 for p, g in pairs) / 5))
    assert metrics["delta1"] == pytest.approx(sum(max(p / g, g / p) < 1.25 for p, g in pairs) / 5)


def test_pixels_are_pooled_over_the_split_not_averaged_per_image() -> None:
    evaluator = DepthEvaluator((2, 3), min_depth=0.5, max_depth=100.0)
    one_pixel = np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    five_pixels = np.array([[10.0, 20.0, 0.0], [30.0, 40.0, 50.0]])
    evaluator.update(
        _decoded(np.full((2, 3), 15.0), five_pixels), [_sample(one_pixel), _sample(five_pixels)]
    )
    metrics = evaluator.compute()["model"]
    # six valid pixels; only the first image's single pixel is wrong, by 5 m on 10 m
    assert metrics["abs_rel"] == pytest.approx(0.5 / 6)
    assert metrics["rmse"] == pytest.approx(math.sqrt(25.0 / 6))
    assert metrics["delta1"] == pytest.approx(5 / 6)


def test_samples_without_depth_are_skipped_and_nothing_gives_nan() -> None:
    evaluator = DepthEvaluator((2, 3), min_depth=0.5, max_depth=100.0)
    evaluator.update(_decoded(np.ones((2, 3))), [_sample(None)])
    result = evaluator.compute()
    assert all(math.isnan(value) for value in result["model"].values())
    assert all(math.isnan(value) for value in result["baseline"].values())


def test_baseline_is_the_training_mean_per_row_with_global_fallback() -> None:
    evaluator = DepthEvaluator((3, 2), min_depth=0.5, max_depth=100.0)
    first = np.array([[4.0, 0.0], [10.0, 20.0], [0.0, 0.0]])
    second = np.array([[8.0, 0.0], [30.0, 0.0], [0.0, 0.0]])
    evaluator.observe_training_sample(_sample(first, 3, 2))
    evaluator.observe_training_sample(_sample(second, 3, 2))
    evaluator.observe_training_sample(_sample(None, 3, 2))
    rows = evaluator.baseline_rows()
    assert rows is not None
    global_mean = (4 + 10 + 20 + 8 + 30) / 5
    np.testing.assert_allclose(rows, [(4 + 8) / 2, (10 + 20 + 30) / 3, global_mean])

    truth = np.array([[5.0, 7.0], [20.0, 0.0], [15.0, 12.0]])
    evaluator.update(_decoded(truth), [_sample(truth, 3, 2)])
    result = evaluator.compute()
    assert result["model"]["abs_rel"] == 0.0
    pairs = [(6.0, 5.0), (6.0, 7.0), (20.0, 20.0), (global_mean, 15.0), (global_mean, 12.0)]
    assert result["baseline"]["abs_rel"] == pytest.approx(
        sum(abs(p - g) / g for p, g in pairs) / len(pairs)
    )
    assert result["baseline"]["rmse"] == pytest.approx(
        math.sqrt(sum((p - g) ** 2 for p, g in pairs) / len(pairs))
    )


def test_training_samples_of_another_size_are_letterboxed_first() -> None:
    evaluator = DepthEvaluator((4, 6), min_depth=0.5, max_depth=100.0)
    small = np.array([[5.0, 5.0, 5.0], [9.0, 9.0, 9.0]])
    evaluator.observe_training_sample(_sample(small, 2, 3))
    rows = evaluator.baseline_rows()
    assert rows is not None
    np.testing.assert_allclose(rows, [5.0, 5.0, 9.0, 9.0])


def test_no_baseline_before_training_samples() -> None:
    evaluator = DepthEvaluator((2, 3), min_depth=0.5, max_depth=100.0)
    truth = np.full((2, 3), 10.0)
    evaluator.update(_decoded(truth), [_sample(truth)])
    result = evaluator.compute()
    assert result["model"]["delta1"] == 1.0
    assert math.isnan(result["baseline"]["rmse"])


def test_rejects_a_prediction_of_the_wrong_size() -> None:
    evaluator = DepthEvaluator((2, 3), min_depth=0.5, max_depth=100.0)
    with pytest.raises(ValueError, match="letterboxed"):
        evaluator.update(_decoded(np.ones((4, 6))), [_sample(np.ones((2, 3)))])
    with pytest.raises(ValueError, match="min_depth"):
        DepthEvaluator((2, 3), min_depth=10.0, max_depth=5.0)
