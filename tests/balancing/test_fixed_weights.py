"""Fixed weights: the gradient is the config-weighted sum of the task gradients."""

from __future__ import annotations

import pytest
import torch
from perception_driving.balancers.fixed_weights import SUMMARY, build_fixed
from torch import nn

from perception.errors import ConfigError


def two_task_losses() -> tuple[nn.Parameter, dict[str, nn.Parameter], dict[str, torch.Tensor]]:
    """A shared scale ``w`` and per-task heads ``h_t``; ``L_t = (w * h_t - target_t)^2``."""
    shared = nn.Parameter(torch.tensor(1.5))
    heads = {"depth": nn.Parameter(torch.tensor(2.0)), "cars": nn.Parameter(torch.tensor(-1.0))}
    targets = {"depth": 1.0, "cars": 2.0}
    losses = {name: (shared * head - targets[name]).square() for name, head in heads.items()}
    return shared, heads, losses


def test_gradient_is_the_weighted_sum_of_task_gradients() -> None:
    shared, heads, losses = two_task_losses()
    per_task = {
        name: torch.autograd.grad(
            loss, [shared, *heads.values()], retain_graph=True, materialize_grads=True
        )
        for name, loss in losses.items()
    }
    balancer = build_fixed(["depth", "cars"], weights={"depth": 0.25})
    weights = balancer.backward(losses)
    assert weights == {"depth": 0.25, "cars": 1.0}
    for index, parameter in enumerate([shared, *heads.values()]):
        expected = 0.25 * per_task["depth"][index] + 1.0 * per_task["cars"][index]
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
        assert torch.allclose(parameter.grad, expected)


def test_zero_weight_and_unlabelled_task_leave_finite_grads() -> None:
    shared, heads, losses = two_task_losses()
    losses["cars"] = losses["cars"] * 0.0
    build_fixed(["depth", "cars"], weights={"depth": 0.0}).backward(losses)
    for parameter in (shared, *heads.values()):
        assert parameter.grad is not None
        assert torch.equal(parameter.grad, torch.zeros(()))


def test_state_dict_round_trip_keeps_the_configured_weights() -> None:
    balancer = build_fixed(["depth", "cars"], weights={"cars": 3.0})
    restored = build_fixed(["depth", "cars"], weights={"cars": 3.0})
    restored.load_state_dict(balancer.state_dict())
    _, _, losses = two_task_losses()
    assert restored.backward(losses) == {"depth": 1.0, "cars": 3.0}
    assert restored.describe()["weights"] == {"depth": 1.0, "cars": 3.0}


def test_unknown_task_is_named_with_a_suggestion() -> None:
    assert SUMMARY
    with pytest.raises(ConfigError, match=r"fixed.*\['dpeth'\].*did you mean 'depth'"):
        build_fixed(["depth", "cars"], weights={"dpeth": 2.0})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weights": {"depth": -1.0}}, "weights.depth' must be a number >= 0"),
        ({"weights": {"depth": "heavy"}}, "weights.depth' must be a number >= 0"),
        ({"weights": {"depth": float("nan")}}, "weights.depth' must be a number >= 0"),
        ({"weights": [1.0, 2.0]}, "'weights' must map task names to numbers"),
        ({"weight": {"depth": 1.0}}, "unknown option 'weight'.*did you mean 'weights'"),
    ],
)
def test_bad_options_raise_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_fixed(["depth", "cars"], **options)
