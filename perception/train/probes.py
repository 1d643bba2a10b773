"""The measurements the trainer takes every few steps besides the losses themselves.

- Convergence diagnostics (:mod:`perception.balancing.diagnostics`) every
  ``train.diagnostics_every`` steps: their columns go into the next training-log row (NaN in the
  rows between measurements, so the columns exist from the first row) and every measurement,
  with the pairwise cosine matrix, into ``diagnostics.jsonl``.
- Lookahead inter-task affinity (:mod:`perception.balancing.affinity`) every
  ``train.affinity_every`` steps: each matrix goes into ``affinity.jsonl``, their mean into
  ``affinity.json`` at the end.

Both run before the balancer's backward, on the step's graph. A resumed run keeps the records up
to its checkpoint's step and continues from them (``L_i(0)`` and the affinity average).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch

from perception.balancing.affinity import (
    AffinityAverage,
    AffinityMatrix,
    LossFunction,
    lookahead_affinity,
    write_affinity,
)
from perception.balancing.diagnostics import ConvergenceDiagnostics, diagnostic_columns
from perception.config.schema import TrainConfig
from perception.errors import ConfigError
from perception.model.build import PerceptionModel
from perception.train.json_lines import JsonLinesLog


class TrainingProbes:
    """Diagnostics and affinity for one run (each off when its interval is 0).

    Args:
        config: ``diagnostics_every`` and ``affinity_every`` are read.
        model: the model being trained.
        out_dir: the run folder.
        resume_step: the step a resumed run continues from, ``None`` for a new run.
    """

    def __init__(
        self,
        config: TrainConfig,
        model: PerceptionModel,
        out_dir: Path,
        resume_step: int | None = None,
    ) -> None:
        for key in ("diagnostics_every", "affinity_every"):
            if getattr(config, key) < 0:
                raise ConfigError(f"train.{key} must be >= 0 (0 = off), got {getattr(config, key)}")
        self.model = model
        self.tasks = model.head_names
        self.diagnostics_every = config.diagnostics_every
        self.affinity_every = config.affinity_every
        self.affinity_path = out_dir / "affinity.json"
        self._columns = diagnostic_columns(self.tasks) if self.diagnostics_every else []
        self._pending = dict.fromkeys(self._columns, math.nan)
        if self.diagnostics_every:
            self._diagnostics_log = JsonLinesLog(out_dir / "diagnostics.jsonl", resume_step)
            records = self._diagnostics_log.records
            initial = records[-1]["initial_losses"] if records else None
            self._diagnostics = ConvergenceDiagnostics(self.tasks, initial)
        if self.affinity_every:
            self._affinity_log = JsonLinesLog(out_dir / "affinity.jsonl", resume_step)
            self._affinity = AffinityAverage(self.tasks)
            for record in self._affinity_log.records:
                rows = [[math.nan if v is None else v for v in row] for row in record["matrix"]]
                self._affinity.add(torch.tensor(rows, dtype=torch.float64))

    def before_backward(
        self,
        step: int,
        losses: Mapping[str, torch.Tensor],
        recompute: LossFunction,
        lr: float,
    ) -> None:
        """Measure what is due at ``step`` (1-based: the step being taken) from its ``losses``
        (live graph, left alive); ``recompute`` redoes the step's forward, ``lr`` is its
        learning rate."""
        if self.diagnostics_every:
            self._diagnostics.observe(losses)
            if step % self.diagnostics_every == 0:
                measured = self._diagnostics.measure(
                    step, losses, self.model.last_shared_parameters()
                )
                self._pending = measured.row()
                self._diagnostics_log.append(measured.record())
        if self.affinity_every and step % self.affinity_every == 0:
            matrix = lookahead_affinity(
                self.model, losses, recompute, self.model.shared_parameters(), lr, self.tasks
            )
            self._affinity.add(matrix)
            self._affinity_log.append({"step": step, "lr": lr, "matrix": matrix.tolist()})

    def log_columns(self) -> dict[str, float]:
        """The diagnostic columns for the next log row: the latest measurement since the last
        row, NaN when there was none (empty when diagnostics are off)."""
        columns = self._pending
        self._pending = dict.fromkeys(self._columns, math.nan)
        return columns

    def finish(self) -> AffinityMatrix | None:
        """Write ``affinity.json`` (the mean over the measured steps) when affinity is on."""
        if not self.affinity_every:
            return None
        result = self._affinity.result()
        write_affinity(result, self.affinity_path)
        return result
