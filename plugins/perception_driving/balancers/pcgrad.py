"""PCGrad: project away the parts of each task gradient that conflict with the others.

Yu, Kumar, Gupta, Levine, Hausman & Finn (2020), "Gradient Surgery for Multi-Task Learning",
NeurIPS.

The update rule as implemented, with ``g_i`` the gradient of task ``i``'s loss with respect to
all shared parameters (``gradient_scope = "all"``: backbone and neck):

1. For each task ``i``, start from ``p_i = g_i`` and visit the other tasks ``j`` in a random
   order; whenever ``p_i . g_j < 0`` (a conflict), replace ``p_i`` by
   ``p_i - (p_i . g_j / ||g_j||^2) g_j``, removing its component along ``g_j``. As in the paper,
   ``p_i`` is projected against the *original* gradients ``g_j``.
2. The shared parameters receive ``sum_i p_i``; every other parameter (the task heads) receives
   the gradient of ``sum_i L_i``.

The random orders come from a generator seeded with a step counter kept in a buffer, so a run,
and a run resumed from a checkpoint, is reproducible. The weights returned are all 1.0: PCGrad
gives no task a scalar weight, each task's (projected) gradient enters the sum once.

Cost per step: T ``autograd.grad`` passes through the shared network, then one backward through
the heads; O(T^2 P) for the projections (see :mod:`perception.balancing.task_gradients`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.options import check_option_names
from perception.balancing.task_gradients import backward_combined

SUMMARY = "projects away conflicting components of the task gradients (PCGrad, Yu et al. 2020)"


def project_conflicting(gradients: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """PCGrad's projection of every task gradient against the others.

    Args:
        gradients: ``(T, P)``, row ``i`` the gradient ``g_i`` of task ``i``.
        generator: a CPU generator that draws the order in which each row visits the others.

    Returns:
        ``(T, P)`` projected gradients ``p_i``; a row that conflicts with no other is unchanged.
    """
    count = gradients.shape[0]
    projected = gradients.clone()
    squared_norms = gradients.square().sum(dim=1).clamp_min(torch.finfo(gradients.dtype).tiny)
    for i in range(count):
        for j in torch.randperm(count, generator=generator).tolist():
            if j == i:
                continue
            # Only a negative inner product projects; no host sync, so it stays fast on a GPU.
            inner = (projected[i] @ gradients[j]).clamp(max=0.0)
            projected[i] -= (inner / squared_norms[j]) * gradients[j]
    return projected


class PCGrad(Balancer):
    """PCGrad over all shared parameters, with reproducible random projection orders."""

    needs_task_gradients = True
    gradient_scope = "all"

    def __init__(self, task_names: list[str]) -> None:
        super().__init__(task_names)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.steps: torch.Tensor

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        generator = torch.Generator().manual_seed(int(self.steps))
        self.steps += 1

        def combine(gradients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # Every projected gradient enters the sum once: each task's weight is 1.
            return project_conflicting(gradients, generator).sum(dim=0), torch.ones(len(gradients))

        ordered = [losses[name] for name in self.task_names]
        weights = backward_combined(ordered, shared_parameters or [], combine)
        return dict(zip(self.task_names, weights.tolist(), strict=True))

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__}


def build_pcgrad(task_names: list[str], **options: object) -> PCGrad:
    """PCGrad takes no options."""
    check_option_names("pcgrad", options, ())
    return PCGrad(task_names)
