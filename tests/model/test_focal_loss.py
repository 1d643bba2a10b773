"""The penalty-reduced focal loss of CenterNet heatmaps."""

from __future__ import annotations

import math

import pytest
import torch

from perception.model.focal_loss import centernet_focal_loss


def _target() -> torch.Tensor:
    """One image, two classes, 4x5 cells: one peak per class with a softer neighbour."""
    target = torch.zeros(1, 2, 4, 5)
    target[0, 0, 1, 1] = 1.0
    target[0, 0, 1, 2] = 0.6
    target[0, 1, 3, 4] = 1.0
    return target


def test_matches_the_papers_formula_on_two_cells() -> None:
    logits = torch.tensor([[[[0.5, -1.0]]]])
    target = torch.tensor([[[[1.0, 0.5]]]])
    p_pos, p_neg = 1 / (1 + math.exp(-0.5)), 1 / (1 + math.exp(1.0))
    positive = (1 - p_pos) ** 2 * math.log(p_pos)
    negative = (1 - 0.5) ** 4 * p_neg**2 * math.log(1 - p_neg)
    loss = centernet_focal_loss(logits, target, torch.ones(1))
    assert loss.item() == pytest.approx(-(positive + negative), rel=1e-5)


def test_good_predictions_cost_less_than_bad_ones() -> None:
    target = _target()
    good = torch.where(target >= 1.0, 6.0, -6.0)
    assert centernet_focal_loss(good, target, torch.ones(1)) < 0.01
    assert centernet_focal_loss(-good, target, torch.ones(1)) > 10.0


def test_normalised_by_the_number_of_peaks() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 4, 5)
    target = _target()
    single = centernet_focal_loss(logits, target, torch.ones(1))
    doubled = centernet_focal_loss(
        logits.repeat(2, 1, 1, 1), target.repeat(2, 1, 1, 1), torch.ones(2)
    )
    assert doubled.item() == pytest.approx(single.item(), rel=1e-5)


def test_zero_weight_samples_are_ignored() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 4, 5)
    target = torch.cat([_target(), torch.zeros(1, 2, 4, 5)])
    alone = centernet_focal_loss(logits[:1], target[:1], torch.ones(1))
    masked = centernet_focal_loss(logits, target, torch.tensor([1.0, 0.0]))
    assert masked.item() == pytest.approx(alone.item(), rel=1e-6)


def test_without_peaks_the_sum_is_not_divided_by_zero() -> None:
    logits = torch.full((1, 1, 3, 3), -1.0, requires_grad=True)
    loss = centernet_focal_loss(logits, torch.zeros(1, 1, 3, 3), torch.ones(1))
    p = 1 / (1 + math.exp(1.0))
    assert loss.item() == pytest.approx(-9 * p**2 * math.log(1 - p), rel=1e-5)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_extreme_logits_stay_finite() -> None:
    logits = torch.tensor([[[[200.0, -200.0]]]], requires_grad=True)
    loss = centernet_focal_loss(logits, torch.tensor([[[[0.0, 1.0]]]]), torch.ones(1))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="differ"):
        centernet_focal_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3), torch.ones(1))
