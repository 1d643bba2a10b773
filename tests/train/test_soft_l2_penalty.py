"""The trainer applies soft sharing's L2 tie: a larger weight keeps the task backbones closer."""

from __future__ import annotations

from pathlib import Path

from perception.model.l2_tie import pairwise_squared_distance
from perception.train.trainer import train
from tests.train.tiny_run import tiny_config


def backbone_distance(tmp_path: Path, weight: float) -> float:
    config = tiny_config(
        tmp_path,
        "model.heads=[cars, depth]",
        "model.sharing=soft",
        "model.soft_tie=l2",
        f"model.soft_l2_weight={weight}",
        "train.max_steps=4",
        "train.lr=0.01",
        "train.warmup_steps=0",
    )
    model = train(config, tmp_path, progress=False).model
    return float(pairwise_squared_distance(list(model.backbones.values())).detach())


def test_l2_tie_pulls_the_task_backbones_together(tmp_path: Path) -> None:
    free = backbone_distance(tmp_path / "free", 0.0)
    tied = backbone_distance(tmp_path / "tied", 10.0)
    assert free > 0, "untied backbones drift apart"
    assert tied < 0.5 * free, (tied, free)
