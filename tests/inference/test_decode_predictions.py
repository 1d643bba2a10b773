"""Graph outputs -> per-frame predictions in source pixels, driven by the heads' descriptions."""

from __future__ import annotations

import numpy as np

from perception.data.letterbox import LetterboxWindow, letterbox_image
from perception.inference.decode_predictions import decode_predictions
from perception.inference.predictions import DepthMap, Detections, PoseDetections, RawOutputs

LIGHTS = {
    "kind": "boxes",
    "classes": ["traffic_light"],
    "attributes": {"state": {"values": ["red", "green"], "colours": None}},
}
PEOPLE = {"kind": "keypoints", "keypoint_names": ["a", "b"], "skeleton": [[0, 1]]}
DEPTH = {"kind": "depth", "max_depth": 80.0}
CUSTOM = {"kind": "lanes"}


def window() -> LetterboxWindow:
    """A 200x400 frame in a 96x160 input: scale 0.4, resized to 80x160, 8 rows of padding."""
    found = LetterboxWindow.fit(200, 400, 96, 160)
    assert (found.resized_height, found.resized_width, found.offset_x, found.offset_y) == (
        80,
        160,
        0,
        8,
    )
    return found


def outputs() -> dict[str, np.ndarray]:
    depth = np.zeros((1, 1, 96, 160), np.float32)
    depth[0, 0, 8:88] = np.linspace(1.0, 50.0, 80, dtype=np.float32)[:, None]
    return {
        "lights.boxes": np.array([[[10, 18, 50, 58], [0, 0, 4, 4]]], np.float32),
        "lights.scores": np.array([[0.9, 0.1]], np.float32),
        "lights.classes": np.array([[0, 0]], np.int64),
        "lights.state": np.array([[1, 0]], np.int64),
        "lights.state_scores": np.array([[[0.2, 0.8], [0.6, 0.4]]], np.float32),
        "people.boxes": np.array([[[20, 28, 40, 48]]], np.float32),
        "people.scores": np.array([[0.7]], np.float32),
        "people.keypoints": np.array([[[[19.5, 27.5, 0.7], [39.5, 47.5, 0.7]]]], np.float32),
        "depth.map": depth,
        "lanes.points": np.arange(6, dtype=np.float32).reshape(1, 3, 2),
    }


def test_each_kind_becomes_its_prediction_in_source_pixels() -> None:
    heads = {"lights": LIGHTS, "people": PEOPLE, "depth": DEPTH, "lanes": CUSTOM}
    (frame,) = decode_predictions(outputs(), heads, [window()], score_threshold=0.5)
    assert list(frame) == ["lights", "people", "depth", "lanes"]

    lights = frame["lights"]
    assert isinstance(lights, Detections)
    np.testing.assert_allclose(lights.boxes, [[25, 25, 125, 125]], atol=1e-4)
    np.testing.assert_allclose(lights.scores, [0.9])
    assert lights.labels() == ["traffic_light"]
    assert lights.attributes["state"].labels() == ["green"]
    np.testing.assert_allclose(lights.attributes["state"].scores, [[0.2, 0.8]])

    people = frame["people"]
    assert isinstance(people, PoseDetections)
    np.testing.assert_allclose(people.boxes, [[50, 50, 100, 100]], atol=1e-4)
    # pixel centres: (19.5 + 0.5 - 0) / 0.4 - 0.5 = 49.5; (27.5 + 0.5 - 8) / 0.4 - 0.5 = 49.5
    np.testing.assert_allclose(people.keypoints[0, 0], [49.5, 49.5, 0.7], atol=1e-4)
    assert people.keypoint_names == ("a", "b") and people.skeleton == ((0, 1),)

    depth = frame["depth"]
    assert isinstance(depth, DepthMap)
    assert depth.metres.shape == (200, 400) and depth.max_depth == 80.0
    assert depth.metres.min() >= 1.0 - 1e-4 and depth.metres.max() <= 50.0 + 1e-4
    assert depth.metres[0].mean() < depth.metres[-1].mean(), "padding rows are cropped away"

    lanes = frame["lanes"]
    assert isinstance(lanes, RawOutputs)
    np.testing.assert_array_equal(lanes.arrays["points"], np.arange(6).reshape(3, 2))


def test_boxes_are_clipped_to_the_frame() -> None:
    arrays = outputs()
    arrays["lights.boxes"][0, 0] = [-5, 0, 170, 96]  # reaches into the padding and beyond
    (frame,) = decode_predictions(arrays, {"lights": LIGHTS}, [window()], 0.5)
    lights = frame["lights"]
    assert isinstance(lights, Detections)
    np.testing.assert_allclose(lights.boxes, [[0, 0, 400, 200]])


def test_letterbox_image_places_the_frame_in_its_window() -> None:
    frame = np.full((200, 400, 3), 7, np.uint8)
    image, placed = letterbox_image(frame, 96, 160)
    assert placed == window()
    assert image.shape == (96, 160, 3)
    assert (image[placed.slices] == 7).all()
    assert (image[:8] == 114).all() and (image[88:] == 114).all()
