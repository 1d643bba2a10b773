"""The torch engine and the ONNX Runtime engine: one interface, the same predictions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from perception.config.schema import RunConfig
from perception.errors import ConfigError, PerceptionError
from perception.export.onnx_export import export_onnx
from perception.inference.compare import FLOAT16, FLOAT32, prediction_differences
from perception.inference.onnx_engine import OnnxEngine
from perception.inference.predictions import DepthMap, Detections, PoseDetections
from perception.inference.torch_engine import TorchEngine
from tests.model_fixtures import FRAME_HEIGHT, FRAME_WIDTH


def torch_engine(tiny_model: tuple[torch.nn.Module, RunConfig]) -> TorchEngine:
    model, config = tiny_model
    return TorchEngine(model, (config.data.input_height, config.data.input_width))


def onnx_engine(path: Path, **options: object) -> OnnxEngine:
    return OnnxEngine(path, providers=["cpu"], log=lambda message: None, **options)


@pytest.mark.parametrize("count", [1, 3])
def test_onnx_and_torch_engines_return_the_same_detections(
    tiny_model: tuple[torch.nn.Module, RunConfig],
    tiny_onnx: Path,
    bgr_frames: list[np.ndarray],
    count: int,
) -> None:
    frames = bgr_frames[:count]
    expected = torch_engine(tiny_model).predict(frames, score_threshold=0.0)
    actual = onnx_engine(tiny_onnx).predict(frames, score_threshold=0.0)
    assert prediction_differences(actual, expected, FLOAT32, score_threshold=0.0) == []
    detections = sum(
        len(prediction)
        for frame in expected
        for prediction in frame.values()
        if isinstance(prediction, Detections | PoseDetections)
    )
    assert detections > 0, "the comparison must cover real detections"


def test_float16_file_agrees_with_the_float32_model_within_float16_tolerance(
    tiny_model: tuple[torch.nn.Module, RunConfig], bgr_frames: list[np.ndarray], tmp_path: Path
) -> None:
    model, config = tiny_model
    path = export_onnx(model, config, tmp_path / "half.onnx", half=True)
    expected = torch_engine(tiny_model).predict(bgr_frames, score_threshold=0.0)
    actual = onnx_engine(path).predict(bgr_frames, score_threshold=0.0)
    assert prediction_differences(actual, expected, FLOAT16, score_threshold=0.0) == []
    assert prediction_differences(actual, expected, FLOAT32, score_threshold=0.0) != [], (
        "float16 arithmetic must show at float32 tolerance"
    )


def test_predictions_are_in_source_frame_coordinates(
    tiny_onnx: Path, bgr_frames: list[np.ndarray]
) -> None:
    (frame,) = onnx_engine(tiny_onnx).predict(bgr_frames[:1], score_threshold=0.0)
    cars = frame["cars"]
    assert isinstance(cars, Detections) and len(cars) > 0
    assert cars.boxes.dtype == np.float32 and cars.boxes.shape == (len(cars), 4)
    assert (cars.boxes >= 0).all()
    assert (cars.boxes[:, [0, 2]] <= FRAME_WIDTH).all()
    assert (cars.boxes[:, [1, 3]] <= FRAME_HEIGHT).all()
    assert set(cars.labels()) == {"car"}
    lights = frame["traffic_lights"]
    assert isinstance(lights, Detections)
    assert set(lights.attributes["state"].labels()) <= {"red", "yellow", "green", "off"}
    np.testing.assert_allclose(lights.attributes["state"].scores.sum(axis=1), 1.0, atol=1e-5)
    depth = frame["depth"]
    assert isinstance(depth, DepthMap)
    assert depth.metres.shape == (FRAME_HEIGHT, FRAME_WIDTH)
    people = frame["pedestrian_keypoints"]
    assert isinstance(people, PoseDetections)
    assert people.keypoints.shape == (len(people), 17, 3)
    assert len(people.keypoint_names) == 17 and people.skeleton


def test_scores_below_the_threshold_are_dropped(
    tiny_onnx: Path, bgr_frames: list[np.ndarray]
) -> None:
    engine = onnx_engine(tiny_onnx)
    (everything,) = engine.predict(bgr_frames[:1], score_threshold=0.0)
    cut = float(np.median(everything["cars"].scores))
    (kept,) = engine.predict(bgr_frames[:1], score_threshold=cut)
    assert 0 < len(kept["cars"]) < len(everything["cars"])
    assert (kept["cars"].scores >= cut).all()


def test_rgb_frames_give_the_same_predictions_as_bgr(
    tiny_onnx: Path, bgr_frames: list[np.ndarray]
) -> None:
    engine = onnx_engine(tiny_onnx)
    rgb = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in bgr_frames]
    from_bgr = engine.predict(bgr_frames, score_threshold=0.0)
    from_rgb = engine.predict(rgb, score_threshold=0.0, colour_order="RGB")
    assert prediction_differences(from_rgb, from_bgr, FLOAT32, 0.0) == []
    swapped = engine.predict(rgb, score_threshold=0.0)  # RGB frames read as BGR
    assert prediction_differences(swapped, from_bgr, FLOAT32, 0.0) != []


def test_io_binding_gives_the_same_outputs_as_a_plain_run(
    tiny_onnx: Path, bgr_frames: list[np.ndarray]
) -> None:
    plain = onnx_engine(tiny_onnx, io_binding=False)
    bound = onnx_engine(tiny_onnx, io_binding=True)
    assert bound.io_binding and not plain.io_binding
    batch, _ = plain.preprocess(bgr_frames)
    expected, actual = plain.run(batch), bound.run(batch)
    assert list(actual) == list(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(actual[name], value, err_msg=name)


def test_head_subset_predicts_only_those_heads(
    tiny_model: tuple[torch.nn.Module, RunConfig], tiny_onnx: Path, bgr_frames: list[np.ndarray]
) -> None:
    model, config = tiny_model
    size = (config.data.input_height, config.data.input_width)
    for engine in (
        onnx_engine(tiny_onnx, heads=["depth", "cars"]),
        TorchEngine(model, size, heads=["depth", "cars"]),
    ):
        (frame,) = engine.predict(bgr_frames[:1])
        assert list(frame) == ["depth", "cars"]
    with pytest.raises(ConfigError, match=r"'carz'.*did you mean 'cars'"):
        onnx_engine(tiny_onnx, heads=["carz"])
    with pytest.raises(ConfigError, match=r"'carz'.*did you mean 'cars'"):
        TorchEngine(model, size, heads=["carz"])


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (np.zeros((10, 10, 3), np.float32), "frame 1: expected a uint8"),
        (np.zeros((10, 10), np.uint8), r"frame 1: expected shape \(height, width, 3\)"),
        (np.zeros((0, 10, 3), np.uint8), "frame 1: expected shape"),
    ],
)
def test_bad_frames_are_named(
    tiny_onnx: Path, bgr_frames: list[np.ndarray], frame: np.ndarray, fragment: str
) -> None:
    with pytest.raises(PerceptionError, match=fragment):
        onnx_engine(tiny_onnx).predict([bgr_frames[0], frame])
