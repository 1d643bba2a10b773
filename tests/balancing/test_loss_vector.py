"""The loss vector keeps task order and the graph; a loss of exactly zero means unlabelled."""

from __future__ import annotations

import torch
from torch import nn

from perception.balancing.loss_vector import loss_vector


def test_losses_are_stacked_in_task_order_and_zero_marks_an_unlabelled_task() -> None:
    head = nn.Parameter(torch.tensor(2.0))
    losses = {"b": head * 3.0, "a": head * 0.0, "c": head.square() - 5.0}
    values, labelled = loss_vector(losses, ["a", "b", "c"])
    assert values.tolist() == [0.0, 6.0, -1.0]
    assert labelled.tolist() == [False, True, True]  # a negative loss still had labels
    assert not labelled.requires_grad
    values.sum().backward()
    assert head.grad is not None
    assert head.grad.item() == 0.0 + 3.0 + 2 * 2.0  # d/dh of 0 h + 3 h + h^2
