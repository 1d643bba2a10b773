"""Lookahead inter-task affinity: does a step on task i help or hurt task j?

Fifty, Amid, Zhao, Yu, Anil & Finn (2021), "Efficiently Identifying Task Groupings for
Multi-Task Learning", NeurIPS. Their affinity of task i onto task j at step t is

    Z[i][j] = 1 - L_j(X, theta_s - lr * grad_{theta_s} L_i, theta_j) / L_j(X, theta_s, theta_j)

with ``theta_s`` the shared parameters, ``theta_j`` task j's head and ``X`` the step's batch:
positive when a step on task i alone lowers task j's loss, negative when it raises it (negative
transfer). The step is plain SGD with the learning rate the trainer uses at that step, as in the
paper. Averaged over the steps it was measured on, a pair with negative mean affinity is a pair
that fights for the shared network.

:func:`lookahead_affinity` measures one step without disturbing training: the lookahead runs on
new tensors swapped in for the shared parameters and on copies of every buffer of the model
(BatchNorm statistics), the original tensors are put back afterwards, the random number
generators are forked, and ``.grad`` is never touched, so training continues bit for bit as if
nothing had been measured (and the step's graph stays valid for the balancer's backward). Cost
per measured step, with T tasks: T ``autograd.grad`` passes over all shared parameters plus T
forward passes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from perception.atomic import write_text_atomic
from perception.balancing.task_gradients import task_gradients
from perception.errors import MalformedFileError, MissingFileError

LossFunction = Callable[[], Mapping[str, torch.Tensor]]
"""Recomputes ``{task: scalar loss}`` on the step's batch with the model's current parameters."""


def lookahead_affinity(
    model: nn.Module,
    losses: Mapping[str, torch.Tensor],
    recompute: LossFunction,
    shared: Sequence[nn.Parameter],
    lr: float,
    task_names: Sequence[str],
) -> torch.Tensor:
    """One step's affinity matrix.

    Args:
        model: the module that owns ``shared`` and whose buffers ``recompute`` may update.
        losses: ``{task: scalar}`` of the step, on a live graph (kept alive for the trainer).
        recompute: the same forward on the same batch, giving ``{task: scalar}``.
        shared: the shared parameters the lookahead step moves.
        lr: the lookahead step's learning rate.
        task_names: the order of rows and columns.

    Returns:
        ``(T, T)`` float64 ``Z[i][j]``; NaN in row ``i`` when task i's loss is zero (no labels
        in the batch) or has no gradient, and in column ``j`` when task j's loss is zero.
    """
    before = torch.tensor(
        [float(losses[task].detach()) for task in task_names], dtype=torch.float64
    )
    count = len(task_names)
    affinity = torch.full((count, count), math.nan, dtype=torch.float64)
    labelled = before != 0
    sizes = [p.numel() for p in shared]
    devices = sorted({p.device.index or 0 for p in shared if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices), _buffers_swapped_for_copies(model):
        for i, task in enumerate(task_names):
            loss = losses[task]
            if not labelled[i] or not loss.requires_grad:
                continue
            gradient = task_gradients([loss], shared).matrix[0]
            steps = [
                param.detach() - lr * chunk.view(param.shape).to(param.dtype)
                for param, chunk in zip(shared, gradient.split(sizes), strict=True)
            ]
            with torch.no_grad(), _parameters_replaced(shared, steps):
                after = recompute()
            after_values = torch.tensor(
                [float(after[name]) for name in task_names], dtype=torch.float64
            )
            affinity[i] = torch.where(
                labelled, 1.0 - after_values / before.where(labelled, 1.0), math.nan
            )
    return affinity


@dataclass
class AffinityMatrix:
    """Affinity averaged over the measured steps.

    ``mean[i][j]``: mean ``Z[i][j]`` (NaN without samples); ``counts[i][j]``: how many steps
    measured that pair; ``steps``: how many steps were measured.
    """

    tasks: list[str]
    mean: list[list[float]]
    counts: list[list[int]]
    steps: int

    def negative_pairs(self) -> list[tuple[str, str, float, int]]:
        """``(source, target, mean, count)`` for every pair ``i != j`` whose mean affinity is
        negative: a step on ``source`` raised ``target``'s loss on average. Worst first."""
        pairs = [
            (source, target, self.mean[i][j], self.counts[i][j])
            for i, source in enumerate(self.tasks)
            for j, target in enumerate(self.tasks)
            if i != j and self.mean[i][j] < 0
        ]
        return sorted(pairs, key=lambda pair: pair[2])

    def warnings(self) -> list[str]:
        """One sentence per negative pair, worst first."""
        return [
            f"task {source} hurts task {target}: a step on {source} alone raised the loss of "
            f"{target} (mean affinity {value:+.3g} over {count} steps)"
            for source, target, value, count in self.negative_pairs()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "lookahead inter-task affinity (Fifty et al. 2021)",
            "rows": "task i: the task whose gradient took the lookahead step",
            "columns": "task j: the task whose loss change is measured",
            "tasks": self.tasks,
            "matrix": [[v if math.isfinite(v) else None for v in row] for row in self.mean],
            "counts": self.counts,
            "steps": self.steps,
        }


