"""Shared helpers for tests that train or evaluate the tiny config."""

from __future__ import annotations

from pathlib import Path

from perception.config.loader import load_config
from perception.config.schema import RunConfig, SynthConfig
from perception.data.sample import Sample
from perception.data.synthetic_dataset import SyntheticDataset
from tests.conftest import REPO_ROOT

TINY_CONFIG = REPO_ROOT / "configs" / "tiny.yaml"


def tiny_config(tmp_path: Path, *overrides: str) -> RunConfig:
    """``configs/tiny.yaml`` with outputs under ``tmp_path`` and ``overrides`` applied."""
    return load_config(TINY_CONFIG, [f"output_dir={tmp_path}", *overrides])


def synthetic_samples(count: int, height: int, width: int, seed: int = 11) -> list[Sample]:
    """``count`` rendered scenes of ``height x width`` with every label group."""
    config = SynthConfig(height=height, width=width, max_pedestrians=4, max_stop_signs=2)
    dataset = SyntheticDataset(config, num_images=count, seed=seed)
    return [dataset[i] for i in range(count)]
