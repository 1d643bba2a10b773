"""Contract of render_scene: valid samples, in-bounds labels, JSON meta, every condition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception.config.schema import LightingMix, SynthConfig
from perception.data.sample import CATEGORIES, LIGHT_STATES
from perception.synth.world import render_scene, render_scene_with_instances

SEEDS = range(12)


def check_sample(sample, config: SynthConfig) -> None:
    h, w = config.height, config.width
    assert sample.image.shape == (h, w, 3) and sample.image.dtype == np.uint8
    assert sample.depth is not None and sample.depth.shape == (h, w)
    assert sample.depth.dtype == np.float32
    assert np.isfinite(sample.depth).all() and (sample.depth >= 0).all()
    n = sample.num_objects
    assert sample.boxes.dtype == np.float32 and sample.boxes.shape == (n, 4)
    boxes = sample.boxes
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert ((sample.category >= 0) & (sample.category < len(CATEGORIES))).all()
    is_light = sample.category == CATEGORIES.index("traffic_light")
    assert (sample.light_state[~is_light] == -1).all()
    assert ((sample.light_state[is_light] >= 0) & (sample.light_state[is_light] < 4)).all()
    assert len(LIGHT_STATES) == 4
    kp = sample.keypoints
    assert kp.shape == (n, 17, 3) and kp.dtype == np.float32
    seen = kp[..., 2] > 0
    assert (kp[..., 0][seen] >= 0).all() and (kp[..., 0][seen] < w).all()
    assert (kp[..., 1][seen] >= 0).all() and (kp[..., 1][seen] < h).all()
    assert (kp[~seen][:, :2] == 0).all()
    not_person = sample.category != CATEGORIES.index("pedestrian")
    assert (kp[not_person] == 0).all()
    meta = json.loads(json.dumps(sample.meta))
    for key in ("lighting", "fog", "rain", "seed", "track_ids", "depth_ranges"):
        assert key in meta
    for key in ("fx", "fy", "cx", "cy", "height", "pitch"):
        assert key in meta["camera"]
    assert len(meta["track_ids"]) == n == len(set(meta["track_ids"]))


@pytest.mark.parametrize("seed", SEEDS)
def test_default_config_samples_are_valid(seed: int) -> None:
    config = SynthConfig()
    check_sample(render_scene(config, seed), config)


@pytest.mark.parametrize(
    ("lighting", "fog", "rain"),
    [("day", 0, 0), ("dusk", 0, 0), ("night", 0, 0), ("day", 1, 0), ("night", 1, 1),
     ("dusk", 0, 1)],
)  # fmt: skip
def test_every_condition_gives_valid_samples(lighting: str, fog: float, rain: float) -> None:
    mix = LightingMix(**{name: float(name == lighting) for name in ("day", "dusk", "night")})
    config = SynthConfig(
        lighting=mix, fog_probability=fog, rain_probability=rain, blur_probability=0.5
    )
    for seed in range(4):
        sample = render_scene(config, seed)
        check_sample(sample, config)
        assert sample.meta["lighting"] == lighting
        assert sample.meta["fog"] == bool(fog) and sample.meta["rain"] == bool(rain)


def test_night_is_darker_than_day() -> None:
    day = SynthConfig(lighting=LightingMix(1.0, 0.0, 0.0), noise_std_max=0.0)
    night = SynthConfig(lighting=LightingMix(0.0, 0.0, 1.0), noise_std_max=0.0)
    for seed in range(3):
        assert render_scene(night, seed).image.mean() < 0.6 * render_scene(day, seed).image.mean()


def test_other_image_sizes() -> None:
    config = SynthConfig(height=120, width=200)
    sample, instances = render_scene_with_instances(config, 5)
    check_sample(sample, config)
    assert instances.shape == (120, 200)
    assert sample.meta["camera"]["fx"] == pytest.approx(0.9 * 200)


def test_tiny_image_is_refused() -> None:
    with pytest.raises(ValueError, match="16x16"):
        render_scene(SynthConfig(height=8, width=8), 0)


def test_scenes_contain_every_category() -> None:
    config = SynthConfig()
    seen = np.zeros(len(CATEGORIES), int)
    for seed in range(40):
        seen += np.bincount(render_scene(config, seed).category, minlength=len(CATEGORIES))
    assert (seen > 0).all(), seen
