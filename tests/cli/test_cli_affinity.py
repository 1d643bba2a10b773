"""``perception affinity CONFIG`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_errors import assert_one_line_error, run_cli
from tests.train.tiny_run import TINY_CONFIG

PNG = b"\x89PNG\r\n\x1a\n"


def test_affinity_writes_the_matrix_and_heatmap_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "affinity"
    result = run_cli(
        "affinity", str(TINY_CONFIG), "-o", str(out), "--every", "1", "--no-progress",
        "--set", "model.heads=[cars, depth]", "--set", "train.max_steps=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    matrix = json.loads((out / "affinity.json").read_text())
    assert matrix["tasks"] == ["cars", "depth"] and matrix["steps"] == 2
    assert matrix["counts"] == [[2, 2], [2, 2]]
    assert all(isinstance(value, float) for row in matrix["matrix"] for value in row)
    assert (out / "report" / "affinity.png").read_bytes()[:8] == PNG
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("i \\ j"))
    assert header.split()[-2:] == ["cars", "depth"]
    rows = [line for line in lines if line.split()[:1] in (["cars"], ["depth"])]
    assert len(rows) == 2 and all(len(row.split()) == 3 for row in rows)
    negative = [
        (source, target)
        for i, source in enumerate(matrix["tasks"])
        for j, target in enumerate(matrix["tasks"])
        if i != j and matrix["matrix"][i][j] < 0
    ]
    warned = [line for line in lines if line.startswith("warning: task ")]
    assert len(warned) == len(negative)
    for source, target in negative:
        assert any(f"task {source} hurts task {target}" in line for line in warned)


def test_affinity_refuses_an_interval_longer_than_the_run(tmp_path: Path) -> None:
    result = run_cli(
        "affinity", str(TINY_CONFIG), "-o", str(tmp_path / "a"), "--every", "50",
        "--set", "train.max_steps=3",
    )  # fmt: skip
    assert_one_line_error(result, "train.max_steps (3)", "(50)")
    assert not (tmp_path / "a").exists()
