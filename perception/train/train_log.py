"""Training logs: one CSV row per logged step, mirrored to TensorBoard.

The CSV (``train_log.csv``) is what the report plots from; its columns are set by the first
row: ``step, epoch, seconds, lr, loss``, ``loss/<task>`` and ``weight/<task>`` per task, then
the convergence diagnostics when they are on (see :mod:`perception.train.probes`). A row that
brings a new column (e.g. a resumed run that turned diagnostics on) rewrites the file with the
column added and empty cells in the earlier rows. Rows are flushed as they are written, so a
killed run keeps its log. NaN values (a diagnostic not measured in that row) are written to the
CSV as ``nan`` and left out of TensorBoard.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import IO

from perception.atomic import atomic_path


class TrainLog:
    """Appends rows to ``<out>/train_log.csv`` and scalars to ``<out>/tensorboard``."""

    def __init__(self, out_dir: Path, append: bool = False, tensorboard: bool = True) -> None:
        self.path = out_dir / "train_log.csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        self._columns: list[str] | None = None
        if append and self.path.is_file():
            with self.path.open(newline="") as handle:
                header = next(csv.reader(handle), None)
            self._columns = header
        self._file: IO[str] = self.path.open("a" if append else "w", newline="")
        self._writer = csv.writer(self._file)
        self._tensorboard = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tensorboard = SummaryWriter(str(out_dir / "tensorboard"))

    def write(self, row: dict[str, float]) -> None:
        """Log one step's values (``row["step"]`` is the x axis)."""
        if self._columns is None:
            self._columns = list(row)
            self._writer.writerow(self._columns)
        elif any(key not in self._columns for key in row):
            self._add_columns([key for key in row if key not in self._columns])
        self._writer.writerow([_format(row.get(column, "")) for column in self._columns])
        self._file.flush()
        if self._tensorboard is not None:
            step = int(row["step"])
            for key, value in row.items():
                if key != "step" and not math.isnan(value):
                    self._tensorboard.add_scalar(key, value, step)

    def _add_columns(self, new: list[str]) -> None:
        """Rewrite the CSV (atomically) with ``new`` columns appended to the header."""
        assert self._columns is not None
        self._file.close()
        with self.path.open(newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        self._columns = [*self._columns, *new]
        with atomic_path(self.path) as temp, temp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self._columns)
            writer.writerows(row + [""] * (len(self._columns) - len(row)) for row in rows)
        self._file = self.path.open("a", newline="")
        self._writer = csv.writer(self._file)

    def close(self) -> None:
        self._file.close()
        if self._tensorboard is not None:
            self._tensorboard.close()


def _format(value: float | str) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def read_train_log(path: Path) -> dict[str, list[float]]:
    """The CSV as ``{column: values}`` (empty cells become NaN)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {
        column: [
            float(row[column]) if row[column] not in ("", None) else float("nan") for row in rows
        ]
        for column in rows[0]
    }
