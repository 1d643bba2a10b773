"""Per-task training loss curves from ``train_log.csv``, as a PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.figure import Figure

from perception.atomic import write_bytes_atomic


def plot_task_losses(log: dict[str, list[float]], path: Path) -> Path:
    """One panel per task (``loss/<task>`` columns against ``step``), log-scaled y, plus the
    learning rate; written atomically as PNG. Returns ``path``."""
    tasks = [column.split("/", 1)[1] for column in log if column.startswith("loss/")]
    if not tasks:
        raise ValueError(f"{path}: the training log has no loss/<task> columns")
    panels = [*tasks, "learning rate"]
    columns = 4
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(4 * columns, 2.8 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    steps = log["step"]
    for axis, panel in zip(axes.flat, panels, strict=False):
        if panel == "learning rate":
            axis.plot(steps, log["lr"], color="tab:gray")
        else:
            values = log[f"loss/{panel}"]
            axis.plot(steps, values, color="tab:blue")
            if all(v > 0 for v in values if not math.isnan(v)):
                axis.set_yscale("log")
        axis.set_title(panel)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(panels) :]:
        axis.axis("off")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return write_bytes_atomic(path, buffer.getvalue())
