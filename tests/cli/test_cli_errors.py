"""The console script: listing plugins, and one clear line plus a non-zero exit on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PERCEPTION = Path(sys.executable).with_name("perception")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PERCEPTION), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_plugins_lists_the_builtin_plugins_with_their_package() -> None:
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    builtin = ("synthetic", "coco", "cars", "depth", "pedestrian_keypoints", "resnet18", "equal")
    for name in builtin:
        assert "perception-driving 0.1.0" in rows[name]
    for kind in ("heads", "balancers", "backbones", "datasets"):
        assert any(line.startswith(f"{kind} (") for line in result.stdout.splitlines())


def test_unknown_config_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("synth:\n  hieght: 100\n")
    result = run_cli("synth", "--config", str(config), "-o", str(tmp_path / "out"))
    assert_one_line_error(result, str(config), "'synth.hieght'", "did you mean 'height'")
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("demo", "--config", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "o"))
    assert_one_line_error(result, "nope.yaml", "not found")


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("data.dataset=synthtic", ("unknown dataset 'synthtic'", "did you mean 'synthetic'")),
        ("data.batch_size=many", ("'data.batch_size'", "expects int")),
    ],
)
def test_bad_override_or_unknown_plugin(
    tmp_path: Path, override: str, fragments: tuple[str, ...]
) -> None:
    result = run_cli("demo", "--set", override, "-o", str(tmp_path / "out"))
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()


def test_coco_dataset_without_root_names_the_key(tmp_path: Path) -> None:
    result = run_cli("demo", "--set", "data.dataset=coco", "-o", str(tmp_path / "out"))
    assert_one_line_error(result, "data.root")
    assert not (tmp_path / "out").exists()


def test_missing_dataset_root_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dataset"
    result = run_cli(
        "demo", "--set", "data.dataset=coco", "--set", f"data.root={missing}", "-o", str(tmp_path)
    )
    assert_one_line_error(result, str(missing), "not found")
