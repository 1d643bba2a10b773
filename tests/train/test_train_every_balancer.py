"""Every registered balancer trains the tiny model through the real trainer; its diagnostics
plot is drawn."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from perception.plugins import get_plugin_manager
from perception.report.training_plots import write_training_plots
from perception.train.train_log import read_train_log
from perception.train.trainer import train
from tests.train.tiny_run import tiny_config

BALANCERS = sorted(get_plugin_manager().balancers.names())


@pytest.mark.parametrize("name", BALANCERS)
def test_balancer_trains_the_tiny_model(name: str, tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path,
        f"balancer.type={name}",
        "model.heads=[cars, depth, pedestrian_keypoints]",
        "train.max_steps=3",
        "train.log_every=1",
        "train.diagnostics_every=1",
    )
    result = train(config, tmp_path, progress=False)
    log = read_train_log(result.log)
    assert log["step"] == [1.0, 2.0, 3.0]
    for task in config.model.heads:
        assert all(math.isfinite(v) and v >= 0 for v in log[f"weight/{task}"]), task
        assert all(math.isfinite(v) for v in log[f"loss/{task}"]), task
        assert math.isfinite(log[f"grad_norm/{task}"][-1]), task
    plots = write_training_plots(result.log, tmp_path / "report", result.affinity)
    assert plots.convergence.stat().st_size > 0
