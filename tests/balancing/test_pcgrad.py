"""PCGrad removes the conflicting components of the task gradients and nothing else."""

from __future__ import annotations

import pytest
import torch
from perception_driving.balancers.pcgrad import (
    SUMMARY,
    PCGrad,
    build_pcgrad,
    project_conflicting,
)
from torch import nn

from perception.errors import ConfigError


def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_conflicting_gradients_end_with_no_negative_inner_product() -> None:
    sampler = torch.Generator().manual_seed(1)
    checked = 0
    while checked < 20:
        gradients = torch.randn(2, 16, generator=sampler)
        if gradients[0] @ gradients[1] >= 0:
            continue
        projected = project_conflicting(gradients, generator())
        assert projected[0] @ gradients[1] >= -1e-5
        assert projected[1] @ gradients[0] >= -1e-5
        # Only the component along the other gradient was removed.
        assert not torch.allclose(projected, gradients)
        checked += 1


def test_hand_made_conflict_is_projected_onto_the_normal_plane() -> None:
    gradients = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    projected = project_conflicting(gradients, generator())
    assert torch.allclose(projected, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))


def test_gradients_without_conflict_are_left_unchanged() -> None:
    gradients = torch.tensor([[1.0, 0.0, 2.0], [1.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    assert torch.equal(project_conflicting(gradients, generator()), gradients)


def test_zero_gradient_of_an_unlabelled_task_changes_nothing() -> None:
    gradients = torch.tensor([[1.0, -2.0], [0.0, 0.0]])
    projected = project_conflicting(gradients, generator())
    assert torch.equal(projected, gradients)


class LinearTasks(nn.Module):
    """``L_i = head_i * (W . v_i)``: the gradient on the shared ``W`` is ``head_i * v_i``."""

    def __init__(self, directions: torch.Tensor) -> None:
        super().__init__()
        self.shared = nn.Parameter(torch.tensor([0.3, -0.7]))
        self.directions = directions
        self.heads = nn.Parameter(torch.ones(len(directions)))

    def losses(self) -> dict[str, torch.Tensor]:
        return {
            f"task{i}": self.heads[i] * (self.shared @ direction)
            for i, direction in enumerate(self.directions)
        }


def test_backward_writes_the_sum_of_projected_gradients_and_fills_the_heads() -> None:
    model = LinearTasks(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))
    weights = build_pcgrad(["task0", "task1"]).backward(model.losses(), [model.shared])
    assert weights == {"task0": 1.0, "task1": 1.0}
    assert torch.allclose(model.shared.grad, torch.tensor([0.5, 1.5]))
    # Heads get the gradient of the plain sum: dL_i/dhead_i = W . v_i.
    assert torch.allclose(model.heads.grad, model.directions @ model.shared.detach())


def test_random_orders_are_reproducible_across_a_state_dict_round_trip() -> None:
    # With three tasks the order of the projections changes the result.
    directions = torch.tensor([[1.0, 0.0, 0.2], [-0.6, 1.0, -0.5], [-0.4, -0.9, 0.3]])
    model = LinearTasks(directions)
    model.shared = nn.Parameter(torch.tensor([0.3, -0.7, 0.1]))
    names = ["task0", "task1", "task2"]

    trained = build_pcgrad(names)
    for _ in range(3):
        model.zero_grad(set_to_none=True)
        trained.backward(model.losses(), [model.shared])
    resumed = build_pcgrad(names)
    resumed.load_state_dict(trained.state_dict())
    grads = []
    for balancer in (trained, resumed, build_pcgrad(names)):
        model.zero_grad(set_to_none=True)
        balancer.backward(model.losses(), [model.shared])
        grads.append(model.shared.grad.clone())
    assert torch.equal(grads[0], grads[1])
    # A fresh balancer draws step 0's orders, which give another result here.
    assert not torch.allclose(grads[0], grads[2])
    assert int(trained.steps) == 4


def test_factory_takes_no_options() -> None:
    assert PCGrad.needs_task_gradients and PCGrad.gradient_scope == "all"
    assert SUMMARY
    with pytest.raises(ConfigError, match=r"pcgrad.*'seed'"):
        build_pcgrad(["a", "b"], seed=1)
