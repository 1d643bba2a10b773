"""Image effects: fog thickens with depth, lamps survive the night, noise is seeded."""

from __future__ import annotations

import dataclasses

import numpy as np
from synth_helpers import day

from perception.synth.effects import apply_conditions


def _ramp() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((40, 200, 3), (30, 90, 160), np.uint8)
    depth = np.tile(np.linspace(1.0, 150.0, 200, dtype=np.float32), (40, 1))
    depth[:, -10:] = 0.0  # sky: no depth, fully fogged
    return image, depth


def test_fog_grows_with_depth() -> None:
    image, depth = _ramp()
    foggy = dataclasses.replace(day(), fog_density=0.03)
    out = apply_conditions(image.copy(), depth, foggy, np.random.Generator(np.random.PCG64(0)))
    fog = np.array(foggy.palette.fog, float)
    distance = np.abs(out[20].astype(float) - fog).sum(axis=1)
    assert (np.diff(distance[:-10]) <= 1.0).all(), "monotone up to rounding"
    assert distance[0] > 150 and distance[-11] < 10
    assert (distance[-10:] <= 3).all()
    transmission = np.exp(-0.03 * depth[20, 100])
    expected = transmission * image[0, 0] + (1 - transmission) * fog
    np.testing.assert_allclose(out[20, 100], expected, atol=1.5)


def test_clear_day_without_noise_changes_nothing() -> None:
    image, depth = _ramp()
    out = apply_conditions(image.copy(), depth, day(), np.random.Generator(np.random.PCG64(0)))
    np.testing.assert_array_equal(out, image)


def test_night_keeps_lamps_bright_and_darkens_the_rest() -> None:
    image, depth = _ramp()
    image[18:22, 50:54] = (255, 40, 30)
    night = dataclasses.replace(day(), lighting="night")
    out = apply_conditions(image.copy(), depth, night, np.random.Generator(np.random.PCG64(0)))
    assert out[20, 52, 0] == 255 and out[20, 52, 1] < 120
    assert out[5, 150].max() < 60
    assert out[20, 57, 0] > out[20, 80, 0] + 20, "a red halo around the lamp"


def test_noise_rain_and_blur_follow_the_generator() -> None:
    image, depth = _ramp()
    rough = dataclasses.replace(day(), noise_std=5.0, rain=0.8, blur_sigma=1.2)

    def run(seed: int) -> np.ndarray:
        return apply_conditions(
            image.copy(), depth, rough, np.random.Generator(np.random.PCG64(seed))
        )

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    assert 2.0 < np.abs(run(1).astype(float) - image).mean() < 40.0
