"""Atomic writes: the final name appears only when the write completed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from perception.atomic import atomic_path, write_text_atomic
from perception.errors import OutputPathError


def test_success_renames_into_place_and_keeps_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "out.mp4"
    with atomic_path(target) as temp:
        assert temp.suffix == ".mp4"
        assert temp.parent == target.parent
        assert not target.exists()
        temp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert list(target.parent.iterdir()) == [target]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_files_get_the_mode_a_plain_write_gives(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_text_atomic(tmp_path / "model.onnx", "x")
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    os.chmod(plain, 0o640)  # a replaced file keeps its own mode, as with open(path, "w")
    assert stat.S_IMODE(write_text_atomic(plain, "y").stat().st_mode) == 0o640


def test_a_folder_or_an_unmakeable_folder_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "out.mp4").mkdir()
    with pytest.raises(OutputPathError, match=r"out\.mp4 is a folder; give a file name"):
        write_text_atomic(tmp_path / "out.mp4", "x")
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(OutputPathError, match=r"notes\.txt is a file, not a folder"):
        write_text_atomic(tmp_path / "notes.txt" / "run.json", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "out.mp4"]
