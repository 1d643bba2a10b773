"""Convergence diagnostics: loss ratios, inverse training rates, gradient norms and conflicts."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from perception.balancing.diagnostics import (
    ConvergenceDiagnostics,
    conflict_statistics,
    cosine_matrix,
    diagnostic_columns,
    inverse_training_rates,
    loss_ratios,
)

ALL = torch.tensor([True, True])


def test_opposite_gradients_have_cosine_minus_one_and_all_pairs_conflict() -> None:
    gradients = torch.tensor([[1.0, 2.0, -3.0], [-2.0, -4.0, 6.0]])
    cosines = cosine_matrix(gradients, ALL)
    assert cosines[0, 1].item() == pytest.approx(-1.0)
    assert cosines[0, 0].item() == pytest.approx(1.0)
    mean, conflicts = conflict_statistics(cosines)
    assert mean == pytest.approx(-1.0)
    assert conflicts == 1.0


def test_orthogonal_gradients_have_cosine_zero_and_do_not_conflict() -> None:
    cosines = cosine_matrix(torch.tensor([[3.0, 0.0], [0.0, 0.5]]), ALL)
    assert cosines[0, 1].item() == pytest.approx(0.0, abs=1e-12)
    mean, conflicts = conflict_statistics(cosines)
    assert mean == pytest.approx(0.0, abs=1e-12)
    assert conflicts == 0.0


def test_inactive_and_zero_gradient_tasks_are_left_out_of_every_pair() -> None:
    gradients = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [5.0, 5.0], [0.0, 0.0]])
    cosines = cosine_matrix(gradients, torch.tensor([True, True, False, True]))
    for left_out in (2, 3):
        assert torch.isnan(cosines[left_out]).all() and torch.isnan(cosines[:, left_out]).all()
    # Only the pair (0, 1) remains: cos = -1/sqrt(2), which conflicts.
    mean, conflicts = conflict_statistics(cosines)
    assert mean == pytest.approx(-1.0 / math.sqrt(2.0))
    assert conflicts == 1.0
    assert all(math.isnan(v) for v in conflict_statistics(cosine_matrix(gradients[:1], ALL[:1])))


def test_cosine_matrix_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(T, P\)"):
        cosine_matrix(torch.ones(2, 3), torch.tensor([True, True, True]))


def test_loss_ratios_and_inverse_rates_follow_their_definitions() -> None:
    ratios = loss_ratios({"a": 1.0, "b": 3.0, "c": 0.0, "d": 2.0}, {"a": 4.0, "b": 2.0, "c": 5.0})
    assert ratios["a"] == 0.25 and ratios["b"] == 1.5
    assert math.isnan(ratios["c"])  # no labels this step
    assert math.isnan(ratios["d"])  # no positive L(0) yet
    rates = inverse_training_rates(ratios)
    mean = (0.25 + 1.5) / 2
    assert rates["a"] == pytest.approx(0.25 / mean) and rates["b"] == pytest.approx(1.5 / mean)
    assert rates["b"] > 1.0 > rates["a"]  # b's loss falls slower: it lags
    assert math.isnan(rates["c"]) and math.isnan(rates["d"])
    assert all(math.isnan(v) for v in inverse_training_rates({"a": math.nan}).values())


class SharedVector(nn.Module):
    """``L_i = ||W - target_i||^2`` on a shared ``(2,)`` parameter ``W`` starting at 0, so
    ``dL_i/dW = -2 target_i``."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.zeros(2))

    def losses(self, targets: dict[str, tuple[float, float]]) -> dict[str, torch.Tensor]:
        return {
            name: (self.shared - torch.tensor(target)).square().sum()
            for name, target in targets.items()
        }


def test_measure_reports_norms_cosines_ratios_and_keeps_the_graph() -> None:
    model = SharedVector()
    diagnostics = ConvergenceDiagnostics(["a", "b", "c"])
    first = model.losses({"a": (1.0, 0.0), "b": (-2.0, 0.0), "c": (0.0, 1.0)})
    diagnostics.observe(first)  # L(0): a = 1, b = 4, c = 1
    losses = model.losses({"a": (1.0, 0.0), "b": (-1.0, 0.0)})
    losses["c"] = model.shared.sum() * 0.0  # an unlabelled batch: exactly zero
    measured = diagnostics.measure(7, losses, [model.shared])

    assert measured.step == 7
    assert measured.gradient_norms["a"] == pytest.approx(2.0)
    assert measured.gradient_norms["b"] == pytest.approx(2.0)
    assert measured.cosines[0, 1].item() == pytest.approx(-1.0)
    assert measured.mean_cosine == pytest.approx(-1.0) and measured.conflict_fraction == 1.0
    assert measured.ratios["a"] == pytest.approx(1.0) and measured.ratios["b"] == 0.25
    assert measured.inverse_rates["a"] == pytest.approx(1.0 / 0.625)
    assert math.isnan(measured.ratios["c"]) and math.isnan(measured.gradient_norms["c"])

    row = measured.row()
    assert list(row) == diagnostic_columns(["a", "b", "c"])
    assert row["grad_norm/b"] == measured.gradient_norms["b"]
    record = measured.record()
    assert record["cosines"][0][1] == pytest.approx(-1.0) and record["step"] == 7

    # The graph is still alive for the balancer's backward, and no .grad was written.
    assert model.shared.grad is None
    sum(losses.values()).backward()
    assert torch.allclose(model.shared.grad, torch.tensor([0.0, 0.0]))


def test_initial_losses_come_from_the_first_positive_loss_or_from_a_resumed_record() -> None:
    model = SharedVector()
    diagnostics = ConvergenceDiagnostics(["a", "b"])
    unlabelled = {"a": model.shared.sum() * 0.0, **model.losses({"b": (0.0, 3.0)})}
    diagnostics.observe(unlabelled)
    assert diagnostics.initial_losses == {"b": 9.0}
    diagnostics.observe(model.losses({"a": (2.0, 0.0), "b": (0.0, 1.0)}))
    assert diagnostics.initial_losses == {"a": 4.0, "b": 9.0}

    resumed = ConvergenceDiagnostics(["a", "b"], {"a": 4.0, "b": None, "gone": 1.0})
    assert resumed.initial_losses == {"a": 4.0}
