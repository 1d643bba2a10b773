"""Batching: collate letterboxed samples into a :class:`Batch`, and build the DataLoader.

Reproducibility does not depend on the number of workers: the sampler (which runs in the main
process) draws, per epoch, the visiting order and one augmentation seed per item from
``(seed, epoch)``, and each worker augments item ``i`` with its own seed. Global RNGs inside
workers are seeded from the loader's generator too, for any other randomness a dataset uses.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from perception.config.schema import DataConfig
from perception.data.augment import Augmenter
from perception.data.letterbox import letterbox
from perception.data.sample import Sample


@dataclass
class Batch:
    """A batch of ``B`` samples of equal size ``H x W``.

    Attributes:
        images: ``(B, 3, H, W)`` uint8 RGB (normalisation is the model's job).
        depth: ``(B, H, W)`` float32 metres, 0 = unknown (all 0 where ``has_depth`` is False).
        has_depth: ``(B,)`` bool, the sample carries depth labels.
        samples: the ``B`` samples themselves, for the per-task target encoders.
        targets: per-task targets when the loader was given a target encoder (a
            :class:`~perception.model.task_targets.TaskTargets`), else ``None``.
    """

    images: torch.Tensor
    depth: torch.Tensor
    has_depth: torch.Tensor
    samples: list[Sample]
    targets: Any = None

    def __len__(self) -> int:
        return len(self.samples)


def collate_samples(samples: list[Sample]) -> Batch:
    """Stack samples (all ``(H, W, 3)`` with the same ``H, W``) into a :class:`Batch`."""
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    sizes = {(sample.height, sample.width) for sample in samples}
    if len(sizes) != 1:
        ids = [sample.image_id for sample in samples]
        raise ValueError(f"samples {ids} differ in size {sorted(sizes)}; letterbox them first")
    height, width = sizes.pop()
    images = torch.from_numpy(np.stack([sample.image for sample in samples]))
    depth = np.zeros((len(samples), height, width), dtype=np.float32)
    has_depth = np.zeros(len(samples), dtype=bool)
    for row, sample in enumerate(samples):
        if sample.depth is not None:
            depth[row] = sample.depth
            has_depth[row] = True
    return Batch(
        images=images.permute(0, 3, 1, 2).contiguous(),
        depth=torch.from_numpy(depth),
        has_depth=torch.from_numpy(has_depth),
        samples=list(samples),
    )


class BatchCollator:
    """``collate_fn``: :func:`collate_samples`, then the target encoder (in the worker)."""

    def __init__(self, target_encoder: Callable[[list[Sample]], Any] | None = None) -> None:
        self.target_encoder = target_encoder

    def __call__(self, samples: list[Sample]) -> Batch:
        batch = collate_samples(samples)
        if self.target_encoder is not None:
            batch.targets = self.target_encoder(samples)
        return batch


class SeededSampler(Sampler[tuple[int, int]]):
    """Yields ``(index, augmentation_seed)`` pairs; a new order and new seeds every epoch.

    Epoch ``e`` (the ``e``-th iteration, from 0) uses ``numpy.random.default_rng([seed, e])``.
    :meth:`resume_at` makes the next iteration epoch ``e`` minus its first ``skip`` items, so a
    resumed run sees exactly the items an uninterrupted run would have.
    """

    def __init__(self, length: int, shuffle: bool, seed: int) -> None:
        self.length = length
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.skip = 0

    def resume_at(self, epoch: int, skip: int) -> None:
        """Continue with epoch ``epoch``, leaving out its first ``skip`` items."""
        self.epoch = epoch
        self.skip = skip

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        order = rng.permutation(self.length) if self.shuffle else np.arange(self.length)
        seeds = rng.integers(0, 2**31 - 1, size=self.length)
        skip, self.skip = self.skip, 0
        yield from zip(order.tolist()[skip:], seeds.tolist()[skip:], strict=True)


class PreparedDataset(Dataset[Sample]):
    """Wraps a dataset: item ``(index, seed)`` is ``dataset[index]`` augmented, letterboxed."""

    def __init__(
        self, dataset: Dataset[Sample], height: int, width: int, augmenter: Augmenter | None
    ) -> None:
        self.dataset = dataset
        self.height = height
        self.width = width
        self.augmenter = augmenter

    def __len__(self) -> int:
        assert isinstance(self.dataset, Sized)
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Sample:
        index, seed = key
        sample = self.dataset[index]
        if self.augmenter is not None:
            sample = self.augmenter(sample, seed)
        return letterbox(sample, self.height, self.width)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed Python's and NumPy's global RNGs from the worker's torch seed."""
    worker_seed = torch.initial_seed() % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)


def make_loader(
    dataset: Dataset[Sample],
    data_config: DataConfig,
    train: bool,
    seed: int,
    target_encoder: Callable[[list[Sample]], Any] | None = None,
    batch_size: int | None = None,
) -> DataLoader[Sample]:
    """DataLoader of :class:`Batch` es of ``data_config.batch_size`` letterboxed samples.

    Training shuffles and (when ``data_config.augment.enabled``) augments; evaluation keeps
    the order and does neither. Workers (``data_config.num_workers``) persist across epochs.
    ``target_encoder`` (e.g. a :class:`~perception.model.task_targets.TargetEncoder`) runs in
    the workers and fills ``Batch.targets``. ``batch_size`` overrides ``data_config.batch_size``.
    """
    if not isinstance(dataset, Sized):
        raise ValueError("make_loader needs a map-style dataset with __len__")
    batch_size = data_config.batch_size if batch_size is None else batch_size
    if batch_size <= 0:
        raise ValueError(f"data.batch_size must be positive, got {batch_size}")
    if data_config.num_workers < 0:
        raise ValueError(f"data.num_workers must be >= 0, got {data_config.num_workers}")
    augment = train and data_config.augment.enabled
    prepared = PreparedDataset(
        dataset,
        data_config.input_height,
        data_config.input_width,
        Augmenter(data_config.augment) if augment else None,
    )
    workers = data_config.num_workers
    return DataLoader(
        prepared,
        batch_size=batch_size,
        sampler=SeededSampler(len(dataset), shuffle=train, seed=seed),
        collate_fn=BatchCollator(target_encoder),
        drop_last=train,
        num_workers=workers,
        persistent_workers=workers > 0,
        worker_init_fn=seed_worker if workers > 0 else None,
        generator=torch.Generator().manual_seed(seed),
    )
