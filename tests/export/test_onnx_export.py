"""The ONNX exporter on the tiny model: graph validity, ONNX Runtime against PyTorch, metadata,
head subsets, and refusal to write a graph that disagrees with PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import numpy_helper

from perception.config.loader import config_to_dict
from perception.config.schema import RunConfig
from perception.errors import ConfigError, PerceptionError
from perception.export.onnx_export import export_onnx
from perception.export.onnx_format import INPUT_NAME, METADATA_KEY


def noise_images(config: RunConfig, count: int) -> torch.Tensor:
    """``(count, 3, H, W)`` float32 RGB noise in [0, 255] at the input size. Noise, not rendered
    scenes: flat scene regions give exactly tied peak scores, whose top-k order PyTorch and ONNX
    Runtime break differently."""
    generator = torch.Generator().manual_seed(count)
    shape = (count, 3, config.data.input_height, config.data.input_width)
    return torch.rand(shape, generator=generator) * 255.0


def torch_outputs(model: torch.nn.Module, images: torch.Tensor) -> dict[str, np.ndarray]:
    with torch.no_grad():
        decoded = model(images)
    return {
        f"{head}.{name}": value.numpy()
        for head, values in decoded.items()
        for name, value in values.items()
    }


def read_metadata(path: Path) -> dict[str, Any]:
    props = {prop.key: prop.value for prop in onnx.load(path).metadata_props}
    return json.loads(props[METADATA_KEY])


def test_export_passes_the_checker_and_has_a_dynamic_batch(tiny_onnx: Path) -> None:
    onnx.checker.check_model(str(tiny_onnx), full_check=True)
    graph = onnx.load(tiny_onnx).graph
    assert [i.name for i in graph.input] == [INPUT_NAME]
    batch_dim = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.HasField("dim_value")
    assert not any(i.data_location == onnx.TensorProto.EXTERNAL for i in graph.initializer)


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runtime_matches_pytorch(
    tiny_model: tuple[torch.nn.Module, RunConfig], tiny_onnx: Path, batch: int
) -> None:
    model, config = tiny_model
    images = noise_images(config, batch)
    expected = torch_outputs(model, images)
    session = onnxruntime.InferenceSession(str(tiny_onnx), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    assert names == list(expected)
    actual = dict(zip(names, session.run(names, {INPUT_NAME: images.numpy()}), strict=True))
    for name, reference in expected.items():
        assert actual[name].shape == reference.shape, name
        assert actual[name].dtype == reference.dtype, name
        if np.issubdtype(reference.dtype, np.floating):
            assert np.abs(actual[name] - reference).max() <= 1e-4, name
        else:
            np.testing.assert_array_equal(actual[name], reference, err_msg=name)


def test_metadata_describes_every_output(
    tiny_model: tuple[torch.nn.Module, RunConfig], tiny_onnx: Path
) -> None:
    model, config = tiny_model
    metadata = read_metadata(tiny_onnx)
    images = noise_images(config, 2)
    expected = torch_outputs(model, images)
    assert metadata["outputs"] == list(expected)
    assert list(metadata["heads"]) == config.model.heads
    for head_name, head in model.task_heads():
        entry = metadata["heads"][head_name]
        assert entry["describe"] == json.loads(json.dumps(head.describe()))
        for output_name, output in entry["outputs"].items():
            assert output_name == f"{head_name}.{output['name']}"
            reference = expected[output_name]
            assert output["shape"] == ["batch", *reference.shape[1:]]
            assert output["dtype"] == str(reference.dtype)
    described = {name for entry in metadata["heads"].values() for name in entry["outputs"]}
    assert described == set(expected)
    assert metadata["input"]["shape"][1:] == [3, config.data.input_height, config.data.input_width]
    assert metadata["input"]["colour_order"] == "RGB"
    assert metadata["normalisation"]["in_graph"] is True
    assert metadata["config"] == json.loads(json.dumps(config_to_dict(config)))


def test_head_subset_exports_only_those_heads(
    tiny_model: tuple[torch.nn.Module, RunConfig], tmp_path: Path
) -> None:
    model, config = tiny_model
    path = export_onnx(model, config, tmp_path / "subset.onnx", heads=["cars", "depth"])
    outputs = [output.name for output in onnx.load(path).graph.output]
    assert outputs and {name.split(".")[0] for name in outputs} == {"cars", "depth"}
    assert "depth.map" in outputs and "cars.boxes" in outputs
    assert list(read_metadata(path)["heads"]) == ["cars", "depth"]


def test_unknown_head_is_refused_with_a_suggestion(
    tiny_model: tuple[torch.nn.Module, RunConfig], tmp_path: Path
) -> None:
    model, config = tiny_model
    with pytest.raises(ConfigError, match=r"'car'.*did you mean 'cars'"):
        export_onnx(model, config, tmp_path / "x.onnx", heads=["car"])
    assert not list(tmp_path.iterdir())


def test_half_export_stores_float16_weights_behind_float32_input_and_outputs(
    tiny_model: tuple[torch.nn.Module, RunConfig], tiny_onnx: Path, tmp_path: Path
) -> None:
    model, config = tiny_model
    path = export_onnx(model, config, tmp_path / "half.onnx", half=True)
    proto = onnx.load(path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    for output in proto.graph.output:
        assert output.type.tensor_type.elem_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64)
    large = [init for init in proto.graph.initializer if np.prod(init.dims) >= 1024]
    assert large and all(init.data_type == onnx.TensorProto.FLOAT16 for init in large)
    assert read_metadata(path)["precision"] == "float16"
    assert read_metadata(tiny_onnx)["precision"] == "float32"
    assert path.stat().st_size < 0.8 * tiny_onnx.stat().st_size

    images = noise_images(config, 2)
    expected = torch_outputs(model, images)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    actual = dict(zip(names, session.run(names, {INPUT_NAME: images.numpy()}), strict=True))
    depth_error = np.abs(actual["depth.map"] - expected["depth.map"])
    assert 0 < depth_error.max() <= 0.1 + 0.02 * np.abs(expected["depth.map"]).max()
    assert actual["cars.scores"].dtype == np.float32


@pytest.mark.parametrize("half", [False, True])
def test_disagreement_with_pytorch_writes_no_file(
    tiny_model: tuple[torch.nn.Module, RunConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    half: bool,
) -> None:
    """A graph whose weights drifted from the model's (here: every depth weight shifted after
    export) must be refused, naming the output, with nothing left in the folder."""
    real_export = torch.onnx.export

    def drifting_export(*args: Any, **kwargs: Any) -> SimpleNamespace:
        proto = real_export(*args, **kwargs).model_proto
        for initializer in proto.graph.initializer:
            if "heads.depth" in initializer.name:
                weights = numpy_helper.to_array(initializer)
                if np.issubdtype(weights.dtype, np.floating):
                    initializer.CopyFrom(numpy_helper.from_array(weights + 0.5, initializer.name))
        return SimpleNamespace(model_proto=proto)

    monkeypatch.setattr(torch.onnx, "export", drifting_export)
    model, config = tiny_model
    precision = "float16" if half else "float32"
    message = rf"{precision} graph in ONNX Runtime disagrees.*head 'depth'.*max abs difference"
    with pytest.raises(PerceptionError, match=message):
        export_onnx(model, config, tmp_path / "drift.onnx", heads=["depth"], half=half)
    assert not list(tmp_path.iterdir())
