"""Evaluate a multi-task model on the validation split, every head beside its trivial baseline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from perception.config.schema import RunConfig
from perception.data.letterbox import letterbox
from perception.data.loader import make_loader
from perception.model.build import PerceptionModel
from perception.train.components import build_dataset


@dataclass
class EvalResult:
    """Per task: ``metrics[task] = {"model": {...}, "baseline": {...}}`` and which way each
    metric is better (``directions[task][metric]`` is ``"higher"`` or ``"lower"``)."""

    metrics: dict[str, dict[str, dict[str, float]]]
    directions: dict[str, dict[str, str]]
    images: int
    seconds: float
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "seconds": round(self.seconds, 3),
            "tasks": {
                task: {
                    **values,
                    "directions": self.directions[task],
                    "head": self.heads.get(task, {}),
                }
                for task, values in self.metrics.items()
            },
        }


def evaluate(
    model: PerceptionModel, config: RunConfig, device: torch.device, progress: bool = True
) -> EvalResult:
    """Run ``model`` over ``data.val_split`` and score every head; the baselines learn from the
    first ``eval.baseline_images`` training images (letterboxed, not augmented)."""
    started = time.perf_counter()
    evaluators = {name: head.evaluator() for name, head in model.task_heads()}
    train_set = build_dataset(config, config.data.split)
    height, width = config.data.input_height, config.data.input_width
    for index in islice(range(len(train_set)), config.eval.baseline_images):  # type: ignore[arg-type]
        sample = letterbox(train_set[index], height, width)
        for evaluator in evaluators.values():
            evaluator.observe_training_sample(sample)

    val_set = build_dataset(config, config.data.val_split)
    loader = make_loader(
        val_set, config.data, train=False, seed=config.seed, batch_size=config.eval.batch_size
    )
    model.eval()
    images = 0
    with torch.inference_mode():
        for batch in tqdm(loader, desc="eval", disable=not progress, leave=False):
            decoded = model(_to_model(batch.images, device, config.model.channels_last))
            for task, outputs in decoded.items():
                evaluators[task].update(decoded_to_numpy(outputs), batch.samples)
            images += len(batch)
    metrics = {task: evaluator.compute() for task, evaluator in evaluators.items()}
    directions = {name: head.metric_directions() for name, head in model.task_heads()}
    heads = {name: head.describe() for name, head in model.task_heads()}
    return EvalResult(metrics, directions, images, time.perf_counter() - started, heads)


def _to_model(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    images = images.to(device)
    return images.contiguous(memory_format=torch.channels_last) if channels_last else images


def decoded_to_numpy(decoded: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A head's decoded tensors as numpy arrays (floating point as float32)."""
    return {
        key: (value.float() if value.is_floating_point() else value).cpu().numpy()
        for key, value in decoded.items()
    }
