"""Every registered balancer passes the same contract test (registry-parametrised)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.plugins import get_plugin_manager

BALANCER_NAMES = sorted(get_plugin_manager().balancers.names())
TASKS = ["near", "far", "unlabelled"]


class TwoLayerProblem(nn.Module):
    """A shared trunk ``(4 -> 8 -> 8)`` and one linear head per task."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
        self.heads = nn.ModuleDict({task: nn.Linear(8, 1) for task in TASKS})

    def shared(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())

    def last_shared(self) -> list[nn.Parameter]:
        return list(self.trunk[-1].parameters())

    def losses(self, step: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(step)
        x = torch.randn(16, 4, generator=generator)
        features = self.trunk(x)
        near = (self.heads["near"](features) - x[:, :1]).pow(2).mean()
        far = (self.heads["far"](features) - 10 * x[:, 1:2]).pow(2).mean()
        # A task with no labels in this batch: an exact zero still connected to its outputs.
        unlabelled = self.heads["unlabelled"](features).sum() * 0.0
        return {"near": near, "far": far, "unlabelled": unlabelled}


def build(name: str) -> Balancer:
    balancer = get_plugin_manager().balancers.get(name).factory(list(TASKS))
    assert isinstance(balancer, Balancer)
    return balancer


def run_step(problem: TwoLayerProblem, balancer: Balancer, step: int) -> dict[str, float]:
    problem.zero_grad(set_to_none=True)
    shared = None
    if balancer.needs_task_gradients:
        shared = problem.last_shared() if balancer.gradient_scope == "last" else problem.shared()
    return balancer.backward(problem.losses(step), shared)


@pytest.mark.parametrize("name", BALANCER_NAMES)
def test_balancer_contract(name: str) -> None:
    problem = TwoLayerProblem()
    balancer = build(name)
    assert balancer.gradient_scope in ("all", "last")
    optimizer = torch.optim.SGD([*problem.parameters(), *balancer.parameters()], lr=1e-3)
    for step in range(4):
        weights = run_step(problem, balancer, step)
        assert list(weights) == TASKS
        assert all(isinstance(w, float) and math.isfinite(w) and w >= 0 for w in weights.values())
        for parameter_name, parameter in problem.named_parameters():
            if parameter_name.startswith("heads.unlabelled"):
                continue
            assert parameter.grad is not None, f"{name}: no gradient on {parameter_name}"
            assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name}"
        trunk_grad = sum(p.grad.abs().sum() for p in problem.shared())
        assert trunk_grad > 0, f"{name}: the shared trunk got no gradient"
        optimizer.step()


@pytest.mark.parametrize("name", BALANCER_NAMES)
def test_balancer_state_round_trip(name: str) -> None:
    problem = TwoLayerProblem()
    first = build(name)
    for step in range(3):
        run_step(problem, first, step)
    second = build(name)
    second.load_state_dict(first.state_dict())
    twin = TwoLayerProblem()
    twin.load_state_dict(problem.state_dict())
    assert run_step(problem, first, 3) == pytest.approx(run_step(twin, second, 3))
    for a, b in zip(problem.shared(), twin.shared(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-6)


@pytest.mark.parametrize("name", BALANCER_NAMES)
def test_balancer_refuses_unknown_options(name: str) -> None:
    from perception.errors import ConfigError

    with pytest.raises(ConfigError, match=name.replace("_", ".")):
        get_plugin_manager().balancers.get(name).factory(list(TASKS), no_such_option=1)
