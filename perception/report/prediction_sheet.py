"""Predictions drawn on validation images, beside the ground truth, as one PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from perception.data.draw import draw_labels
from perception.data.image_file import write_image_atomic
from perception.data.sample import Sample
from perception.eval.evaluate import decoded_to_numpy
from perception.model.build import PerceptionModel


def draw_predictions(
    model: PerceptionModel, samples: Sequence[Sample], score_threshold: float
) -> list[np.ndarray]:
    """Each letterboxed sample's image ``(H, W, 3)`` with every head's predictions drawn."""
    device = next(model.parameters()).device
    images = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2)
    model.eval()
    with torch.inference_mode():
        decoded = model(images.to(device))
    drawn = []
    for row, sample in enumerate(samples):
        canvas = sample.image.copy()
        for name, head in model.task_heads():
            arrays = decoded_to_numpy(decoded[name])
            head.draw(canvas, {key: value[row] for key, value in arrays.items()}, score_threshold)
        drawn.append(canvas)
    return drawn


def write_prediction_sheet(
    model: PerceptionModel, samples: Sequence[Sample], path: Path, score_threshold: float
) -> Path:
    """Rows of ``[predictions | ground truth]`` for letterboxed ``samples``; PNG, atomic."""
    if not samples:
        raise ValueError(f"{path}: no samples to draw")
    predicted = draw_predictions(model, samples, score_threshold)
    rows = [
        np.concatenate([prediction, draw_labels(sample)], axis=1)
        for prediction, sample in zip(predicted, samples, strict=True)
    ]
    return write_image_atomic(path, np.concatenate(rows, axis=0))
