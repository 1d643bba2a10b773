"""FAMO moves weight towards the task whose log-loss falls slower until the rates match."""

from __future__ import annotations

import pytest
import torch
from perception_driving.balancers.famo import SUMMARY, Famo, build_famo
from torch import nn

from perception.errors import ConfigError

LOG_LOSS_SLOPES = {"fast": 1.0, "slow": 0.3}
"""``L_t = exp(k_t * theta_t)``: ``log L_t`` is linear in the task's parameter with slope k_t."""


def train(balancer: Famo, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """SGD on ``theta`` through ``balancer``; returns the ``(steps, 2)`` log-losses and the
    ``(steps, 2)`` softmax weights ``z`` after each step, both in fast, slow order.

    One SGD step moves ``theta_t`` by ``-lr * c * z_t * k_t``, so ``log L_t`` falls by
    ``lr * c * z_t * k_t^2``: the falls are equal exactly when ``z_fast / z_slow =
    k_slow^2 / k_fast^2``.
    """
    theta = nn.Parameter(torch.zeros(2))
    slopes = torch.tensor(list(LOG_LOSS_SLOPES.values()))
    optimizer = torch.optim.SGD([theta], lr=0.1)
    log_losses, shares = [], []
    for _ in range(steps):
        losses = torch.exp(slopes * theta)
        optimizer.zero_grad()
        balancer.backward(dict(zip(LOG_LOSS_SLOPES, losses, strict=True)))
        optimizer.step()
        log_losses.append(losses.detach().log())
        shares.append(torch.tensor(list(balancer.softmax_weights().values())))
    return torch.stack(log_losses), torch.stack(shares)


def test_weights_converge_to_equal_log_loss_decreases() -> None:
    log_losses, shares = train(build_famo(list(LOG_LOSS_SLOPES), gamma=0.0), steps=400)
    falls = log_losses[:-1] - log_losses[1:]
    first_ratio = float(falls[:10, 0].mean() / falls[:10, 1].mean())
    last_ratio = float(falls[-100:, 0].mean() / falls[-100:, 1].mean())
    assert first_ratio > 5.0  # equal weights: the fast task's log-loss falls ~11x faster
    assert last_ratio == pytest.approx(1.0, abs=0.2)
    slow, fast = LOG_LOSS_SLOPES["slow"], LOG_LOSS_SLOPES["fast"]
    balanced_fast_share = slow**2 / (slow**2 + fast**2)
    assert float(shares[-100:, 0].mean()) == pytest.approx(balanced_fast_share, abs=0.02)


def test_default_decay_still_favours_the_slow_task() -> None:
    _, shares = train(build_famo(list(LOG_LOSS_SLOPES)), steps=200)
    assert float(shares[-1, 1]) > 0.65


def test_returned_weights_are_the_effective_weights_of_the_raw_losses() -> None:
    balancer = build_famo(["a", "b"])
    balancer.logits.copy_(torch.tensor([0.5, -0.5]))
    shared = nn.Parameter(torch.tensor(2.0))
    heads = {"a": nn.Parameter(torch.tensor(1.0)), "b": nn.Parameter(torch.tensor(3.0))}
    losses = {name: (shared * head).square() for name, head in heads.items()}
    values = {name: float(loss.detach()) for name, loss in losses.items()}
    weights = balancer.backward(losses)
    shares = torch.softmax(torch.tensor([0.5, -0.5]), dim=0).tolist()
    scale = 1 / (shares[0] / values["a"] + shares[1] / values["b"])
    assert weights == pytest.approx({"a": scale * shares[0] / 4.0, "b": scale * shares[1] / 36.0})
    assert sum(weights.values()) == pytest.approx(1.0)
    for name, head in heads.items():
        # d/dh (w * h)^2 = 2 w^2 h
        assert float(head.grad) == pytest.approx(weights[name] * 2 * 4.0 * float(head.detach()))
    assert float(shared.grad) == pytest.approx(
        sum(weights[name] * 2 * 2.0 * float(head.detach()) ** 2 for name, head in heads.items())
    )


def test_logits_are_not_trained_by_the_model_optimizer() -> None:
    balancer = build_famo(["a", "b"])
    assert list(balancer.parameters()) == []
    assert {"logits", "adam.first", "adam.second", "adam.steps"} <= set(balancer.state_dict())


def test_an_unlabelled_task_gets_no_weight_and_disturbs_nothing() -> None:
    balancer = build_famo(["labelled", "empty"])
    shared = nn.Parameter(torch.tensor(1.0))
    empty_head = nn.Parameter(torch.tensor(1.0))
    for step in range(5):
        losses = {
            "labelled": 0.5**step * shared.square(),
            "empty": (shared * empty_head) * 0.0,
        }
        weights = balancer.backward(losses)
        assert weights == {"labelled": pytest.approx(1.0), "empty": 0.0}
        assert float(shared.grad) == pytest.approx(2.0 * 0.5**step)
        assert empty_head.grad is not None and float(empty_head.grad) == 0.0
        shared.grad = None
    # With a single measured task there is nothing to rebalance: the logits stay at zero.
    assert torch.equal(balancer.logits, torch.zeros(2))
    nothing_labelled = {"labelled": shared.square() * 0.0, "empty": (shared * empty_head) * 0.0}
    assert balancer.backward(nothing_labelled) == {"labelled": 0.0, "empty": 0.0}
    assert float(shared.grad) == 0.0


def test_state_dict_round_trip_continues_the_same_logits() -> None:
    original = build_famo(list(LOG_LOSS_SLOPES))
    train(original, steps=30)
    restored = build_famo(list(LOG_LOSS_SLOPES))
    restored.load_state_dict(original.state_dict())
    assert not torch.equal(restored.logits, torch.zeros(2))
    _, continued = train(original, steps=20)
    _, resumed = train(restored, steps=20)
    assert torch.equal(resumed, continued)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_lr": 0}, "'weight_lr' must be a number > 0"),
        ({"gamma": -0.1}, "'gamma' must be a number >= 0"),
        ({"min_losses": {"c": 0.1}}, r"unknown tasks \['c'\]"),
        ({"min_losses": {"a": -1.0}}, "'min_losses.a' must be a number >= 0"),
        ({"weight_rl": 0.1}, "famo.*unknown option 'weight_rl'.*did you mean 'weight_lr'"),
    ],
)
def test_bad_options_raise_config_errors(options: dict[str, object], message: str) -> None:
    assert SUMMARY
    with pytest.raises(ConfigError, match=message):
        build_famo(["a", "b"], **options)
