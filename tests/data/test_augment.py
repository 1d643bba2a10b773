"""Augmentation: flips re-label keypoints; image, boxes, keypoints and depth move together."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perception.config.schema import AugmentConfig
from perception.data.augment import Augmenter
from perception.data.sample import CATEGORIES, KEYPOINT_FLIP_INDEX, KEYPOINT_NAMES, Sample

FLIP_ONLY = AugmentConfig(
    horizontal_flip=1.0, scale_jitter=0.0, brightness_contrast=0.0, hue_saturation=0.0
)
GEOMETRY_ONLY = AugmentConfig(
    horizontal_flip=0.5, scale_jitter=0.3, brightness_contrast=0.0, hue_saturation=0.0
)
PEDESTRIAN = CATEGORIES.index("pedestrian")


def pedestrian_sample(image: np.ndarray, keypoints: np.ndarray, depth=None) -> Sample:
    """One pedestrian whose box spans the whole image, with ``(17, 3)`` keypoints."""
    height, width = image.shape[:2]
    return Sample(
        image=image,
        boxes=np.array([[0, 0, width, height]], np.float32),
        category=np.array([PEDESTRIAN]),
        light_state=np.array([-1]),
        occluded=np.array([False]),
        truncated=np.array([False]),
        keypoints=keypoints[None].astype(np.float32),
        depth=depth,
    )


def test_flip_swaps_left_and_right_shoulder():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[:, 0] = rng.integers(0, 60, 17)
    keypoints[:, 1] = rng.integers(0, 40, 17)
    keypoints[:, 2] = 2
    out = Augmenter(FLIP_ONLY)(pedestrian_sample(image, keypoints), seed=1)
    assert out.meta["augment"]["flip"] is True
    left, right = KEYPOINT_NAMES.index("left_shoulder"), KEYPOINT_NAMES.index("right_shoulder")
    x_right, y_right = keypoints[right, :2].astype(int)
    new_x, new_y = out.keypoints[0, left, :2]
    assert (new_x, new_y) == (60 - 1 - x_right, y_right)
    np.testing.assert_array_equal(out.image[int(new_y), int(new_x)], image[y_right, x_right])


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(8, 64),
    height=st.integers(8, 48),
    data=st.data(),
)
def test_flip_property_every_keypoint_lands_on_its_mirror_pixel(width, height, data):
    xs = data.draw(st.lists(st.integers(0, width - 1), min_size=17, max_size=17))
    ys = data.draw(st.lists(st.integers(0, height - 1), min_size=17, max_size=17))
    visibility = data.draw(st.lists(st.integers(0, 2), min_size=17, max_size=17))
    keypoints = np.stack([xs, ys, visibility], axis=1).astype(np.float32)
    image = np.random.default_rng(width * 100 + height).integers(
        0, 256, size=(height, width, 3), dtype=np.uint8
    )
    out = Augmenter(FLIP_ONLY)(pedestrian_sample(image, keypoints), seed=0)
    for index in range(17):
        mirrored = KEYPOINT_FLIP_INDEX[index]
        x, y, v = out.keypoints[0, mirrored]
        assert (x, y, v) == (width - 1 - xs[index], ys[index], visibility[index])
        np.testing.assert_array_equal(out.image[int(y), int(x)], image[ys[index], xs[index]])
    np.testing.assert_allclose(out.boxes, [[0, 0, width, height]])


def block_sample(seed: int) -> Sample:
    """Image and depth constant on 8x8 blocks; keypoints at block centres; one box per block row.

    Each block has a unique depth, so a keypoint's depth identifies its block.
    """
    rng = np.random.default_rng(seed)
    height, width = 96, 128
    blocks = rng.permutation((height // 8) * (width // 8)).reshape(height // 8, width // 8)
    depth = np.kron(5.0 + blocks, np.ones((8, 8))).astype(np.float32)
    image = np.kron(blocks % 251, np.ones((8, 8)))[..., None].repeat(3, axis=2).astype(np.uint8)
    count = 4
    keypoints = np.zeros((count, 17, 3), np.float32)
    keypoints[..., 0] = 8 * rng.integers(0, width // 8, (count, 17)) + 3.5
    keypoints[..., 1] = 8 * rng.integers(0, height // 8, (count, 17)) + 3.5
    keypoints[..., 2] = 2
    boxes = np.stack(
        [keypoints[..., 0].min(1), keypoints[..., 1].min(1), keypoints[..., 0].max(1) + 1,
         keypoints[..., 1].max(1) + 1], axis=1
    )  # fmt: skip
    return Sample(
        image=image,
        boxes=boxes.astype(np.float32),
        category=np.full(count, PEDESTRIAN),
        light_state=np.full(count, -1),
        occluded=np.array([True, False, True, False]),
        truncated=np.zeros(count, bool),
        keypoints=keypoints,
        depth=depth,
    )


@pytest.mark.parametrize("seed", range(12))
def test_geometry_moves_image_keypoints_boxes_and_depth_together(seed):
    sample = block_sample(seed)
    out = Augmenter(GEOMETRY_ONLY)(sample, seed)
    scale = out.meta["augment"]["scale"]
    kept = out.meta["augment"]["kept"]
    flip = list(KEYPOINT_FLIP_INDEX) if out.meta["augment"]["flip"] else list(range(17))
    checked = 0
    for row, source in enumerate(kept):
        assert out.occluded[row] == sample.occluded[source]
        for index in range(17):
            x, y, v = out.keypoints[row, flip[index]]
            if v == 0:
                continue
            checked += 1
            before_x, before_y = sample.keypoints[source, index, :2].astype(int)
            after_x, after_y = round(float(x)), round(float(y))
            assert out.depth[after_y, after_x] == pytest.approx(
                sample.depth[before_y, before_x] / scale, rel=1e-5
            )
            np.testing.assert_array_equal(
                out.image[after_y, after_x], sample.image[before_y, before_x]
            )
            x1, y1, x2, y2 = out.boxes[row]
            assert x1 - 1 <= x <= x2 + 1 and y1 - 1 <= y <= y2 + 1
    assert checked > 0


@pytest.mark.parametrize("seed", range(20))
def test_keypoints_outside_image_become_invisible(seed):
    sample = block_sample(seed)
    out = Augmenter(AugmentConfig(horizontal_flip=0.5, scale_jitter=0.6))(sample, seed)
    x, y, v = out.keypoints[..., 0], out.keypoints[..., 1], out.keypoints[..., 2]
    outside = (x < -0.5) | (x >= 127.5) | (y < -0.5) | (y >= 95.5)
    assert np.all(v[outside] == 0)
    assert np.all(v[~outside] == 2)


def test_boxes_leaving_the_image_are_dropped_with_their_rows():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    boxes = np.array([[0, 20, 3, 30], [30, 30, 40, 40], [61, 0, 64, 5]], np.float32)
    sample = Sample(
        image=image,
        boxes=boxes,
        category=np.array([0, 2, 3]),
        light_state=np.array([-1, 1, -1]),
        occluded=np.array([True, False, False]),
        truncated=np.array([False, False, True]),
        keypoints=rng.uniform(0, 64, (3, 17, 3)).astype(np.float32).round(),
    )
    augmenter = Augmenter(AugmentConfig(scale_jitter=0.6))
    dropped_any = False
    for seed in range(40):
        out = augmenter(sample, seed)
        kept = out.meta["augment"]["kept"]
        assert out.num_objects == len(kept)
        dropped_any |= len(kept) < 3
        for name in ("category", "light_state", "occluded"):
            np.testing.assert_array_equal(getattr(out, name), getattr(sample, name)[kept])
        assert out.keypoints.shape == (len(kept), 17, 3)
        assert np.all(out.boxes[:, [0, 1]] >= 0) and np.all(out.boxes[:, [2, 3]] <= 64)
    assert dropped_any


def test_photometric_changes_only_the_image(make_sample):
    sample = make_sample(3)
    config = AugmentConfig(horizontal_flip=0.0, scale_jitter=0.0)
    out = Augmenter(config)(sample, seed=5)
    assert not np.array_equal(out.image, sample.image)
    np.testing.assert_array_equal(out.depth, sample.depth)
    np.testing.assert_array_equal(out.keypoints, sample.keypoints)
    inside = (sample.boxes[:, 2] < sample.width) & (sample.boxes[:, 3] < sample.height)
    np.testing.assert_allclose(out.boxes[inside], sample.boxes[inside], atol=1e-4)


def test_same_seed_same_output_and_seeds_differ(make_sample):
    sample = make_sample(7)
    augmenter = Augmenter(AugmentConfig())
    first, again = augmenter(sample, 11), Augmenter(AugmentConfig())(sample, 11)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.boxes, again.boxes)
    others = [augmenter(sample, seed).image for seed in range(12, 16)]
    assert any(not np.array_equal(first.image, other) for other in others)


def test_missing_labels_stay_missing():
    image = np.zeros((32, 32, 3), np.uint8)
    out = Augmenter(AugmentConfig())(Sample(image=image), seed=0)
    assert out.boxes is None and out.keypoints is None and out.depth is None


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match=r"augment\.horizontal_flip"):
        Augmenter(AugmentConfig(horizontal_flip=1.5))
