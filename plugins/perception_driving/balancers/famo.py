"""FAMO: decrease every task's log-loss at the same rate, with O(1) extra work per step.

Liu, Liu, Jin, Stone & Liu (2023), "FAMO: Fast Adaptive Multitask Optimization", NeurIPS.

The update rule as implemented, with task logits ``xi`` (``(K,)``, initialised to 0),
``z = softmax(xi)`` and ``D_i = max(L_i - m_i, eps)`` where ``m_i`` is the task's minimum loss
(option ``min_losses``, default 0) and ``eps = 1e-8``:

1. The model's step minimises ``c * sum_i z_i * log D_i`` with ``c = 1 / sum_i (z_i / D_i)``
   held constant (no gradient through it), so task ``i``'s raw loss gets the effective weight
   ``c * z_i / D_i``; those weights sum to 1 and are the ones returned.
2. The logits follow the log-loss decrease ``delta_i = log D_i(prev) - log D_i(now)`` that the
   previous step achieved: the gradient ``g = J_z(xi)^T delta + gamma * xi`` (``J_z`` the softmax
   Jacobian, ``gamma`` option ``gamma``, default 0.001) is fed to Adam
   (:class:`~perception.balancing.buffer_adam.BufferAdam`) with learning rate ``weight_lr``
   (default 0.025), as in the authors' experiments. Descending ``z^T delta`` moves
   weight towards the tasks whose log-loss fell least.

``xi`` is not an ``nn.Parameter``: the trainer's optimizer must not touch it. It and its Adam
moments are buffers, updated inside :meth:`Famo.backward`, so a resumed run continues exactly.

Approximation: the paper measures ``delta`` on the same batch before and after the step, which
costs a second forward pass. Here ``delta`` compares the losses of two consecutive calls, i.e. of
consecutive batches; batch-to-batch noise averages out in Adam's moments.

A task whose loss is exactly zero had no labels in the batch: it is left out of ``c`` and of the
logit update that involves that step (its effective weight is 0 for the step), so it can neither
swamp the other tasks' weights nor produce a log of zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.buffer_adam import BufferAdam
from perception.balancing.loss_vector import loss_vector
from perception.balancing.options import (
    check_option_names,
    option_number,
    option_per_task,
)

SUMMARY = "balances the rates at which the task log-losses fall (FAMO, Liu et al. 2023)"

LOSS_EPS = 1e-8
"""Floor of ``L_i - m_i`` before its log is taken."""


class Famo(Balancer):
    """FAMO with logits updated by its own Adam rule inside :meth:`backward`.

    Args:
        task_names: the tasks in a fixed order.
        weight_lr: Adam learning rate of the logits (the paper's ``beta``).
        gamma: L2 decay of the logits towards 0 (equal weights).
        min_losses: ``{task: m_i}``, the lowest value each task's loss can reach (default 0).
    """

    def __init__(
        self,
        task_names: list[str],
        weight_lr: float = 0.025,
        gamma: float = 0.001,
        min_losses: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(task_names)
        self.gamma = gamma
        given = dict(min_losses or {})
        count = len(self.task_names)
        self.register_buffer(
            "min_losses", torch.tensor([float(given.get(name, 0.0)) for name in self.task_names])
        )
        self.register_buffer("logits", torch.zeros(count))
        self.adam = BufferAdam(count, lr=weight_lr)
        # log D_i of the previous call; NaN before the first call and where a task was unlabelled.
        self.register_buffer("previous_log_losses", torch.full((count,), float("nan")))
        self.min_losses: torch.Tensor
        self.logits: torch.Tensor
        self.previous_log_losses: torch.Tensor

    def softmax_weights(self) -> dict[str, float]:
        """``{task: z_i}``, the share of the log-loss objective each task gets."""
        values = torch.softmax(self.logits, dim=0).tolist()
        return dict(zip(self.task_names, values, strict=True))

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        stacked, labelled = loss_vector(losses, self.task_names)
        gaps = (stacked - self.min_losses.to(stacked)).clamp_min(LOSS_EPS)
        log_gaps = gaps.log()
        current = torch.where(labelled, log_gaps.detach(), torch.nan).to(self.previous_log_losses)
        self._update_logits(self.previous_log_losses - current)
        self.previous_log_losses.copy_(current)

        shares = torch.where(labelled, torch.softmax(self.logits, dim=0).to(stacked), 0.0)
        inverse_scale = (shares / gaps.detach()).sum()
        # With no labelled task every share is 0 and so is every weight.
        scale = torch.where(inverse_scale > 0, inverse_scale.reciprocal(), 0.0)
        (scale * shares * log_gaps).sum().backward()
        weights = scale * shares / gaps.detach()
        return dict(zip(self.task_names, weights.tolist(), strict=True))

    def _update_logits(self, decreases: torch.Tensor) -> None:
        """One Adam step on the logits from the ``(K,)`` log-loss ``decreases`` (NaN where a
        task has no measurement); nothing happens while fewer than two tasks have one."""
        measured = torch.isfinite(decreases)
        if int(measured.sum()) < 2:
            return
        # Softmax restricted to the measured tasks: the gradient of z^T delta over them.
        shares = torch.softmax(self.logits[measured], dim=0)
        delta = decreases[measured]
        gradient = torch.zeros_like(self.logits)
        gradient[measured] = shares * (delta - (shares * delta).sum())
        gradient += self.gamma * self.logits
        self.logits -= self.adam.step(gradient)

    def describe(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "weight_lr": self.adam.lr,
            "gamma": self.gamma,
            "min_losses": dict(zip(self.task_names, self.min_losses.tolist(), strict=True)),
        }


def build_famo(task_names: list[str], **options: object) -> Famo:
    """Options: ``weight_lr`` (> 0, default 0.025), ``gamma`` (>= 0, default 0.001),
    ``min_losses`` (``{task: number >= 0}``, default 0)."""
    check_option_names("famo", options, ("weight_lr", "gamma", "min_losses"))
    return Famo(
        task_names,
        weight_lr=option_number(
            "famo", "weight_lr", options.get("weight_lr", 0.025), positive=True
        ),
        gamma=option_number("famo", "gamma", options.get("gamma", 0.001), positive=False),
        min_losses=option_per_task("famo", "min_losses", options.get("min_losses", {}), task_names),
    )
