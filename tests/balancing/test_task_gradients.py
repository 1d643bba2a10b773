"""Per-task gradients of shared parameters and the backward into the remaining ones."""

from __future__ import annotations

import torch
from torch import nn

from perception.balancing.task_gradients import (
    backward_combined,
    backward_except,
    graph_leaves,
    task_gradients,
    write_gradient,
)


def shared_and_heads() -> tuple[list[nn.Parameter], dict[str, nn.Parameter]]:
    """A ``(2, 3)`` and a ``(2,)`` shared parameter plus one scalar head parameter per task."""
    generator = torch.Generator().manual_seed(0)
    shared = [
        nn.Parameter(torch.randn(2, 3, generator=generator)),
        nn.Parameter(torch.randn(2, generator=generator)),
    ]
    heads = {name: nn.Parameter(torch.randn((), generator=generator)) for name in "ab"}
    return shared, heads


def make_losses(
    shared: list[nn.Parameter], heads: dict[str, nn.Parameter]
) -> dict[str, torch.Tensor]:
    features = torch.tanh(shared[0] @ torch.tensor([1.0, -2.0, 0.5]) + shared[1])  # (2,)
    return {
        "a": (heads["a"] * features[0] - 1.0).square(),
        "b": (heads["b"] * features.sum() + 2.0).square(),
    }


def plain_sum_head_gradients() -> dict[str, torch.Tensor]:
    """The head gradients of a plain ``backward`` of the summed losses, on a fresh copy."""
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    (losses["a"] + losses["b"]).backward()
    return {name: head.grad for name, head in heads.items()}


def test_rows_are_each_loss_gradient_flattened_in_parameter_order() -> None:
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    rows, reached = task_gradients([losses["a"], losses["b"]], shared)
    assert rows.shape == (2, 8)
    assert reached == [True, True]
    for row, name in zip(rows, "ab", strict=True):
        expected = torch.autograd.grad(make_losses(shared, heads)[name], shared)
        assert torch.allclose(row, torch.cat([g.reshape(-1) for g in expected]))


def test_losses_that_do_not_reach_the_shared_parameters_give_zero_rows() -> None:
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    rows, reached = task_gradients([losses["a"], heads["b"].square(), torch.tensor(0.0)], shared)
    assert rows[0].abs().sum() > 0
    assert torch.equal(rows[1:], torch.zeros(2, 8))
    assert reached == [True, True]


def test_a_parameter_no_loss_reaches_keeps_no_gradient() -> None:
    shared, heads = shared_and_heads()
    unused = nn.Parameter(torch.ones(3))
    losses = make_losses(shared, heads)
    rows, reached = task_gradients(list(losses.values()), [*shared, unused])
    assert reached == [True, True, False]
    write_gradient(rows.sum(dim=0), [*shared, unused], reached)
    assert unused.grad is None
    assert shared[0].grad is not None


def test_backward_except_fills_every_other_leaf_and_leaves_shared_alone() -> None:
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    task_gradients(list(losses.values()), shared)
    backward_except(losses["a"] + losses["b"], shared)
    assert all(p.grad is None for p in shared)
    expected = plain_sum_head_gradients()
    for name, head in heads.items():
        assert head.grad is not None
        assert torch.allclose(head.grad, expected[name])


def test_backward_combined_writes_the_combined_vector_and_returns_the_weights() -> None:
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    ordered = [losses["a"], losses["b"]]
    rows, _ = task_gradients(ordered, shared)
    received = []

    def combine(gradients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        received.append(gradients)
        return gradients[0] - 2 * gradients[1], torch.tensor([1.0, -2.0])

    weights = backward_combined(ordered, shared, combine)
    assert len(received) == 1 and torch.equal(received[0], rows)
    assert weights.tolist() == [1.0, -2.0]
    written = torch.cat([p.grad.reshape(-1) for p in shared])
    assert torch.allclose(written, rows[0] - 2 * rows[1])
    expected = plain_sum_head_gradients()
    for name, head in heads.items():
        assert torch.allclose(head.grad, expected[name])


def test_write_gradient_adds_the_vector_into_grad_with_each_parameter_shape() -> None:
    shared, _ = shared_and_heads()
    vector = torch.arange(8, dtype=torch.float32)
    write_gradient(vector, shared, [True, True])
    assert torch.equal(shared[0].grad, vector[:6].view(2, 3))
    assert torch.equal(shared[1].grad, vector[6:])
    write_gradient(vector, shared, [True, True])
    assert torch.equal(shared[1].grad, 2 * vector[6:])


def test_graph_leaves_finds_each_parameter_once() -> None:
    shared, heads = shared_and_heads()
    losses = make_losses(shared, heads)
    leaves = graph_leaves(losses["a"] + losses["b"] + losses["a"])
    assert sorted(map(id, leaves)) == sorted(map(id, [*shared, *heads.values()]))
