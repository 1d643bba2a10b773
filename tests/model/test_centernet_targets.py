"""CenterNet target encoding: heatmap peaks, padded regression slots, attributes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from box_samples import INPUT_SIZE, box_sample, unlabelled_sample

from perception.data.sample import CATEGORIES, LIGHT_STATES
from perception.model.centernet_targets import BoxAttribute, CenterNetTargetEncoder

STATE = BoxAttribute("state", "light_state", LIGHT_STATES)


def _encoder(categories: tuple[str, ...] = ("car",), **kwargs: object) -> CenterNetTargetEncoder:
    options = {"max_objects": 4, "min_box_size": 2.0, "attributes": ()}
    options.update(kwargs)
    return CenterNetTargetEncoder(
        [CATEGORIES.index(c) for c in categories],
        input_size=INPUT_SIZE,
        stride=4,
        **options,  # type: ignore[arg-type]
    )


def test_unlabelled_sample_has_no_targets() -> None:
    assert _encoder()(unlabelled_sample()) is None


def test_one_box_gives_a_peak_and_its_regression_targets() -> None:
    targets = _encoder()(box_sample([(10.0, 6.0, 30.0, 22.0)], ["car"]))
    assert targets is not None
    heatmap = targets["heatmap"]
    assert heatmap.shape == (1, 16, 24)
    # centre (20, 14) px = (5.0, 3.5) cells -> cell (x=5, y=3), offset (0.0, 0.5)
    assert heatmap[0, 3, 5] == 1.0
    assert np.count_nonzero(heatmap == 1.0) == 1
    assert 0.0 < heatmap[0, 3, 6] < 1.0
    assert targets["indices"][0] == 3 * 24 + 5
    np.testing.assert_allclose(targets["offset"][0], [0.0, 0.5])
    np.testing.assert_allclose(targets["log_size"][0], [math.log(20 / 4), math.log(16 / 4)])
    np.testing.assert_array_equal(targets["mask"], [1, 0, 0, 0])


def test_other_categories_and_tiny_boxes_are_left_out() -> None:
    sample = box_sample(
        [(0.0, 0.0, 20.0, 20.0), (40.0, 40.0, 41.0, 60.0), (50.0, 10.0, 70.0, 30.0)],
        ["pedestrian", "car", "car"],
    )
    targets = _encoder()(sample)
    assert targets is not None
    assert np.count_nonzero(targets["heatmap"] == 1.0) == 1
    assert targets["mask"].sum() == 1
    assert targets["indices"][0] == 5 * 24 + 15


def test_each_class_has_its_own_channel() -> None:
    sample = box_sample([(0.0, 0.0, 20.0, 20.0), (50.0, 10.0, 70.0, 30.0)], ["stop_sign", "car"])
    targets = _encoder(("car", "stop_sign"))(sample)
    assert targets is not None
    assert targets["heatmap"][0, 5, 15] == 1.0
    assert targets["heatmap"][1, 2, 2] == 1.0


def test_shapes_are_fixed_and_extra_objects_keep_their_peak() -> None:
    boxes = [(8.0 * i, 0.0, 8.0 * i + 6.0, 6.0) for i in range(6)]
    many = _encoder()(box_sample(boxes, ["car"] * 6))
    none = _encoder()(box_sample([], []))
    assert many is not None and none is not None
    for key, value in none.items():
        assert many[key].shape == value.shape and many[key].dtype == value.dtype
    assert many["mask"].sum() == 4
    assert np.count_nonzero(many["heatmap"] == 1.0) == 6
    assert none["heatmap"].max() == 0.0


def test_attribute_labels_with_unknown_as_minus_one() -> None:
    sample = box_sample(
        [(0.0, 0.0, 8.0, 16.0), (20.0, 0.0, 28.0, 16.0)], ["traffic_light"] * 2, [2, -1]
    )
    targets = _encoder(("traffic_light",), attributes=(STATE,))(sample)
    assert targets is not None
    np.testing.assert_array_equal(targets["attr_state"], [2, -1, -1, -1])


def test_input_size_must_be_a_multiple_of_the_stride() -> None:
    with pytest.raises(ValueError, match="multiple"):
        CenterNetTargetEncoder([0], (), (62, 96), 4, 4, 2.0)
