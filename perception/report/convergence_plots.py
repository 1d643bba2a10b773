"""Convergence diagnostics from ``train_log.csv``, as one PNG.

Five panels against the step, one line per task in the same colour throughout: the loss ratio
``L_i(t) / L_i(0)``, the inverse training rate (1 = the average pace), the balancer's weights, the
per-task gradient norm at the last shared layer, and the mean pairwise gradient cosine with the
fraction of conflicting task pairs. A panel whose columns hold no measurement says so.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from perception.atomic import write_bytes_atomic

PANELS = (
    ("ratio", "loss ratio L(t) / L(0)"),
    ("inv_rate", "inverse training rate"),
    ("weight", "balancer weight"),
    ("grad_norm", "gradient norm, last shared layer"),
)


def plot_convergence(log: dict[str, list[float]], path: Path) -> Path:
    """Draw the diagnostics columns of ``log`` (``read_train_log``) and write ``path``
    atomically as PNG. Returns ``path``."""
    tasks = [column.split("/", 1)[1] for column in log if column.startswith("loss/")]
    if not tasks or "step" not in log:
        raise ValueError(f"{path}: the training log has no step or loss/<task> columns")
    figure = Figure(figsize=(15, 7.5))
    axes = list(figure.subplots(2, 3, squeeze=False).flat)
    steps = log["step"]
    colours = {task: f"C{index % 10}" for index, task in enumerate(tasks)}
    for axis, (prefix, title) in zip(axes, PANELS, strict=False):
        drawn = False
        for task in tasks:
            points = _finite(steps, log.get(f"{prefix}/{task}", []))
            if points:
                axis.plot(*zip(*points, strict=True), color=colours[task], marker=".", label=task)
                drawn = True
        if drawn and prefix == "grad_norm" and _all_positive(log, prefix, tasks):
            axis.set_yscale("log")
        if drawn and prefix in ("ratio", "inv_rate", "weight"):
            axis.axhline(1.0, color="black", linewidth=0.6, alpha=0.5)
        _finish(axis, title, drawn)
    _plot_conflicts(axes[4], steps, log)
    legend = axes[5]
    legend.axis("off")
    legend.legend(
        handles=[legend.plot([], [], color=colours[task], label=task)[0] for task in tasks],
        loc="center",
        title="tasks",
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return write_bytes_atomic(path, buffer.getvalue())


def _plot_conflicts(axis: Axes, steps: list[float], log: dict[str, list[float]]) -> None:
    drawn = False
    for column, label, colour in (
        ("grad_cos_mean", "mean cosine", "tab:blue"),
        ("conflict_fraction", "conflicting pairs", "tab:red"),
    ):
        points = _finite(steps, log.get(column, []))
        if points:
            axis.plot(*zip(*points, strict=True), color=colour, marker=".", label=label)
            drawn = True
    if drawn:
        axis.set_ylim(-1.05, 1.05)
        axis.axhline(0.0, color="black", linewidth=0.6, alpha=0.5)
        axis.legend(loc="best", fontsize="small")
    _finish(axis, "task-gradient cosine / conflict fraction", drawn)


def _finish(axis: Axes, title: str, drawn: bool) -> None:
    axis.set_title(title)
    axis.set_xlabel("step")
    axis.grid(alpha=0.3)
    if not drawn:
        axis.text(
            0.5,
            0.5,
            "not measured\n(train.diagnostics_every)",
            ha="center",
            va="center",
            transform=axis.transAxes,
            color="gray",
        )


def _finite(steps: list[float], values: list[float]) -> list[tuple[float, float]]:
    return [(s, v) for s, v in zip(steps, values, strict=False) if math.isfinite(v)]


def _all_positive(log: dict[str, list[float]], prefix: str, tasks: list[str]) -> bool:
    values = [v for task in tasks for v in log.get(f"{prefix}/{task}", []) if math.isfinite(v)]
    return all(v > 0 for v in values)
