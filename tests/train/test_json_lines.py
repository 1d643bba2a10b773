"""JSON-lines step records: strict JSON, and a resumed run keeps only its own history."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from perception.errors import MalformedFileError
from perception.train.json_lines import JsonLinesLog, read_json_lines


def test_records_are_strict_json_with_nan_as_null(tmp_path: Path) -> None:
    log = JsonLinesLog(tmp_path / "d.jsonl")
    log.append({"step": 2, "values": [1.0, math.nan], "nested": {"x": math.inf}})
    (line,) = (tmp_path / "d.jsonl").read_text().splitlines()
    assert json.loads(line) == {"step": 2, "values": [1.0, None], "nested": {"x": None}}


def test_a_new_run_empties_the_file_and_a_resumed_one_keeps_records_up_to_its_step(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.jsonl"
    first = JsonLinesLog(path)
    for step in (2, 4, 6):
        first.append({"step": step})
    resumed = JsonLinesLog(path, resume_step=4)
    assert [r["step"] for r in resumed.records] == [2, 4]
    resumed.append({"step": 6, "again": True})
    assert read_json_lines(path) == [{"step": 2}, {"step": 4}, {"step": 6, "again": True}]
    assert JsonLinesLog(path).records == [] and read_json_lines(path) == []


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"step": 1}\n{"no_step": 2}\n')
    with pytest.raises(MalformedFileError, match=r"d\.jsonl:2"):
        read_json_lines(path)
    path.write_text("not json\n")
    with pytest.raises(MalformedFileError, match=r"d\.jsonl:1: not JSON"):
        JsonLinesLog(path, resume_step=3)
