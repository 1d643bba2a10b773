"""Convergence diagnostics: how fast each task learns and whether the tasks' gradients conflict.

Measured every ``train.diagnostics_every`` steps on that step's batch, before the balancer's
backward (the graph is kept with ``retain_graph``):

- the loss ratio ``L_i(t) / L_i(0)``, with ``L_i(0)`` the task's first positive loss, and the
  inverse training rate ``r_i = ratio_i / mean_j ratio_j`` (GradNorm's measure; ``r_i > 1``: task
  ``i`` lags behind the others);
- per-task gradient norms ``||dL_i/dW||`` at the last shared layer ``W`` (the neck's output
  convolutions, where GradNorm measures them), from
  :func:`~perception.balancing.task_gradients.task_gradients`;
- the pairwise cosine similarities of those gradients, their mean over task pairs, and the
  fraction of conflicting pairs (cosine < 0), the quantity PCGrad projects away.

A task whose loss is exactly zero this step (no labels in the batch) is left out: NaN in every
per-task value and in every pair it belongs to. Cost: one ``autograd.grad`` per task, pruned to
the task's head and ``W``, only on measured steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from perception.balancing.task_gradients import task_gradients

NAN = float("nan")

SUMMARY_COLUMNS = ("grad_cos_mean", "conflict_fraction")
"""The per-step columns that summarise all task pairs."""

PER_TASK_PREFIXES = ("ratio", "inv_rate", "grad_norm")
"""The per-task columns, ``<prefix>/<task>``."""


def diagnostic_columns(task_names: Sequence[str]) -> list[str]:
    """The training-log columns diagnostics fill, in log order."""
    per_task = [f"{prefix}/{task}" for prefix in PER_TASK_PREFIXES for task in task_names]
    return [*per_task, *SUMMARY_COLUMNS]


def loss_ratios(
    losses: Mapping[str, float], initial_losses: Mapping[str, float]
) -> dict[str, float]:
    """``L_i(t) / L_i(0)`` per task; NaN where the loss is zero (unlabelled) or no positive
    initial loss is known."""
    ratios = {}
    for task, loss in losses.items():
        initial = initial_losses.get(task, 0.0)
        ratios[task] = loss / initial if loss != 0 and initial > 0 else NAN
    return ratios


def inverse_training_rates(ratios: Mapping[str, float]) -> dict[str, float]:
    """``r_i = ratio_i / mean_j ratio_j`` over the tasks with a finite ratio (NaN for the
    others, and for all when the mean is not positive)."""
    finite = [ratio for ratio in ratios.values() if math.isfinite(ratio)]
    mean = sum(finite) / len(finite) if finite else NAN
    if not mean > 0:
        return dict.fromkeys(ratios, NAN)
    return {task: ratio / mean for task, ratio in ratios.items()}


def cosine_matrix(gradients: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine similarities of task gradients.

    Args:
        gradients: ``(T, P)`` one flattened gradient per task.
        active: ``(T,)`` bool, the tasks to compare.

    Returns:
        ``(T, T)`` float64 cosines; NaN in every row and column of a task that is not active or
        whose gradient is zero.
    """
    if gradients.ndim != 2 or active.shape != gradients.shape[:1]:
        raise ValueError(
            f"expected (T, P) gradients and (T,) active, got {tuple(gradients.shape)} and "
            f"{tuple(active.shape)}"
        )
    rows = gradients.double()
    norms = rows.norm(dim=1)
    usable = active.to(rows.device) & (norms > 0)
    unit = rows / norms.clamp_min(torch.finfo(rows.dtype).tiny).unsqueeze(1)
    cosines = (unit @ unit.T).clamp(-1.0, 1.0)
    pair_usable = usable.unsqueeze(0) & usable.unsqueeze(1)
    return torch.where(pair_usable, cosines, torch.full_like(cosines, NAN)).cpu()


def conflict_statistics(cosines: torch.Tensor) -> tuple[float, float]:
    """Mean cosine over the task pairs ``i < j`` with a finite cosine, and the fraction of
    those pairs that conflict (cosine < 0). Both NaN when no pair is finite."""
    count = cosines.shape[0]
    upper = torch.triu_indices(count, count, offset=1)
    pairs = cosines[upper[0], upper[1]]
    pairs = pairs[torch.isfinite(pairs)]
    if pairs.numel() == 0:
        return NAN, NAN
    return float(pairs.mean()), float((pairs < 0).double().mean())


