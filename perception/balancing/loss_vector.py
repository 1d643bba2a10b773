"""The task losses as one vector in task order, with the tasks the batch labelled.

Convention: a head returns a loss of exactly zero for a batch that holds no labels for its task.
Balancers that keep statistics of the losses (FAMO, DWA, uncertainty weighting, DB-MTL) leave
such a task out of them for that step, so an unlabelled batch is not mistaken for a perfect one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch


class LossVector(NamedTuple):
    """One step's task losses, in task order."""

    values: torch.Tensor
    """``(T,)`` the losses, still attached to their graph."""
    labelled: torch.Tensor
    """``(T,)`` bool, True where the loss is not exactly zero (the task had labels)."""


def loss_vector(losses: Mapping[str, torch.Tensor], task_names: Sequence[str]) -> LossVector:
    """Stack the scalar ``losses`` (``{task: ()}``) in ``task_names`` order into a ``(T,)``
    vector and mark the labelled tasks."""
    values = torch.stack([losses[name] for name in task_names])
    return LossVector(values, values.detach() != 0)
