"""The plots every finished training writes under ``<run>/report/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perception.balancing.affinity import AffinityMatrix
from perception.report.affinity_heatmap import plot_affinity
from perception.report.convergence_plots import plot_convergence
from perception.report.loss_plots import plot_task_losses
from perception.train.train_log import read_train_log


@dataclass
class TrainingPlots:
    """Paths of the written plots (``affinity`` only when affinity was measured)."""

    losses: Path
    convergence: Path
    affinity: Path | None


def write_training_plots(
    log_path: Path, report_dir: Path, affinity: AffinityMatrix | None = None
) -> TrainingPlots:
    """``losses.png`` and ``convergence.png`` from the training log, and ``affinity.png`` from
    ``affinity`` when given, all in ``report_dir``."""
    log = read_train_log(log_path)
    return TrainingPlots(
        losses=plot_task_losses(log, report_dir / "losses.png"),
        convergence=plot_convergence(log, report_dir / "convergence.png"),
        affinity=plot_affinity(affinity, report_dir / "affinity.png") if affinity else None,
    )
