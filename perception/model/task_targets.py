"""Per-task target encoding for a batch: each head encodes its own targets, the core stacks them.

Runs inside DataLoader workers (through the collate function), so the main process only moves
ready tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from perception.data.sample import Sample
from perception.data.task_label_fraction import UNLABELLED_TASKS
from perception.model.task_head import TaskHead


@dataclass
class TaskTargets:
    """Stacked targets per task and which samples are labelled for it.

    Attributes:
        targets: ``{task: {name: (B, ...)}}``; rows of unlabelled samples are zeros.
        labelled: ``{task: (B,) bool}``.
    """

    targets: dict[str, dict[str, torch.Tensor]]
    labelled: dict[str, torch.Tensor]

    def to(self, device: torch.device) -> TaskTargets:
        return TaskTargets(
            {
                task: {k: v.to(device, non_blocking=True) for k, v in arrays.items()}
                for task, arrays in self.targets.items()
            },
            {task: mask.to(device, non_blocking=True) for task, mask in self.labelled.items()},
        )


class TargetEncoder:
    """Calls every head's ``encode_targets`` on each sample and stacks the results; a sample
    whose ``meta["unlabelled_tasks"]`` lists a task counts as unlabelled for it."""

    def __init__(self, heads: Mapping[str, TaskHead]) -> None:
        self.heads = dict(heads)

    def __call__(self, samples: list[Sample]) -> TaskTargets:
        targets: dict[str, dict[str, torch.Tensor]] = {}
        labelled: dict[str, torch.Tensor] = {}
        for task, head in self.heads.items():
            encoded = [
                None
                if task in sample.meta.get(UNLABELLED_TASKS, ())  # type: ignore[operator]
                else head.encode_targets(sample)
                for sample in samples
            ]
            labelled[task] = torch.tensor([item is not None for item in encoded])
            targets[task] = _stack(task, encoded)
        return TaskTargets(targets, labelled)


def _stack(task: str, encoded: list[dict[str, np.ndarray] | None]) -> dict[str, torch.Tensor]:
    """Stack per-sample arrays; unlabelled samples get zeros shaped like a labelled one."""
    example = next((item for item in encoded if item is not None), None)
    if example is None:
        return {}
    stacked: dict[str, torch.Tensor] = {}
    for key, value in example.items():
        rows = []
        for index, item in enumerate(encoded):
            if item is None:
                rows.append(np.zeros_like(value))
                continue
            array = item[key]
            if array.shape != value.shape or array.dtype != value.dtype:
                raise ValueError(
                    f"head '{task}' encoded target '{key}' as {array.shape} {array.dtype} for "
                    f"sample {index} but {value.shape} {value.dtype} for another; targets must "
                    "have one fixed shape"
                )
            rows.append(array)
        stacked[key] = torch.from_numpy(np.stack(rows))
    return stacked
