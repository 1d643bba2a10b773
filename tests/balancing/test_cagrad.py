"""CAGrad's update lifts the worst task's improvement as far as its ball around g0 allows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from perception_driving.balancers.cagrad import (
    SUMMARY,
    CAGrad,
    build_cagrad,
    cagrad_direction,
    cagrad_task_weights,
)
from torch import nn

from perception.errors import ConfigError

# Task "b" conflicts with the larger "a" so much that the mean gradient makes "b" worse.
CONFLICT = torch.tensor([[4.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)


def unscaled(direction: torch.Tensor, c: float) -> torch.Tensor:
    """Undo the ``1 / (1 + c^2)`` rescaling, giving the ``d`` of the paper's primal problem."""
    return direction * (1 + c**2)


def best_worst_case_by_search(gradients: torch.Tensor, c: float) -> float:
    """``max_{||d - g0|| <= c ||g0||} min_i g_i . d`` for 2-D gradients, by a dense search over
    the ball's boundary (where the maximum of this concave function lies when it improves)."""
    mean = gradients.mean(dim=0)
    angles = torch.linspace(0, 2 * math.pi, 200_001, dtype=torch.float64)
    boundary = mean + c * mean.norm() * torch.stack([angles.cos(), angles.sin()], dim=1)
    return float((boundary @ gradients.T).min(dim=1).values.max())


def test_the_direction_reaches_the_best_worst_task_improvement_in_the_ball() -> None:
    c = 0.4
    direction, coefficients = cagrad_direction(CONFLICT, c)
    d = unscaled(direction, c)
    mean = CONFLICT.mean(dim=0)
    worst_of_mean = float((CONFLICT @ mean).min())
    worst_of_d = float((CONFLICT @ d).min())
    assert worst_of_mean < 0
    assert worst_of_d > worst_of_mean + 0.5
    assert worst_of_d == pytest.approx(best_worst_case_by_search(CONFLICT, c), abs=1e-4)
    assert float((d - mean).norm()) <= c * float(mean.norm()) + 1e-9
    assert torch.allclose(coefficients @ CONFLICT, direction)


def test_a_wider_ball_improves_every_task_where_the_mean_does_not() -> None:
    direction, _ = cagrad_direction(CONFLICT, 0.8)
    assert float((CONFLICT @ direction).min()) > 0
    assert float((CONFLICT @ CONFLICT.mean(dim=0)).min()) < 0


def test_c_zero_gives_the_mean_gradient() -> None:
    direction, coefficients = cagrad_direction(CONFLICT, 0.0)
    assert torch.allclose(direction, CONFLICT.mean(dim=0))
    assert coefficients.tolist() == pytest.approx([0.5, 0.5])


def test_the_dual_solver_matches_a_grid_search_for_three_tasks() -> None:
    gradients = np.array([[3.0, 0.0, 0.5], [-1.0, 1.0, 0.0], [-0.5, -0.8, 2.0]])
    gram = gradients @ gradients.T
    c = 0.4
    radius = c * math.sqrt(gram.mean())

    def dual(w: np.ndarray) -> np.ndarray:
        """``F`` for ``(N, 3)`` simplex points."""
        quadratic = np.einsum("ni,ij,nj->n", w, gram, w)
        return w @ gram.mean(axis=1) + radius * np.sqrt(np.maximum(quadratic, 0.0))

    steps = np.linspace(0, 1, 401)
    first, second = np.meshgrid(steps, steps)
    inside = first + second <= 1
    grid = np.stack([first[inside], second[inside], 1 - first[inside] - second[inside]], axis=1)
    solved = cagrad_task_weights(gram, c)
    assert solved.min() >= 0 and solved.sum() == pytest.approx(1.0)
    assert dual(solved[None])[0] <= dual(grid).min() + 1e-9


def test_zero_gradients_give_a_zero_update_without_nan() -> None:
    direction, coefficients = cagrad_direction(torch.zeros(3, 5), 0.4)
    assert torch.equal(direction, torch.zeros(5))
    assert torch.isfinite(coefficients).all()


class LinearTasks(nn.Module):
    """``L_i = head_i * (W . v_i)``: the gradient on the shared ``W`` is ``head_i * v_i``."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.tensor([0.3, -0.7]))
        self.heads = nn.Parameter(torch.ones(2))

    def losses(self) -> dict[str, torch.Tensor]:
        directions = CONFLICT.float()
        return {name: self.heads[i] * (self.shared @ directions[i]) for i, name in enumerate("ab")}


def test_backward_writes_the_cagrad_update_and_fills_the_heads() -> None:
    model = LinearTasks()
    balancer = build_cagrad(["a", "b"])
    weights = balancer.backward(model.losses(), [model.shared])
    combination = torch.tensor([weights["a"], weights["b"]]) @ CONFLICT.float()
    assert torch.allclose(model.shared.grad, combination)
    assert float((CONFLICT.float() @ model.shared.grad).min()) > float(
        (CONFLICT.float() @ CONFLICT.float().mean(dim=0)).min()
    )
    assert torch.allclose(model.heads.grad, CONFLICT.float() @ model.shared.detach())
    assert balancer.state_dict() == {}  # stateless: nothing to restore on resume


def test_factory_validates_options() -> None:
    assert CAGrad.needs_task_gradients and CAGrad.gradient_scope == "all"
    assert SUMMARY
    assert build_cagrad(["a", "b"], c=0.5).describe()["c"] == 0.5
    with pytest.raises(ConfigError, match=r"cagrad.*'alpha'"):
        build_cagrad(["a", "b"], alpha=0.5)
    with pytest.raises(ConfigError, match="'c'"):
        build_cagrad(["a", "b"], c=-0.1)
