"""``--device`` says where any model runs, an ONNX file included; ``--providers`` refines it for
ONNX files and is refused, not ignored, for a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from perception.errors import ConfigError
from perception.inference import onnx_engine
from perception.inference.onnx_engine import OnnxEngine
from perception.inference.open_engine import open_engine
from perception.inference.providers import preference_for_device
from tests.cli.test_cli_errors import assert_one_line_error, run_cli
from tests.inference.test_onnx_engine_errors import cuda_runs_here

TRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"


@pytest.mark.parametrize(
    ("device", "providers", "preference", "options"),
    [
        ("auto", None, [TRT, CUDA, CPU], {}),
        ("auto", ["cuda"], [CUDA], {}),
        ("cpu", None, [CPU], {}),
        ("cuda", None, [TRT, CUDA], {}),
        ("cuda:1", None, [TRT, CUDA], {TRT: {"device_id": "1"}, CUDA: {"device_id": "1"}}),
        (
            "cuda:0",
            ["cuda", "cpu"],
            [CUDA, CPU],
            {TRT: {"device_id": "0"}, CUDA: {"device_id": "0"}},
        ),
    ],
)
def test_device_chooses_the_providers(
    device: str, providers: list[str] | None, preference: list[str], options: dict
) -> None:
    assert preference_for_device(device, providers) == (preference, options)


@pytest.mark.parametrize(
    ("device", "providers", "message"),
    [
        ("cpu", ["cuda", "cpu"], r"device cpu contradicts the GPU providers \['CUDAExecution"),
        ("cuda:1", ["cpu"], r"device cuda:1 needs a GPU provider .* \['CPUExecutionProvider'\]"),
        ("gpu", None, r"'gpu' is not a device for an ONNX model; use auto, cpu, cuda or cuda:N"),
        ("cuda:one", None, r"'cuda:one' is not a device"),
        ("cpu:0", None, r"'cpu:0' is not a device"),
    ],
)
def test_contradictions_and_unknown_devices_are_refused(
    device: str, providers: list[str] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        preference_for_device(device, providers)


def test_provider_options_are_added_to_the_defaults(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: dict[str, Any] = {}

    def record_options(model: bytes, source: Path, preference: list, options: dict, _: Any):
        offered.update(options)
        raise ConfigError("recorded")

    monkeypatch.setattr(onnx_engine, "open_session", record_options)
    with pytest.raises(ConfigError, match="recorded"):
        OnnxEngine(tiny_onnx, providers=["cuda"], provider_options={"cuda": {"device_id": "1"}})
    assert offered[CUDA] == {"cudnn_conv_algo_search": "HEURISTIC", "device_id": "1"}


def test_device_cpu_runs_an_onnx_model_on_the_cpu(tiny_onnx: Path) -> None:
    messages: list[str] = []
    engine = open_engine(tiny_onnx, device="cpu", log=messages.append)
    assert engine.device == CPU
    assert messages == [f"onnxruntime: running {tiny_onnx.name} on {CPU}"]


def test_device_cuda_does_not_fall_back_to_the_cpu(tiny_onnx: Path) -> None:
    if cuda_runs_here(tiny_onnx):
        pytest.skip("CUDA runs on this machine")
    result = run_cli("inspect", str(tiny_onnx), "--device", "cuda")
    assert_one_line_error(result, "none of the requested", f"{CUDA}: ")


def test_providers_for_a_checkpoint_are_refused(tmp_path: Path) -> None:
    checkpoint = tmp_path / "last.pt"
    result = run_cli("inspect", str(checkpoint), "--providers", "cpu")
    assert_one_line_error(
        result, "ONNX Runtime providers ['cpu'] were given for", "choose its device instead"
    )
