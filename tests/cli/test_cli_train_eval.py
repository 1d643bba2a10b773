"""``perception train`` and ``perception eval`` as a user runs them, including their errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_errors import assert_one_line_error, run_cli
from tests.train.tiny_run import TINY_CONFIG


def test_train_then_eval_write_checkpoint_logs_and_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    trained = run_cli("train", str(TINY_CONFIG), "-o", str(out), "--set", "train.max_steps=2")
    assert trained.returncode == 0, trained.stderr
    checkpoint = out / "checkpoints" / "last.pt"
    assert checkpoint.is_file() and (out / "train_log.csv").is_file()
    assert (out / "config.yaml").is_file()
    assert any((out / "tensorboard").iterdir()), "TensorBoard event file"
    for plot in ("losses.png", "convergence.png"):
        assert (out / "report" / plot).read_bytes()[:4] == b"\x89PNG", plot

    evaluated = run_cli("eval", str(checkpoint), "--no-progress")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["images"] == 8
    assert set(metrics["tasks"]) == {
        "traffic_lights", "cars", "pedestrians", "stop_signs", "depth", "pedestrian_keypoints"
    }  # fmt: skip
    depth = metrics["tasks"]["depth"]
    assert {"model", "baseline", "directions"} <= set(depth)
    assert depth["baseline"]["abs_rel"] > 0
    assert "| depth | abs_rel ↓ |" in (out / "eval" / "metrics.md").read_text()

    resumed = run_cli(
        "train", str(TINY_CONFIG), "-o", str(out), "--set", "train.max_steps=3", "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "trained 3 steps" in resumed.stdout


def test_eval_of_a_corrupt_checkpoint_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint at all")
    assert_one_line_error(run_cli("eval", str(bad)), "model.pt", "is not a torch checkpoint")


def test_train_with_an_unknown_head_is_one_line(tmp_path: Path) -> None:
    result = run_cli(
        "train", str(TINY_CONFIG), "-o", str(tmp_path), "--set", "model.heads=[cars, lane_lines]"
    )
    assert_one_line_error(result, "unknown head 'lane_lines'")
    assert not (tmp_path / "checkpoints").exists()


def test_resume_from_a_different_head_set_is_one_line(tmp_path: Path) -> None:
    first = run_cli(
        "train", str(TINY_CONFIG), "-o", str(tmp_path / "a"), "--set", "train.max_steps=1"
    )
    assert first.returncode == 0, first.stderr
    result = run_cli(
        "train", str(TINY_CONFIG), "-o", str(tmp_path / "b"),
        "--set", "model.heads=[cars]",
        "--resume", str(tmp_path / "a" / "checkpoints" / "last.pt"),
    )  # fmt: skip
    assert_one_line_error(result, "trained with heads", "['cars']")