@dataclass
class DiagnosticsMeasurement:
    """One step's diagnostics (NaN where a task was left out)."""

    step: int
    tasks: list[str]
    losses: dict[str, float]
    initial_losses: dict[str, float]
    ratios: dict[str, float]
    inverse_rates: dict[str, float]
    gradient_norms: dict[str, float]
    cosines: torch.Tensor
    """``(T, T)`` float64, in :attr:`tasks` order."""
    mean_cosine: float
    conflict_fraction: float

    def row(self) -> dict[str, float]:
        """The training-log columns of :func:`diagnostic_columns`."""
        row = {}
        for prefix, values in zip(
            PER_TASK_PREFIXES, (self.ratios, self.inverse_rates, self.gradient_norms), strict=True
        ):
            row.update({f"{prefix}/{task}": values[task] for task in self.tasks})
        row["grad_cos_mean"] = self.mean_cosine
        row["conflict_fraction"] = self.conflict_fraction
        return row

    def record(self) -> dict[str, Any]:
        """The ``diagnostics.jsonl`` record: every value above, cosines as nested lists."""
        return {
            "step": self.step,
            "tasks": self.tasks,
            "losses": self.losses,
            "initial_losses": self.initial_losses,
            "ratios": self.ratios,
            "inverse_rates": self.inverse_rates,
            "gradient_norms": self.gradient_norms,
            "cosines": self.cosines.tolist(),
            "grad_cos_mean": self.mean_cosine,
            "conflict_fraction": self.conflict_fraction,
        }


class ConvergenceDiagnostics:
    """Keeps ``L_i(0)`` across steps and measures the diagnostics of a step on request.

    Args:
        task_names: the tasks in a fixed order.
        initial_losses: ``L_i(0)`` known from an earlier part of the run (a resumed run reads
            them from its last ``diagnostics.jsonl`` record).
    """

    def __init__(
        self, task_names: Sequence[str], initial_losses: Mapping[str, float] | None = None
    ) -> None:
        self.task_names = list(task_names)
        self.initial_losses = {
            task: float(value)
            for task, value in (initial_losses or {}).items()
            if task in self.task_names and value is not None and value > 0
        }

    def observe(self, losses: Mapping[str, torch.Tensor]) -> None:
        """Record ``L_i(0)`` for each task whose first positive loss this is (call every step)."""
        for task in self.task_names:
            if task not in self.initial_losses:
                value = float(losses[task].detach())
                if value > 0:
                    self.initial_losses[task] = value

    def measure(
        self, step: int, losses: Mapping[str, torch.Tensor], last_shared: Sequence[torch.Tensor]
    ) -> DiagnosticsMeasurement:
        """Diagnostics of ``losses`` (``{task: scalar}`` on a live graph, kept alive) with
        gradients taken at ``last_shared``, the last layer every task shares."""
        self.observe(losses)
        values = {task: float(losses[task].detach()) for task in self.task_names}
        active = [values[task] != 0 and losses[task].requires_grad for task in self.task_names]
        gradients = task_gradients([losses[task] for task in self.task_names], last_shared).matrix
        norms = gradients.double().norm(dim=1).cpu()
        cosines = cosine_matrix(gradients, torch.tensor(active))
        mean_cosine, conflict_fraction = conflict_statistics(cosines)
        ratios = loss_ratios(values, self.initial_losses)
        return DiagnosticsMeasurement(
            step=step,
            tasks=self.task_names,
            losses=values,
            initial_losses={t: self.initial_losses.get(t, NAN) for t in self.task_names},
            ratios=ratios,
            inverse_rates=inverse_training_rates(ratios),
            gradient_norms={
                task: float(norm) if bool(used) else NAN
                for task, norm, used in zip(self.task_names, norms, active, strict=True)
            },
            cosines=cosines,
            mean_cosine=mean_cosine,
            conflict_fraction=conflict_fraction,
        )
