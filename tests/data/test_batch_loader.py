"""Batching and the DataLoader: shapes, workers, reproducibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from perception.config.schema import AugmentConfig, DataConfig
from perception.data.loader import collate_samples, make_loader
from perception.data.sample import Sample
from tests.data.conftest import random_sample


class ListDataset(Dataset[Sample]):
    """Samples of different sizes; every third one has no depth."""

    def __init__(self, count: int) -> None:
        self.samples = []
        for index in range(count):
            rng = np.random.default_rng(index)
            height, width = int(rng.integers(40, 90)), int(rng.integers(60, 140))
            sample = random_sample(rng, height, width, num_objects=index % 4, image_id=f"s{index}")
            if index % 3 == 0:
                sample = dataclasses.replace(sample, depth=None)
            self.samples.append(sample)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]


def config(workers: int, augment: bool = True) -> DataConfig:
    return DataConfig(
        input_height=48,
        input_width=64,
        batch_size=3,
        num_workers=workers,
        augment=AugmentConfig(enabled=augment),
    )


def batches_of(loader, epochs: int = 1):
    return [batch for _ in range(epochs) for batch in loader]


def test_batches_have_the_right_shapes_with_two_workers():
    dataset = ListDataset(7)
    batches = batches_of(make_loader(dataset, config(workers=2), train=True, seed=0))
    assert [len(batch) for batch in batches] == [3, 3], "training drops the last partial batch"
    evaluation = batches_of(make_loader(dataset, config(workers=2), train=False, seed=0))
    assert [len(batch) for batch in evaluation] == [3, 3, 1]
    for batch in batches:
        count = len(batch)
        assert batch.images.shape == (count, 3, 48, 64) and batch.images.dtype == torch.uint8
        assert batch.depth.shape == (count, 48, 64) and batch.depth.dtype == torch.float32
        assert batch.has_depth.shape == (count,) and batch.has_depth.dtype == torch.bool
        for row, sample in enumerate(batch.samples):
            assert batch.has_depth[row] == (sample.depth is not None)
            assert "letterbox" in sample.meta and "augment" in sample.meta
            if sample.depth is None:
                assert torch.all(batch.depth[row] == 0)
    seen = sorted(sample.image_id for batch in evaluation for sample in batch.samples)
    assert seen == sorted(f"s{index}" for index in range(7))


def test_same_seed_same_batches_regardless_of_workers():
    dataset = ListDataset(7)
    first = batches_of(make_loader(dataset, config(workers=2), train=True, seed=3), epochs=2)
    again = batches_of(make_loader(dataset, config(workers=0), train=True, seed=3), epochs=2)
    other = batches_of(make_loader(dataset, config(workers=0), train=True, seed=4), epochs=2)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.depth, b.depth)
        assert [s.image_id for s in a.samples] == [s.image_id for s in b.samples]
    assert any(not torch.equal(a.images, c.images) for a, c in zip(first, other, strict=False))
    epoch_one, epoch_two = first[:3], first[3:]
    assert any(
        not torch.equal(a.images, b.images) for a, b in zip(epoch_one, epoch_two, strict=True)
    )


def test_evaluation_keeps_order_and_does_not_augment():
    dataset = ListDataset(5)
    batches = batches_of(make_loader(dataset, config(workers=0), train=False, seed=0))
    ids = [sample.image_id for batch in batches for sample in batch.samples]
    assert ids == [f"s{index}" for index in range(5)]
    assert all("augment" not in s.meta for batch in batches for s in batch.samples)


def test_collate_refuses_mixed_sizes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="letterbox"):
        collate_samples([random_sample(rng, 20, 30), random_sample(rng, 20, 31)])
