"""GradNorm raises the weight of the task that trains slower and equalises gradient norms."""

from __future__ import annotations

import pytest
import torch
from perception_driving.balancers.gradnorm import SUMMARY, GradNorm, build_gradnorm
from torch import nn

from perception.errors import ConfigError


class TwoTasks(nn.Module):
    """A shared ``(2,)`` layer ``W`` and one scalar head per task.

    ``L_i = head_i * scale_i * ||W||^2 + offset_i``: the offset moves a task's loss without
    touching its gradient, the scale multiplies its gradient norm on ``W``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.tensor([1.0, 1.0]))
        self.heads = nn.ParameterDict({name: nn.Parameter(torch.tensor(1.0)) for name in "ab"})

    def losses(
        self, scales: dict[str, float], offsets: dict[str, float]
    ) -> dict[str, torch.Tensor]:
        energy = self.shared.square().sum()
        return {
            name: self.heads[name] * scales[name] * energy + offsets[name] for name in self.heads
        }


EQUAL = {"a": 1.0, "b": 1.0}
NO_OFFSET = {"a": 0.0, "b": 0.0}
# Both losses start at 2; then "a" stays at 90 % of it while "b" falls to 30 %: "a" lags.
LAGGING_A = {"a": -0.2, "b": -1.4}


def run(balancer: GradNorm, model: TwoTasks, scales: dict, offsets: dict) -> dict[str, float]:
    model.zero_grad(set_to_none=True)
    return balancer.backward(model.losses(scales, offsets), [model.shared])


def test_the_task_whose_loss_ratio_lags_gets_its_weight_raised() -> None:
    balancer, model = build_gradnorm(["a", "b"]), TwoTasks()
    run(balancer, model, EQUAL, NO_OFFSET)  # stores L(0) = 2 for both
    previous = balancer.weights[0].item()
    for _ in range(10):
        run(balancer, model, EQUAL, LAGGING_A)
        assert balancer.weights[0].item() > previous
        previous = balancer.weights[0].item()
    assert balancer.weights[1] < 1.0 < balancer.weights[0]
    assert balancer.weights.sum().item() == pytest.approx(2.0)


def test_with_equal_training_rates_the_gradient_norms_become_equal() -> None:
    balancer, model = build_gradnorm(["a", "b"], alpha=1.5, weight_lr=0.025), TwoTasks()
    scales = {"a": 1.0, "b": 4.0}  # "b"'s gradient norm on W is 4 times "a"'s
    for _ in range(150):
        run(balancer, model, scales, NO_OFFSET)
    # w_a * 1 = w_b * 4 and w_a + w_b = 2.
    assert balancer.weights.tolist() == pytest.approx([1.6, 0.4], abs=0.05)


def test_the_model_update_is_the_weighted_sum_and_reaches_every_parameter() -> None:
    balancer, model = build_gradnorm(["a", "b"]), TwoTasks()
    run(balancer, model, EQUAL, NO_OFFSET)
    for _ in range(3):
        weights = run(balancer, model, EQUAL, LAGGING_A)
    assert weights["a"] > weights["b"]
    # d/dW (w_a L_a + w_b L_b) = (w_a + w_b) * 2W; d/dhead_i = w_i * ||W||^2.
    expected_shared = (weights["a"] + weights["b"]) * 2 * model.shared.detach()
    assert torch.allclose(model.shared.grad, expected_shared)
    for name in "ab":
        assert model.heads[name].grad.item() == pytest.approx(weights[name] * 2.0)


def test_a_task_without_labels_stays_finite_and_sets_its_initial_loss_later() -> None:
    balancer, model = build_gradnorm(["a", "b"]), TwoTasks()
    unlabelled = {"a": 1.0, "b": 0.0}
    for _ in range(3):
        weights = run(balancer, model, unlabelled, NO_OFFSET)
        assert all(torch.isfinite(torch.tensor(list(weights.values()))))
        assert torch.isfinite(model.shared.grad).all()
    assert balancer.initial_losses.tolist() == [2.0, 0.0]
    run(balancer, model, {"a": 1.0, "b": 0.5}, NO_OFFSET)
    assert balancer.initial_losses.tolist() == [2.0, 1.0]


def test_state_dict_round_trip_continues_identically() -> None:
    trained, model = build_gradnorm(["a", "b"]), TwoTasks()
    run(trained, model, EQUAL, NO_OFFSET)
    for _ in range(4):
        run(trained, model, EQUAL, LAGGING_A)
    resumed = build_gradnorm(["a", "b"])
    resumed.load_state_dict(trained.state_dict())
    assert run(resumed, TwoTasks(), EQUAL, LAGGING_A) == run(trained, model, EQUAL, LAGGING_A)
    assert torch.equal(resumed.weights, trained.weights)


def test_factory_validates_options() -> None:
    assert GradNorm.needs_task_gradients and GradNorm.gradient_scope == "last"
    assert SUMMARY
    with pytest.raises(ConfigError, match=r"gradnorm.*'alpah'.*did you mean 'alpha'"):
        build_gradnorm(["a", "b"], alpah=1.0)
    with pytest.raises(ConfigError, match="weight_lr"):
        build_gradnorm(["a", "b"], weight_lr=0)
    with pytest.raises(ConfigError, match="alpha"):
        build_gradnorm(["a", "b"], alpha=-1.0)
