"""Map-style dataset that renders synthetic driving scenes on the fly.

Item ``i`` is the scene rendered from seed ``seed * 1_000_003 + i``: the same ``(seed, i)``
always gives the same sample, in any process, and datasets with different seeds do not share
scenes (for ``i < 1_000_003``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from torch.utils.data import Dataset

from perception.config.schema import SynthConfig
from perception.data.sample import Sample
from perception.synth.world import render_scene

SEED_STRIDE = 1_000_003
"""Scene seed of item ``i`` is ``seed * SEED_STRIDE + i``."""


class SyntheticDataset(Dataset[Sample]):
    """``num_images`` synthetic scenes; item ``i`` has ``image_id`` ``"<seed>_<i:06d>"``.

    ``meta["scene_seed"]`` records the seed the scene was rendered from.
    """

    def __init__(
        self,
        config: SynthConfig,
        num_images: int,
        seed: int,
        transform: Callable[[Sample], Sample] | None = None,
    ) -> None:
        if num_images < 0:
            raise ValueError(f"num_images must be >= 0, got {num_images}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.config = config
        self.num_images = num_images
        self.seed = seed
        self.transform = transform

    def __len__(self) -> int:
        return self.num_images

    def scene_seed(self, index: int) -> int:
        """The seed that item ``index`` is rendered from."""
        return self.seed * SEED_STRIDE + index

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        scene_seed = self.scene_seed(index)
        rendered = render_scene(self.config, scene_seed)
        sample = dataclasses.replace(
            rendered,
            image_id=f"{self.seed}_{index:06d}",
            meta={**rendered.meta, "scene_seed": scene_seed},
        )
        return self.transform(sample) if self.transform is not None else sample
