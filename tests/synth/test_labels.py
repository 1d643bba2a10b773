"""Labels agree with the pixels actually drawn: tight modal boxes, depth, keypoints, lamps."""

from __future__ import annotations

import numpy as np
import pytest
from synth_helpers import busy_config

from perception.data.sample import CATEGORIES, LIGHT_STATES
from perception.synth.labels import MIN_VISIBLE_PIXELS
from perception.synth.world import render_scene_with_instances

CAR = CATEGORIES.index("car")
PERSON = CATEGORIES.index("pedestrian")
LIGHT = CATEGORIES.index("traffic_light")
SEEDS = range(16)


@pytest.fixture(scope="module")
def rendered():
    return [render_scene_with_instances(busy_config(), seed) for seed in SEEDS]


def test_boxes_are_tight_around_the_drawn_pixels(rendered) -> None:
    checked = 0
    for sample, instances in rendered:
        assert instances.dtype == np.int32
        assert instances.min() >= -1 and instances.max() < max(sample.num_objects, 1)
        for i, box in enumerate(sample.boxes):
            ys, xs = np.nonzero(instances == i)
            assert len(ys) >= MIN_VISIBLE_PIXELS
            expected = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            np.testing.assert_array_equal(box, np.array(expected, np.float32))
            x1, y1, x2, y2 = box.astype(int)
            inside = instances[y1:y2, x1:x2] == i
            assert inside[0].any() and inside[-1].any(), "top and bottom edges"
            assert inside[:, 0].any() and inside[:, -1].any(), "left and right edges"
            checked += 1
    assert checked > 50


def test_depth_on_cars_matches_their_geometry(rendered) -> None:
    checked = 0
    for sample, instances in rendered:
        for i in np.flatnonzero(sample.category == CAR):
            near, far = sample.meta["depth_ranges"][i]
            assert 0 < near < far < near + 7.0, "a car is at most a few metres deep"
            depth = sample.depth[instances == i]
            assert depth.min() >= near - 1e-3 and depth.max() <= far + 1e-3
            checked += 1
    assert checked > 20


def test_ground_depth_is_analytic() -> None:
    sample, _ = render_scene_with_instances(busy_config(), 2)
    cam = sample.meta["camera"]
    rows = np.arange(sample.height - 40, sample.height)
    b = (rows + 0.5 - cam["cy"]) / cam["fy"]
    expected = cam["height"] / (b * np.cos(cam["pitch"]) + np.sin(cam["pitch"]))
    measured = np.median(sample.depth[rows], axis=1)
    np.testing.assert_allclose(measured, expected, rtol=1e-4)
    assert (sample.depth[0] == 0).any(), "sky at the top has no depth"


def test_visible_keypoints_lie_on_their_person(rendered) -> None:
    visible = hidden = 0
    for sample, instances in rendered:
        h, w = instances.shape
        for i in np.flatnonzero(sample.category == PERSON):
            for x, y, v in sample.keypoints[i]:
                if v != 2:
                    hidden += v == 1
                    continue
                r, c = int(y), int(x)
                patch = instances[max(r - 1, 0) : min(r + 2, h), max(c - 1, 0) : min(c + 2, w)]
                assert (patch == i).any()
                visible += 1
    assert visible > 50 and hidden > 5


def test_keypoints_follow_the_skeleton(rendered) -> None:
    """Ankles below hips below shoulders below the nose for upright people."""
    for sample, _ in rendered:
        for i in np.flatnonzero(sample.category == PERSON):
            kp = sample.keypoints[i]
            if (kp[[0, 5, 6, 11, 12, 15, 16], 2] == 0).any() or sample.truncated[i]:
                continue
            nose, shoulders, hips, ankles = kp[0, 1], kp[5:7, 1], kp[11:13, 1], kp[15:17, 1]
            assert nose < shoulders.min() and shoulders.max() < hips.min()
            assert hips.max() < ankles.min()


def test_traffic_light_shows_its_state(rendered) -> None:
    lit_rules = {
        0: lambda p: (p[:, 0] > 200) & (p[:, 1] < 90) & (p[:, 2] < 90),
        1: lambda p: (p[:, 0] > 200) & (p[:, 1] > 140) & (p[:, 2] < 80),
        2: lambda p: (p[:, 1] > 200) & (p[:, 0] < 90),
    }
    checked = 0
    for sample, instances in rendered:
        for i in np.flatnonzero(sample.category == LIGHT):
            if sample.occluded[i] or sample.truncated[i]:
                continue
            pixels = sample.image[instances == i].astype(int)
            state = int(sample.light_state[i])
            for lamp, rule in lit_rules.items():
                assert rule(pixels).any() == (lamp == state), (LIGHT_STATES[state], lamp)
            checked += 1
    assert checked >= 5


def test_red_things_are_not_only_labelled_lights_and_signs(rendered) -> None:
    """Strongly red pixels (brake lights, round signs, billboards) also appear outside every
    traffic light and stop sign, so red alone cannot give those classes away."""
    found = 0
    for sample, instances in rendered:
        img = sample.image.astype(int)
        red = (img[..., 0] > 150) & (img[..., 1] < 70) & (img[..., 2] < 70)
        signal = np.flatnonzero(sample.category >= LIGHT)
        found += int((red & ~np.isin(instances, signal)).sum() > 0)
    assert found >= len(SEEDS) // 2
