"""Keep a task's labels on only a fraction of the training images (``data.label_fraction``).

Real datasets label some tasks on far fewer images than others. This wrapper reproduces that on
any dataset: for ``{"stop_signs": 0.1}`` it marks 90% of the images (a fixed, seeded choice) as
unlabelled for ``stop_signs`` by listing the task in ``sample.meta["unlabelled_tasks"]``. The
target encoder then gives that head no targets for those images (zero loss), while every other
head still trains on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sized

import numpy as np
from torch.utils.data import Dataset

from perception.data.sample import Sample

UNLABELLED_TASKS = "unlabelled_tasks"
"""``Sample.meta`` key: tasks whose labels this image must be treated as not having."""


class TaskLabelFraction(Dataset[Sample]):
    """Wraps a map-style dataset; task ``t`` stays labelled on ``round(f_t * N)`` images.

    Args:
        dataset: the training dataset.
        fractions: ``{task: fraction in [0, 1]}``.
        seed: which images keep each task's labels is drawn from ``(seed, task)``.
    """

    def __init__(self, dataset: Dataset[Sample], fractions: Mapping[str, float], seed: int) -> None:
        if not isinstance(dataset, Sized):
            raise ValueError("TaskLabelFraction needs a map-style dataset with __len__")
        self.dataset = dataset
        count = len(dataset)
        self.unlabelled: dict[int, list[str]] = {}
        for task, fraction in sorted(fractions.items()):
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"label fraction of '{task}' must be in [0, 1], got {fraction}")
            rng = np.random.default_rng([seed, *task.encode()])
            kept = round(fraction * count)
            for index in rng.permutation(count)[kept:].tolist():
                self.unlabelled.setdefault(index, []).append(task)

    def __len__(self) -> int:
        assert isinstance(self.dataset, Sized)
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        sample = self.dataset[index]
        tasks = self.unlabelled.get(index)
        if tasks:
            sample = dataclasses.replace(sample, meta={**sample.meta, UNLABELLED_TASKS: [*tasks]})
        return sample
