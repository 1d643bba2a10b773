"""DB-MTL makes loss scale irrelevant and gives every task's gradient the same magnitude."""

from __future__ import annotations

import math

import pytest
import torch
from perception_driving.balancers.db_mtl import SUMMARY, DualBalancing, build_db_mtl
from torch import nn

from perception.errors import ConfigError


class DistanceTasks(nn.Module):
    """``L_i = head_i^2 * ||W - c_i||^2`` on a shared ``W`` starting at the origin.

    ``grad_W log L_i = 2 (W - c_i) / ||W - c_i||^2`` has norm ``2 / ||W - c_i||``: the far
    target ``(0, 100)`` gives task "far" a log-loss gradient 100 times smaller than the near
    target ``(1, 0)`` gives task "near", and the two point along orthogonal axes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.zeros(2))
        self.heads = nn.ParameterDict({name: nn.Parameter(torch.tensor(1.0)) for name in TARGETS})

    def losses(self, scales: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
        scales = scales or {}
        return {
            name: scales.get(name, 1.0)
            * self.heads[name].square()
            * (self.shared - target).square().sum()
            for name, target in TARGETS.items()
        }


TARGETS = {"near": torch.tensor([1.0, 0.0]), "far": torch.tensor([0.0, 100.0])}


def step(balancer: DualBalancing, model: DistanceTasks, **scales: float) -> dict[str, float]:
    model.zero_grad(set_to_none=True)
    return balancer.backward(model.losses(scales), [model.shared])


def test_task_contributions_have_equal_norms_when_raw_norms_differ_100x() -> None:
    balancer, model = build_db_mtl(["near", "far"], beta=0.9), DistanceTasks()
    weights = step(balancer, model)
    # "near" pulls along -x with log-gradient norm 2, "far" along -y with norm 0.02.
    near, far = model.shared.grad.abs().tolist()
    assert near == pytest.approx(far, rel=1e-5)
    # Both are scaled to the larger moving average: (1 - beta_1) * 2 with beta_1 = beta = 0.9.
    assert near == pytest.approx(0.1 * 2.0, rel=1e-5)
    assert weights["near"] == pytest.approx(1.0)
    assert weights["far"] == pytest.approx(100.0, rel=1e-4)


def test_the_scale_of_a_loss_does_not_change_the_update() -> None:
    plain, plain_model = build_db_mtl(["near", "far"]), DistanceTasks()
    step(plain, plain_model)
    scaled, scaled_model = build_db_mtl(["near", "far"]), DistanceTasks()
    step(scaled, scaled_model, far=1000.0)
    assert torch.allclose(plain_model.shared.grad, scaled_model.shared.grad)
    # The heads get the gradient of sum_i log L_i: d/dh log(h^2 ...) = 2 / h = 2.
    for name in TARGETS:
        assert scaled_model.heads[name].grad.item() == pytest.approx(2.0, rel=1e-6)


def test_moving_averages_follow_the_decaying_beta() -> None:
    balancer, model = build_db_mtl(["near", "far"], beta=0.9, beta_sigma=0.5), DistanceTasks()
    step(balancer, model)
    first = balancer.gradient_averages.clone()
    with torch.no_grad():
        model.shared.copy_(torch.tensor([0.5, 0.0]))  # "near" is now at distance 0.5
    step(balancer, model)
    beta_2 = 0.9 / math.sqrt(2)
    gradient_near = torch.tensor([-2 / 0.5, 0.0])  # 2 (W - c) / ||W - c||^2
    expected = beta_2 * first[0] + (1 - beta_2) * gradient_near
    assert torch.allclose(balancer.gradient_averages[0], expected)
    assert int(balancer.steps) == 2


def test_a_task_without_labels_keeps_its_average_and_sits_out_the_step() -> None:
    balancer, model = build_db_mtl(["near", "far"]), DistanceTasks()
    step(balancer, model)
    before = balancer.gradient_averages.clone()
    weights = step(balancer, model, far=0.0)
    assert weights["far"] == 0.0
    assert torch.equal(balancer.gradient_averages[1], before[1])
    assert torch.isfinite(model.shared.grad).all()
    assert model.shared.grad[1].item() == 0.0  # only "near" (along x) contributes
    assert all(torch.isfinite(head.grad) for head in model.heads.values())


def test_state_dict_round_trip_restores_the_averages_of_unknown_size() -> None:
    trained, model = build_db_mtl(["near", "far"]), DistanceTasks()
    for _ in range(3):
        step(trained, model)
    resumed = build_db_mtl(["near", "far"])
    resumed.load_state_dict(trained.state_dict())
    assert resumed.gradient_averages.shape == (2, 2)
    grads = []
    for balancer in (trained, resumed):
        step(balancer, model)
        grads.append(model.shared.grad.clone())
    assert torch.equal(grads[0], grads[1])


def test_factory_validates_options() -> None:
    assert DualBalancing.needs_task_gradients and DualBalancing.gradient_scope == "all"
    assert SUMMARY
    with pytest.raises(ConfigError, match=r"db_mtl.*'betta'.*did you mean 'beta'"):
        build_db_mtl(["a", "b"], betta=0.5)
    with pytest.raises(ConfigError, match="'beta'"):
        build_db_mtl(["a", "b"], beta=1.0)
    with pytest.raises(ConfigError, match="'beta_sigma'"):
        build_db_mtl(["a", "b"], beta_sigma=-1)
