"""``perception export`` as a user runs it: a trained checkpoint to one checked ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from perception.export.onnx_format import METADATA_KEY
from tests.cli.test_cli_errors import assert_one_line_error, run_cli
from tests.train.tiny_run import TINY_CONFIG


def test_export_writes_one_checked_file_with_metadata(tmp_path: Path) -> None:
    trained = run_cli("train", str(TINY_CONFIG), "-o", str(tmp_path), "--set", "train.max_steps=1")
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "deploy" / "model.onnx"
    result = run_cli(
        "export",
        str(tmp_path / "checkpoints" / "last.pt"),
        "-o",
        str(out),
        "--heads",
        "cars",
        "depth",
    )
    assert result.returncode == 0, result.stderr
    assert "checked against PyTorch" in result.stdout
    model = onnx.load(str(out))
    props = {prop.key: prop.value for prop in model.metadata_props}
    metadata = json.loads(props[METADATA_KEY])
    assert list(metadata["heads"]) == ["cars", "depth"]
    names = [output.name for output in model.graph.output]
    assert names and all(name.split(".")[0] in ("cars", "depth") for name in names)
    assert "depth.map" in names
    assert [p.name for p in out.parent.iterdir()] == ["model.onnx"], "no temporary files left"

    half = tmp_path / "deploy16" / "model.onnx"
    result = run_cli("export", str(tmp_path / "checkpoints" / "last.pt"), "-o", str(half), "--half")
    assert result.returncode == 0, result.stderr
    assert "float16" in result.stdout
    props = {prop.key: prop.value for prop in onnx.load(str(half)).metadata_props}
    assert json.loads(props[METADATA_KEY])["precision"] == "float16"


def test_export_of_an_unknown_head_is_one_line(tmp_path: Path) -> None:
    trained = run_cli("train", str(TINY_CONFIG), "-o", str(tmp_path), "--set", "train.max_steps=1")
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "model.onnx"
    result = run_cli(
        "export", str(tmp_path / "checkpoints" / "last.pt"), "-o", str(out), "--heads", "carz"
    )
    assert_one_line_error(result, "carz")
    assert not out.exists()
