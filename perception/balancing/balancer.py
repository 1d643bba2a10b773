"""The balancer contract: per-task losses in, backward done, weights out.

A balancer record's factory is called as ``factory(task_names, **options)`` and returns a
:class:`Balancer`. The trainer composes it with the model; the model never weights losses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

import torch
from torch import nn


class Balancer(nn.Module, ABC):
    """Combines per-task losses into one update.

    Attributes:
        task_names: the tasks in a fixed order.
        needs_task_gradients: when True the trainer passes shared parameters to
            :meth:`backward` so the balancer can take per-task gradients of them.
        gradient_scope: which shared parameters: ``"all"`` (backbone and neck) or ``"last"``
            (the last layer every head shares, the neck's output convolutions).

    A balancer may own learnable parameters (e.g. uncertainty weighting's log-variances); the
    trainer adds :meth:`parameters` to the optimizer and saves :meth:`state_dict` in
    checkpoints.
    """

    needs_task_gradients: bool = False
    gradient_scope: Literal["all", "last"] = "all"

    def __init__(self, task_names: list[str]) -> None:
        super().__init__()
        if not task_names:
            raise ValueError("a balancer needs at least one task")
        self.task_names = list(task_names)

    @abstractmethod
    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        """Run the backward pass for ``losses`` (``{task: scalar}``) and return the weight each
        task's loss received. Gradients are left in ``.grad`` for the optimizer step."""

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable settings, for logs and reports."""
        return {"type": type(self).__name__}
