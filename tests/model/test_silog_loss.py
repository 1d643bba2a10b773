"""The scale-invariant log (SILog) depth loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from perception.model.silog_loss import silog_loss


def _depth_pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 4x5 images: a target in [1, 50] m with a few unknown (0) pixels, and a noisy guess."""
    generator = torch.Generator().manual_seed(seed)
    target = 1.0 + 49.0 * torch.rand(2, 4, 5, generator=generator)
    target[0, 0, :2] = 0.0
    target[1, 3, 4] = 0.0
    noise = torch.exp(0.3 * torch.randn(2, 4, 5, generator=generator))
    guess = torch.where(target > 0, target, 20.0) * noise
    return guess, target


def test_matches_eigens_formula_per_image_averaged() -> None:
    guess, target = _depth_pair()
    loss = silog_loss(torch.log(guess), target, torch.ones(2, dtype=torch.bool))
    expected = []
    for image in range(2):
        valid = target[image] > 0
        d = (torch.log(guess[image][valid]) - torch.log(target[image][valid])).double().numpy()
        n = d.size
        spread = (d**2).sum() / n - 0.85 * d.sum() ** 2 / n**2
        expected.append(10.0 * math.sqrt(spread))
    assert loss.item() == pytest.approx(float(np.mean(expected)), rel=1e-4)


def test_zero_with_finite_gradient_for_a_perfect_prediction() -> None:
    _, target = _depth_pair()
    log_depth = torch.log(target.clamp(min=1.0)).requires_grad_()
    loss = silog_loss(log_depth, target, torch.ones(2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-4)
    assert log_depth.grad is not None and torch.isfinite(log_depth.grad).all()


def test_blind_to_a_global_scale_when_lambda_is_one() -> None:
    guess, target = _depth_pair()
    labelled = torch.ones(2, dtype=torch.bool)
    base = silog_loss(torch.log(guess), target, labelled, variance_focus=1.0)
    scaled = silog_loss(torch.log(guess * 3.0), target, labelled, variance_focus=1.0)
    assert scaled.item() == pytest.approx(base.item(), rel=1e-4)
    # with the default lambda a wrong absolute scale does cost something
    assert silog_loss(torch.log(guess * 3.0), target, labelled) > silog_loss(
        torch.log(guess), target, labelled
    )


def test_unknown_pixels_and_unlabelled_images_are_ignored() -> None:
    guess, target = _depth_pair()
    labelled = torch.tensor([True, False])
    reference = silog_loss(torch.log(guess), target, labelled)
    changed = guess.clone()
    changed[1] = 1000.0  # the unlabelled image
    changed[0, 0, :2] = 1000.0  # unknown pixels of the labelled one
    assert silog_loss(torch.log(changed), target, labelled).item() == pytest.approx(
        reference.item(), rel=1e-6
    )
    only_first = silog_loss(torch.log(guess[:1]), target[:1], torch.ones(1, dtype=torch.bool))
    assert reference.item() == pytest.approx(only_first.item(), rel=1e-6)


def test_exact_zero_that_still_backpropagates_without_labels() -> None:
    guess, target = _depth_pair()
    log_depth = torch.log(guess).requires_grad_()
    loss = silog_loss(log_depth, target, torch.zeros(2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    assert log_depth.grad is not None and torch.equal(log_depth.grad, torch.zeros_like(guess))


def test_gradient_flows_to_labelled_pixels() -> None:
    guess, target = _depth_pair()
    log_depth = torch.log(guess).requires_grad_()
    loss = silog_loss(log_depth, target, torch.tensor([True, False]))
    loss.backward()
    assert log_depth.grad is not None and torch.isfinite(log_depth.grad).all()
    assert log_depth.grad[0].abs().sum() > 0
    assert torch.equal(log_depth.grad[1], torch.zeros_like(guess[1]))


def test_rejects_mismatched_shapes() -> None:
    guess, target = _depth_pair()
    with pytest.raises(ValueError, match="must both be"):
        silog_loss(torch.log(guess), target[:, :3], torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="labelled"):
        silog_loss(torch.log(guess), target, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="variance_focus"):
        silog_loss(torch.log(guess), target, torch.ones(2, dtype=torch.bool), variance_focus=2.0)
