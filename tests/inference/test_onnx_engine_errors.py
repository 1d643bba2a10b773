"""What a user sees when the ONNX engine cannot run a file: one clear message, not a traceback;
and which provider runs, said once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from perception.errors import ConfigError, MalformedFileError, MissingFileError, PerceptionError
from perception.export.onnx_format import METADATA_KEY
from perception.inference.onnx_engine import OnnxEngine
from tests.cli.test_cli_errors import assert_one_line_error, run_cli


def cuda_runs_here(path: Path) -> bool:
    """Whether ONNX Runtime really runs ``path`` on CUDA on this machine (a GPU is lent)."""
    session = onnxruntime.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    return session.get_providers()[0] == "CUDAExecutionProvider"


@pytest.fixture
def truncated(tiny_onnx: Path, tmp_path: Path) -> Path:
    path = tmp_path / "truncated.onnx"
    data = tiny_onnx.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def without_metadata(tiny_onnx: Path, tmp_path: Path) -> Path:
    model = onnx.load(str(tiny_onnx))
    del model.metadata_props[:]
    path = tmp_path / "foreign.onnx"
    onnx.save(model, str(path))
    return path


def test_truncated_file_is_named_as_truncated(truncated: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"truncated\.onnx is not a complete ONNX model"):
        OnnxEngine(truncated, providers=["cpu"])
    assert_one_line_error(run_cli("inspect", str(truncated)), str(truncated), "truncated")


def test_file_without_our_metadata_says_so(without_metadata: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"foreign\.onnx has no 'perception' metadata"):
        OnnxEngine(without_metadata, providers=["cpu"])
    result = run_cli("inspect", str(without_metadata))
    assert_one_line_error(result, "foreign.onnx", "perception export")


def test_metadata_from_a_newer_toolkit_is_refused(tiny_onnx: Path, tmp_path: Path) -> None:
    model = onnx.load(str(tiny_onnx))
    props = {prop.key: prop.value for prop in model.metadata_props}
    metadata = json.loads(props[METADATA_KEY])
    metadata["format"] = 99
    onnx.helper.set_model_props(model, {METADATA_KEY: json.dumps(metadata)})
    path = tmp_path / "future.onnx"
    onnx.save(model, str(path))
    with pytest.raises(MalformedFileError, match="metadata format 99"):
        OnnxEngine(path, providers=["cpu"])


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"nowhere\.onnx does not exist"):
        OnnxEngine(tmp_path / "nowhere.onnx")


def test_unknown_provider_name_gets_a_suggestion(tiny_onnx: Path) -> None:
    with pytest.raises(ConfigError, match=r"'cdua' \(did you mean 'cuda'\?\)"):
        OnnxEngine(tiny_onnx, providers=["cdua", "cpu"])


def test_unavailable_provider_is_a_clear_error(tiny_onnx: Path) -> None:
    if cuda_runs_here(tiny_onnx):
        pytest.skip("CUDA runs on this machine, so it is not unavailable")
    with pytest.raises(PerceptionError, match=r"none of the requested .* CUDAExecutionProvider: "):
        OnnxEngine(tiny_onnx, providers=["cuda"])
    result = run_cli("inspect", str(tiny_onnx), "--providers", "cuda")
    assert_one_line_error(result, "CUDAExecutionProvider", "add 'cpu'")


def test_fallback_says_once_which_provider_runs_and_why(tiny_onnx: Path) -> None:
    if cuda_runs_here(tiny_onnx):
        pytest.skip("CUDA runs on this machine, so nothing falls back")
    messages: list[str] = []
    engine = OnnxEngine(tiny_onnx, providers=["cuda", "cpu"], log=messages.append)
    assert engine.provider == "CPUExecutionProvider"
    assert len(messages) == 1
    assert "on CPUExecutionProvider" in messages[0]
    assert "skipped CUDAExecutionProvider: " in messages[0]
    assert engine.predict([np.zeros((40, 60, 3), np.uint8)])
    assert len(messages) == 1, "predicting says nothing more"


def test_inspect_shows_heads_input_and_provider(tiny_onnx: Path) -> None:
    result = run_cli("inspect", str(tiny_onnx), "--providers", "cpu")
    assert result.returncode == 0, result.stderr
    assert "input 96x160 RGB, float32, runs on CPUExecutionProvider" in result.stdout
    assert "traffic_lights: boxes of traffic_light with state (red/yellow/green/off)" in (
        result.stdout
    )
    assert "pedestrian_keypoints: people with 17 keypoints" in result.stdout
    assert result.stderr.count("running tiny.onnx on CPUExecutionProvider") == 1
