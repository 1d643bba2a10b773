"""SyntheticDataset: deterministic on-the-fly rendering, seed scheme, bounds."""

from __future__ import annotations

import numpy as np
import pytest

from perception.config.schema import SynthConfig

pytest.importorskip("perception.synth.world", reason="the synthetic world is not written yet")

from perception.data import synthetic_dataset
from perception.data.sample import Sample
from perception.data.synthetic_dataset import SEED_STRIDE, SyntheticDataset

SMALL = SynthConfig(height=64, width=96)


def test_items_are_rendered_deterministically():
    dataset = SyntheticDataset(SMALL, num_images=3, seed=5)
    assert len(dataset) == 3
    first, again = dataset[1], SyntheticDataset(SMALL, num_images=3, seed=5)[1]
    assert first.image.shape == (64, 96, 3)
    np.testing.assert_array_equal(first.image, again.image)
    assert first.image_id == "5_000001"
    assert first.meta["scene_seed"] == 5 * SEED_STRIDE + 1
    assert not np.array_equal(first.image, dataset[2].image)


def test_scene_seeds_and_transform(monkeypatch):
    seen: list[int] = []

    def fake_render(config: SynthConfig, seed: int) -> Sample:
        seen.append(seed)
        return Sample(image=np.zeros((config.height, config.width, 3), np.uint8))

    monkeypatch.setattr(synthetic_dataset, "render_scene", fake_render)

    def brighten(sample: Sample) -> Sample:
        return Sample(image=sample.image + 1, image_id=sample.image_id)

    dataset = SyntheticDataset(SMALL, num_images=4, seed=2, transform=brighten)
    assert dataset[3].image.max() == 1
    dataset[0]
    assert seen == [2 * SEED_STRIDE + 3, 2 * SEED_STRIDE]
    with pytest.raises(IndexError):
        dataset[4]
    with pytest.raises(ValueError, match="num_images"):
        SyntheticDataset(SMALL, num_images=-1, seed=0)
