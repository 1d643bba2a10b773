"""The run report: training time, the metric table, loss curves, convergence diagnostics,
inter-task affinity (when measured) and drawn predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perception.atomic import write_text_atomic
from perception.eval.evaluate import EvalResult
from perception.eval.results_table import markdown_table


@dataclass
class ReportInputs:
    """What the report shows; image paths are made relative to the report's folder."""

    title: str
    config_path: Path
    train_seconds: float
    train_steps: int
    train_images: int
    device: str
    evaluation: EvalResult
    loss_plot: Path
    prediction_sheet: Path
    convergence_plot: Path | None = None
    affinity_plot: Path | None = None
    affinity_warnings: list[str] = field(default_factory=list)


def write_report(inputs: ReportInputs, path: Path) -> Path:
    """Write ``report.md`` (atomically) and return its path."""
    folder = path.parent
    minutes = inputs.train_seconds / 60
    lines = [
        f"# {inputs.title}",
        "",
        f"Training took **{inputs.train_seconds:.0f} s ({minutes:.1f} min)** for "
        f"{inputs.train_steps} optimizer steps on {inputs.train_images} training images "
        f"({inputs.device}). Config: `{_relative(inputs.config_path, folder)}`.",
        "",
        "## Metrics on the validation split",
        "",
        f"{inputs.evaluation.images} validation images. Each metric stands beside its trivial "
        "baseline (detection: the training set's mean box per class, once per image; light "
        "state: the most common state; depth: the training set's mean depth per image row; "
        "keypoints: the mean pose in the mean pedestrian box).",
        "",
        markdown_table(inputs.evaluation).rstrip(),
        "",
        "## Training losses",
        "",
        f"![per-task training losses]({_relative(inputs.loss_plot, folder)})",
        "",
    ]
    if inputs.convergence_plot is not None:
        lines += [
            "## Convergence diagnostics",
            "",
            "Loss ratio L(t)/L(0) and inverse training rate per task, the balancer's weights, "
            "per-task gradient norms at the last shared layer, and the mean cosine between task "
            "gradients with the fraction of conflicting pairs.",
            "",
            f"![convergence diagnostics]({_relative(inputs.convergence_plot, folder)})",
            "",
        ]
    if inputs.affinity_plot is not None:
        lines += [
            "## Inter-task affinity",
            "",
            "Lookahead affinity (Fifty et al. 2021): the relative drop of task j's loss after an "
            "SGD step on task i alone, averaged over training; negative means task i hurts task j.",
            "",
            f"![inter-task affinity]({_relative(inputs.affinity_plot, folder)})",
            "",
            *(f"- **warning:** {warning}" for warning in inputs.affinity_warnings),
            *([""] if inputs.affinity_warnings else ["No pair has negative mean affinity.", ""]),
        ]
    lines += [
        "## Predictions (left) and ground truth (right) on validation images",
        "",
        f"![predictions]({_relative(inputs.prediction_sheet, folder)})",
        "",
    ]
    return write_text_atomic(path, "\n".join(lines))


def _relative(target: Path, folder: Path) -> str:
    try:
        return str(target.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(target)
