"""Letterbox: boxes, keypoints and depth follow the image; meta maps predictions back."""

from __future__ import annotations

import numpy as np
import pytest

from perception.data.letterbox import PAD_VALUE, boxes_to_source, keypoints_to_source, letterbox
from perception.data.sample import Sample


def white_box_sample(height: int, width: int, box: tuple[int, int, int, int]) -> Sample:
    """Black image with a white filled box (edge coordinates), depth 7 m in it, 30 m outside."""
    x1, y1, x2, y2 = box
    image = np.zeros((height, width, 3), np.uint8)
    image[y1:y2, x1:x2] = 255
    depth = np.full((height, width), 30.0, np.float32)
    depth[y1:y2, x1:x2] = 7.0
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, :, 0] = np.linspace(x1, x2 - 1, 17)
    keypoints[0, :, 1] = np.linspace(y1, y2 - 1, 17)
    keypoints[0, :, 2] = 2
    return Sample(
        image=image,
        boxes=np.array([box], np.float32),
        category=np.array([1]),
        light_state=np.array([-1]),
        occluded=np.array([False]),
        truncated=np.array([False]),
        keypoints=keypoints,
        depth=depth,
        meta={"source": "test"},
    )


@pytest.mark.parametrize(
    ("source", "target"), [((96, 128), (100, 100)), ((60, 40), (128, 256)), ((50, 50), (50, 50))]
)
def test_boxes_follow_the_image_and_map_back(source, target):
    height, width = source
    box = (width // 4, height // 3, width // 2, 2 * height // 3)
    sample = white_box_sample(height, width, box)
    out = letterbox(sample, *target)
    assert out.image.shape == (*target, 3) and out.depth.shape == target
    mapping = out.meta["letterbox"]
    assert out.meta["source"] == "test"
    ys, xs = np.nonzero(out.image[..., 0] > 127)
    x1, y1, x2, y2 = out.boxes[0]
    assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1
    assert abs(ys.min() - y1) <= 1 and abs(ys.max() + 1 - y2) <= 1
    np.testing.assert_allclose(boxes_to_source(out.boxes, mapping), sample.boxes, atol=1e-3)
    np.testing.assert_allclose(
        keypoints_to_source(out.keypoints, mapping), sample.keypoints, atol=1e-3
    )
    assert set(np.unique(out.depth)) <= {0.0, 7.0, 30.0}
    for x, y, _ in out.keypoints[0]:
        assert out.depth[round(float(y)), round(float(x))] == 7.0
    left, top = int(mapping["offset_x"]), int(mapping["offset_y"])
    if left > 0:
        assert np.all(out.image[:, :left] == PAD_VALUE) and np.all(out.depth[:, :left] == 0)
    if top > 0:
        assert np.all(out.image[:top] == PAD_VALUE) and np.all(out.depth[:top] == 0)


def test_letterboxing_twice_composes_the_mapping():
    sample = white_box_sample(90, 160, (40, 20, 100, 70))
    twice = letterbox(letterbox(sample, 64, 64), 200, 120)
    np.testing.assert_allclose(
        boxes_to_source(twice.boxes, twice.meta["letterbox"]), sample.boxes, atol=1e-3
    )
    assert twice.meta["letterbox"]["source_width"] == 160


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="positive"):
        letterbox(white_box_sample(10, 10, (1, 1, 5, 5)), 0, 10)
