"""Diagnostics and affinity inside a real (tiny) training run: logged, plotted, harmless."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from perception.report.training_plots import write_training_plots
from perception.train.checkpoint import load_checkpoint
from perception.train.json_lines import read_json_lines
from perception.train.train_log import read_train_log
from perception.train.trainer import train
from tests.train.tiny_run import tiny_config

HEADS = ("cars", "depth", "pedestrian_keypoints")
SETTINGS = (
    f"model.heads=[{', '.join(HEADS)}]",
    "data.augment.enabled=false",
    "train.max_steps=4",
    "train.log_every=1",
    "train.checkpoint_every=2",
    "train.keep_checkpoints=true",
)
PROBES = ("train.diagnostics_every=2", "train.affinity_every=3")


def test_diagnostics_and_affinity_are_logged_plotted_and_change_nothing(tmp_path: Path) -> None:
    out = tmp_path / "probed"
    probed = train(tiny_config(out, *SETTINGS, *PROBES), out, progress=False)

    log = read_train_log(probed.log)
    for task in HEADS:
        for prefix in ("ratio", "inv_rate", "grad_norm", "weight"):
            assert f"{prefix}/{task}" in log, f"{prefix}/{task}"
        measured = log[f"grad_norm/{task}"]
        assert math.isnan(measured[0]) and math.isnan(measured[2])  # steps 1 and 3
        assert measured[1] > 0 and measured[3] > 0  # steps 2 and 4
    assert all(-1.0 <= log["grad_cos_mean"][i] <= 1.0 for i in (1, 3))
    assert all(0.0 <= log["conflict_fraction"][i] <= 1.0 for i in (1, 3))

    records = read_json_lines(out / "diagnostics.jsonl")
    assert [r["step"] for r in records] == [2, 4]
    cosines = torch.tensor(records[1]["cosines"], dtype=torch.float64)
    assert cosines.shape == (3, 3) and torch.allclose(cosines, cosines.T)
    assert records[1]["grad_cos_mean"] == pytest.approx(log["grad_cos_mean"][3], rel=1e-5)

    assert probed.affinity is not None and probed.affinity.steps == 1  # step 3
    assert probed.affinity.tasks == list(HEADS)
    assert (out / "affinity.json").is_file()
    plots = write_training_plots(probed.log, out / "report", probed.affinity)
    for path in (plots.losses, plots.convergence, plots.affinity):
        assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The measurements leave training exactly as it would have been without them.
    plain = train(
        tiny_config(tmp_path / "plain", *SETTINGS, "train.diagnostics_every=0"),
        tmp_path / "plain",
        progress=False,
    )
    assert plain.affinity is None and not (tmp_path / "plain" / "diagnostics.jsonl").exists()
    a, b = load_checkpoint(probed.checkpoint), load_checkpoint(plain.checkpoint)
    for key, value in a.model.items():
        assert torch.equal(value, b.model[key]), key

    # A run resumed from step 2 keeps the records up to step 2 and L(0), and re-measures step 4.
    resumed = train(
        tiny_config(out, *SETTINGS, *PROBES),
        out,
        resume=out / "checkpoints" / "step_000002.pt",
        progress=False,
    )
    again = read_json_lines(out / "diagnostics.jsonl")
    assert [r["step"] for r in again] == [2, 4]
    assert again[1]["initial_losses"] == records[1]["initial_losses"]
    assert resumed.affinity is not None and resumed.affinity.steps == 1
