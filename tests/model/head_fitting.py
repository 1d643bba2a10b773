"""Shared by the head tests: optimise one head on one fixed batch and record its loss."""

from __future__ import annotations

import torch

from perception.model.task_head import TaskHead


def fit_on_fixed_batch(
    head: TaskHead,
    features: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    labelled: torch.Tensor,
    steps: int,
    lr: float = 1e-2,
) -> list[float]:
    """Run ``steps`` Adam steps on ``head.loss`` for the same inputs; the loss before each step."""
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss = head.loss(head(features), targets, labelled)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses
