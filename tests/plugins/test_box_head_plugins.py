"""The four built-in box heads: factories, classes, options passed through or refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from perception_driving.heads.cars import SUMMARY as CARS_SUMMARY
from perception_driving.heads.cars import build_cars
from perception_driving.heads.pedestrians import SUMMARY as PEDESTRIANS_SUMMARY
from perception_driving.heads.pedestrians import build_pedestrians
from perception_driving.heads.stop_signs import SUMMARY as STOP_SIGNS_SUMMARY
from perception_driving.heads.stop_signs import build_stop_signs
from perception_driving.heads.traffic_lights import SUMMARY as TRAFFIC_LIGHTS_SUMMARY
from perception_driving.heads.traffic_lights import build_traffic_lights

from perception.data.sample import LIGHT_STATES
from perception.errors import ConfigError
from perception.model.feature_spec import FeatureLevel, FeatureSpec
from perception.model.task_head import TaskHead

SPEC = FeatureSpec((FeatureLevel("p2", 8, 4), FeatureLevel("p3", 8, 8)))
INPUT_SIZE = (64, 96)
HEADS: dict[str, tuple[Callable[..., TaskHead], str, str]] = {
    "cars": (build_cars, "car", CARS_SUMMARY),
    "pedestrians": (build_pedestrians, "pedestrian", PEDESTRIANS_SUMMARY),
    "stop_signs": (build_stop_signs, "stop_sign", STOP_SIGNS_SUMMARY),
    "traffic_lights": (build_traffic_lights, "traffic_light", TRAFFIC_LIGHTS_SUMMARY),
}


def _features() -> dict[str, torch.Tensor]:
    return {"p2": torch.randn(1, 8, 16, 24), "p3": torch.randn(1, 8, 8, 12)}


@pytest.mark.parametrize("name", sorted(HEADS))
def test_factory_builds_a_one_class_head(name: str) -> None:
    factory, category, summary = HEADS[name]
    head = factory(SPEC, INPUT_SIZE, head_channels=4)
    assert isinstance(head, TaskHead)
    assert head.name == name
    assert head.describe()["classes"] == [category]
    assert summary and "\n" not in summary
    decoded = head.decode(head(_features()))
    assert decoded["boxes"].shape == (1, 50, 4)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_options_pass_through(name: str) -> None:
    factory = HEADS[name][0]
    head = factory(SPEC, INPUT_SIZE, max_detections=7, max_objects=3, head_channels=4)
    assert head.decode(head(_features()))["scores"].shape == (1, 7)
    assert head.describe()["max_detections"] == 7


@pytest.mark.parametrize("name", sorted(HEADS))
def test_unknown_option_names_the_head_and_the_option(name: str) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"head '{name}': unknown option 'max_detection'.*"
        r"did you mean 'max_detections'",
    ):
        HEADS[name][0](SPEC, INPUT_SIZE, max_detection=5)


@pytest.mark.parametrize(
    ("option", "value"),
    [("max_detections", 0), ("max_objects", 2.5), ("head_channels", True), ("size_weight", -1)],
)
def test_bad_option_values_are_refused(option: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"head 'cars': option '{option}'"):
        build_cars(SPEC, INPUT_SIZE, **{option: value})


def test_input_size_must_fit_the_feature_stride() -> None:
    with pytest.raises(ConfigError, match=r"head 'stop_signs'.*stride 4"):
        build_stop_signs(SPEC, (62, 96))


def test_traffic_lights_predict_the_lamp_state() -> None:
    head = build_traffic_lights(SPEC, INPUT_SIZE, head_channels=4)
    decoded = head.decode(head(_features()))
    assert decoded["state_scores"].shape == (1, 50, len(LIGHT_STATES))
    assert "state_accuracy" in head.metric_directions()