class AffinityAverage:
    """Running mean of affinity matrices, ignoring NaN entries."""

    def __init__(self, task_names: Sequence[str]) -> None:
        self.task_names = list(task_names)
        count = len(self.task_names)
        self.sums = torch.zeros(count, count, dtype=torch.float64)
        self.counts = torch.zeros(count, count, dtype=torch.int64)
        self.steps = 0

    def add(self, affinity: torch.Tensor) -> None:
        """Add one ``(T, T)`` matrix (NaN entries: not measured)."""
        measured = torch.isfinite(affinity)
        self.sums += torch.where(measured, affinity, 0.0)
        self.counts += measured.long()
        self.steps += 1

    def result(self) -> AffinityMatrix:
        means = torch.where(self.counts > 0, self.sums / self.counts.clamp_min(1), math.nan)
        return AffinityMatrix(self.task_names, means.tolist(), self.counts.tolist(), self.steps)


def write_affinity(matrix: AffinityMatrix, path: Path) -> Path:
    """Write ``affinity.json`` atomically; returns ``path``."""
    return write_text_atomic(path, json.dumps(matrix.to_json(), indent=2, allow_nan=False) + "\n")


def read_affinity(path: Path) -> AffinityMatrix:
    """Read an ``affinity.json``; a missing or malformed file raises an error naming it."""
    if not path.is_file():
        raise MissingFileError(f"{path} not found")
    try:
        data = json.loads(path.read_text())
        tasks = [str(task) for task in data["tasks"]]
        mean = [[math.nan if v is None else float(v) for v in row] for row in data["matrix"]]
        counts = [[int(c) for c in row] for row in data["counts"]]
        steps = int(data["steps"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedFileError(f"{path} is not an affinity file ({exc})") from exc
    if len(mean) != len(tasks) or any(len(row) != len(tasks) for row in mean):
        raise MalformedFileError(f"{path}: the matrix is not {len(tasks)} x {len(tasks)}")
    return AffinityMatrix(tasks, mean, counts, steps)


@contextmanager
def _parameters_replaced(
    parameters: Sequence[nn.Parameter], values: Sequence[torch.Tensor]
) -> Iterator[None]:
    """Give ``parameters`` the tensors ``values`` for the block, then their own tensors back.

    The swap goes through ``.data``, which leaves autograd's version counters alone: the step's
    graph, which saved these parameters, stays valid because the very same tensors are back in
    place before it is used again.
    """
    originals = [param.data for param in parameters]
    try:
        for param, value in zip(parameters, values, strict=True):
            param.data = value
        yield
    finally:
        for param, original in zip(parameters, originals, strict=True):
            param.data = original


@contextmanager
def _buffers_swapped_for_copies(model: nn.Module) -> Iterator[None]:
    """Give every buffer of ``model`` (e.g. BatchNorm running statistics) a copy for the block
    and put the originals back after it, untouched by whatever the block updated."""
    originals = list(model.named_buffers())
    try:
        for name, buffer in originals:
            _set_buffer(model, name, buffer.clone())
        yield
    finally:
        for name, buffer in originals:
            _set_buffer(model, name, buffer)


def _set_buffer(model: nn.Module, name: str, value: torch.Tensor) -> None:
    owner, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(owner), attribute, value)
