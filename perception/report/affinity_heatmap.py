"""The mean lookahead inter-task affinity matrix as an annotated heatmap PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from perception.atomic import write_bytes_atomic
from perception.balancing.affinity import AffinityMatrix


def plot_affinity(matrix: AffinityMatrix, path: Path) -> Path:
    """Rows: the task whose gradient took the lookahead step; columns: the task whose loss
    changed. Red is negative transfer, blue positive, on a scale symmetric about 0 and set by
    the pairs ``i != j`` (the diagonal, a step's effect on its own task, is usually far larger
    and saturates); each cell shows its mean (blank without samples). Written atomically;
    returns ``path``."""
    values = np.array(matrix.mean, dtype=np.float64)
    count = len(matrix.tasks)
    pairs = values[~np.eye(count, dtype=bool) & np.isfinite(values)]
    if pairs.size == 0:
        pairs = values[np.isfinite(values)]
    largest = float(np.abs(pairs).max()) if pairs.size else 0.0
    scale = largest if largest > 0 else 1.0
    size = 2.0 + 0.9 * count
    figure = Figure(figsize=(size + 1.5, size))
    axis = figure.subplots()
    image = axis.imshow(
        np.ma.masked_invalid(values), cmap="RdBu", vmin=-scale, vmax=scale, interpolation="nearest"
    )
    axis.set_xticks(range(count), matrix.tasks, rotation=40, ha="right")
    axis.set_yticks(range(count), matrix.tasks)
    axis.set_xlabel("task j (its loss change)")
    axis.set_ylabel("task i (lookahead step on its loss)")
    axis.set_title(f"inter-task affinity Z[i][j], mean over {matrix.steps} steps")
    for i in range(count):
        for j in range(count):
            value = values[i, j]
            if math.isfinite(value):
                colour = "white" if abs(value) > 0.6 * scale else "black"
                axis.text(j, i, f"{value:.2g}", ha="center", va="center", color=colour, fontsize=8)
    figure.colorbar(image, ax=axis, shrink=0.8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return write_bytes_atomic(path, buffer.getvalue())
