"""Evaluation results on disk: ``metrics.json`` and a markdown table, written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path

from perception.atomic import write_text_atomic
from perception.eval.evaluate import EvalResult
from perception.strict_json import finite_or_none


def markdown_table(result: EvalResult) -> str:
    """One row per task and metric: the model, the trivial baseline, and whether the model is
    better (by the metric's direction)."""
    lines = [
        "| task | metric | model | baseline | better than baseline |",
        "|---|---|---:|---:|:---:|",
    ]
    for task, values in result.metrics.items():
        for metric, value in values["model"].items():
            baseline = values.get("baseline", {}).get(metric, math.nan)
            direction = result.directions[task].get(metric, "higher")
            if math.isnan(value) or math.isnan(baseline):
                verdict = "-"
            elif direction == "lower":
                verdict = "yes" if value < baseline else "no"
            else:
                verdict = "yes" if value > baseline else "no"
            arrow = "↓" if direction == "lower" else "↑"
            cells = [task, f"{metric} {arrow}", _number(value), _number(baseline), verdict]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(result: EvalResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md`` under ``out_dir``; return both paths."""
    json_path = write_text_atomic(
        out_dir / "metrics.json", json.dumps(finite_or_none(result.to_json()), indent=2) + "\n"
    )
    header = (
        f"# Evaluation\n\n{result.images} validation images, {result.seconds:.1f} s. "
        "Arrows give the better direction.\n\n"
    )
    md_path = write_text_atomic(out_dir / "metrics.md", header + markdown_table(result))
    return json_path, md_path


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.1f}"
