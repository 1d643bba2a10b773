"""Built-in datasets: the procedural driving world and the on-disk COCO-style format."""

from __future__ import annotations

from perception.config.schema import RunConfig
from perception.data.coco_reader import CocoDataset
from perception.data.synthetic_dataset import SyntheticDataset
from perception.errors import ConfigError
from perception.plugins import DatasetRecord, hookimpl

SPLIT_SEED_OFFSETS = {"train": 0, "val": 1, "test": 2}
"""The synthetic world renders disjoint scenes per split by offsetting the run seed."""


def build_synthetic(config: RunConfig, split: str) -> SyntheticDataset:
    """Scenes rendered on the fly from ``config.seed``: ``config.data.num_images`` for the
    training split, ``config.data.val_num_images`` for the others."""
    if split not in SPLIT_SEED_OFFSETS:
        raise ConfigError(
            f"synthetic dataset: unknown split '{split}'; use one of {sorted(SPLIT_SEED_OFFSETS)}"
        )
    seed = config.seed * len(SPLIT_SEED_OFFSETS) + SPLIT_SEED_OFFSETS[split]
    count = config.data.num_images if split == "train" else config.data.val_num_images
    return SyntheticDataset(config.synth, num_images=count, seed=seed)


def build_coco(config: RunConfig, split: str) -> CocoDataset:
    """A folder written by ``perception synth`` (or any dataset in the same COCO-style layout)."""
    if config.data.root is None:
        raise ConfigError(
            "dataset 'coco' needs data.root: the folder written by `perception synth`"
        )
    return CocoDataset(config.data.root, split)


@hookimpl
def perception_register_datasets() -> list[DatasetRecord]:
    return [
        DatasetRecord(
            "synthetic", build_synthetic, "procedural driving scenes rendered on the fly"
        ),
        DatasetRecord("coco", build_coco, "COCO-style JSON + images + 16-bit depth PNGs on disk"),
    ]
