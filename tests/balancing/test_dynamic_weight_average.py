"""Dynamic Weight Average: the task whose loss falls slower gets the larger weight."""

from __future__ import annotations

import math

import pytest
import torch
from perception_driving.balancers.dynamic_weight_average import (
    SUMMARY,
    DynamicWeightAverage,
    build_dwa,
)
from torch import nn

from perception.errors import ConfigError

DECAY_PER_STEP = {"fast": 0.9, "slow": 0.99}
"""Each task's loss is multiplied by this at every step."""


def geometric_losses(step: int, parameters: dict[str, nn.Parameter]) -> dict[str, torch.Tensor]:
    """``L_t(step) = decay_t ** step * p_t^2`` with ``p_t = 1``: losses with a known fall rate."""
    return {
        name: DECAY_PER_STEP[name] ** step * parameters[name].square() for name in DECAY_PER_STEP
    }


def run(balancer: DynamicWeightAverage, steps: range) -> list[dict[str, float]]:
    parameters = {name: nn.Parameter(torch.tensor(1.0)) for name in DECAY_PER_STEP}
    return [balancer.backward(geometric_losses(step, parameters)) for step in steps]


@pytest.mark.parametrize("temperature", [2.0, 0.5])
def test_weights_follow_the_ratio_of_the_last_two_window_means(temperature: float) -> None:
    window = 5
    balancer = build_dwa(list(DECAY_PER_STEP), temperature=temperature, window=window)
    history = run(balancer, range(4 * window))
    # Weights are 1 until two windows are complete.
    assert all(weights == {"fast": 1.0, "slow": 1.0} for weights in history[: 2 * window])
    # For geometric losses the ratio of consecutive window means is decay ** window.
    exponentials = {
        name: math.exp(decay**window / temperature) for name, decay in DECAY_PER_STEP.items()
    }
    expected = {
        name: 2 * value / sum(exponentials.values()) for name, value in exponentials.items()
    }
    for weights in history[2 * window :]:
        assert weights == pytest.approx(expected)
        assert weights["slow"] > weights["fast"]
        assert sum(weights.values()) == pytest.approx(2.0)


def test_gradients_are_the_weighted_task_gradients() -> None:
    balancer = build_dwa(list(DECAY_PER_STEP), window=2)
    run(balancer, range(4))
    shared = nn.Parameter(torch.tensor(2.0))
    heads = {name: nn.Parameter(torch.tensor(1.0)) for name in DECAY_PER_STEP}
    losses = {name: (shared * head).square() for name, head in heads.items()}
    weights = balancer.backward(losses)
    assert weights["slow"] > 1.0 > weights["fast"]
    # d/dw sum_t weight_t (w h_t)^2 = sum_t weight_t 2 w h_t^2
    assert float(shared.grad) == pytest.approx(sum(weights.values()) * 2 * 2.0)
    for name, head in heads.items():
        assert float(head.grad) == pytest.approx(weights[name] * 2 * 4.0)


def test_an_unlabelled_task_keeps_ratio_one_and_finite_grads() -> None:
    balancer = build_dwa(["labelled", "empty"], window=3)
    shared = nn.Parameter(torch.tensor(1.0))
    empty_head = nn.Parameter(torch.tensor(1.0))
    history = []
    for step in range(12):
        losses = {
            "labelled": 0.5**step * shared.square(),
            "empty": (shared * empty_head) * 0.0,
        }
        history.append(balancer.backward(losses))
        assert shared.grad is not None and torch.isfinite(shared.grad).all()
        assert empty_head.grad is not None and float(empty_head.grad) == 0.0
    # The labelled loss falls (ratio 1/8 < 1), the empty task counts as not falling (ratio 1).
    assert history[-1]["empty"] > 1.0 > history[-1]["labelled"]
    assert all(math.isfinite(weight) for weights in history for weight in weights.values())


def test_state_dict_round_trip_continues_the_same_schedule() -> None:
    window = 4
    original = build_dwa(list(DECAY_PER_STEP), window=window)
    run(original, range(7))  # stops in the middle of the second window
    restored = build_dwa(list(DECAY_PER_STEP), window=window)
    restored.load_state_dict(original.state_dict())
    continued = run(original, range(7, 20))
    resumed = run(restored, range(7, 20))
    assert resumed == continued
    assert resumed[-1] != {"fast": 1.0, "slow": 1.0}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0.0}, "'temperature' must be a number > 0"),
        ({"window": 0}, "'window' must be an integer >= 1"),
        ({"window": 2.5}, "'window' must be an integer >= 1"),
        ({"temprature": 2.0}, "dwa.*unknown option 'temprature'.*did you mean 'temperature'"),
    ],
)
def test_bad_options_raise_config_errors(options: dict[str, object], message: str) -> None:
    assert SUMMARY
    with pytest.raises(ConfigError, match=message):
        build_dwa(["a", "b"], **options)
