"""Occlusion and truncation flags on hand-made scenes where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from synth_helpers import car_at, clean_config, handmade_scene

import perception.synth as synth
from perception.synth.objects.distractors import Distractor
from perception.synth.objects.pedestrian import Pedestrian
from perception.synth.world import render_frame


def render(objects):
    scene = handmade_scene(objects)
    config = clean_config()
    rng = np.random.Generator(np.random.PCG64(0))
    return render_frame(config, scene, rng, 0, "test", 0.0)


def test_lone_car_in_view_is_neither_occluded_nor_truncated() -> None:
    sample, _ = render([car_at(1.75, 20.0)])
    assert sample.meta["track_ids"] == [0]
    assert not sample.occluded[0] and not sample.truncated[0]


def test_car_behind_another_is_occluded() -> None:
    sample, _ = render([car_at(3.2, 30.0), car_at(1.75, 15.0)])
    assert sample.meta["track_ids"] == [0, 1]
    assert sample.occluded.tolist() == [True, False]


def test_car_beside_the_camera_is_truncated() -> None:
    sample, _ = render([car_at(-1.75, 3.0)])
    assert sample.truncated.tolist() == [True]


def test_fully_hidden_car_is_dropped() -> None:
    sample, _ = render([car_at(1.75, 40.0), car_at(1.75, 8.0)])
    assert sample.meta["track_ids"] == [1]


def test_person_facing_away_hides_the_face() -> None:
    walker = Pedestrian(
        np.array((1.75, 0.0, 10.0)), 0.0, 1.3, 0.0, 1.75,
        (200, 150, 110), (30, 60, 140), (30, 30, 40), (25, 20, 15), 0.0,
    )  # fmt: skip
    facing = Pedestrian(
        np.array((1.75, 0.0, 10.0)), np.pi, 1.3, 0.0, 1.75,
        (200, 150, 110), (30, 60, 140), (30, 30, 40), (25, 20, 15), 0.0,
    )  # fmt: skip
    away, _ = render([walker])
    toward, _ = render([facing])
    assert (away.keypoints[0, :3, 2] == 1).all(), "nose and eyes behind the head"
    assert (toward.keypoints[0, :3, 2] == 2).all()
    assert (toward.keypoints[0, 5:, 2] > 0).all()


def test_unknown_distractor_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="distractor kind"):
        Distractor("ufo", np.zeros(3), 0.0, 1.0, (0, 0, 0))


def test_package_exports_the_public_api() -> None:
    assert set(synth.__all__) == {"render_scene", "render_scene_with_instances", "render_sequence"}
