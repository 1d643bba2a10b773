"""Clips: one persistent world, stable track ids, the camera driving forward."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from synth_helpers import car_at, clean_config, handmade_scene

from perception.data.sample import CATEGORIES, LIGHT_STATES
from perception.synth.objects.pedestrian import Pedestrian
from perception.synth.objects.traffic_light import TrafficLight
from perception.synth.sequence import render_sequence
from perception.synth.world import render_frame

STATIC = (CATEGORIES.index("traffic_light"), CATEGORIES.index("stop_sign"))


@pytest.fixture(scope="module")
def clips():
    config = clean_config(max_cars=10, max_pedestrians=6, max_traffic_lights=3, max_stop_signs=2)
    return [list(render_sequence(config, seed, 6, 10.0)) for seed in range(6)]


def test_frames_are_valid_and_ordered(clips) -> None:
    for clip in clips:
        assert [f.meta["frame"] for f in clip] == list(range(6))
        zs = [f.meta["camera"]["z"] for f in clip]
        assert all(b > a for a, b in itertools.pairwise(zs)), "camera drives forward"
        assert len({f.image_id for f in clip}) == len(clip)
        assert len({f.meta["lighting"] for f in clip}) == 1, "weather persists"


def test_objects_keep_their_track_ids(clips) -> None:
    persisting = 0
    for clip in clips:
        for a, b in itertools.pairwise(clip):
            for t in set(a.meta["track_ids"]) & set(b.meta["track_ids"]):
                i, j = a.meta["track_ids"].index(t), b.meta["track_ids"].index(t)
                assert a.category[i] == b.category[j]
                persisting += 1
    assert persisting > 30


def test_static_objects_come_closer(clips) -> None:
    checked = 0
    for clip in clips:
        for a, b in itertools.pairwise(clip):
            for t in set(a.meta["track_ids"]) & set(b.meta["track_ids"]):
                i, j = a.meta["track_ids"].index(t), b.meta["track_ids"].index(t)
                if a.category[i] not in STATIC:
                    continue
                near_a, near_b = a.meta["depth_ranges"][i][0], b.meta["depth_ranges"][j][0]
                speed = (b.meta["camera"]["z"] - a.meta["camera"]["z"]) / 0.1
                assert near_b < near_a
                assert near_a - near_b == pytest.approx(speed * 0.1, rel=0.15)
                checked += 1
    assert checked > 5


def test_moving_things_move_and_walkers_swing_their_legs() -> None:
    config = clean_config()
    walker = Pedestrian(
        np.array((1.0, 0.0, 12.0)), 0.5 * np.pi, 1.4, 0.0, 1.75,
        (200, 150, 110), (30, 60, 140), (30, 30, 40), (25, 20, 15), 0.0,
    )  # fmt: skip
    scene = handmade_scene([car_at(5.25, 25.0, speed=10.0), walker], speed=0.0)
    rng = np.random.Generator(np.random.PCG64(0))
    frames = [render_frame(config, scene, rng, 0, "t", t)[0] for t in (0.0, 0.2, 0.4)]
    car_far = [f.meta["depth_ranges"][0][1] for f in frames]
    assert car_far[0] < car_far[1] < car_far[2], "the car drives away from a parked camera"
    ankles = [f.keypoints[1, 15:17, 0] - f.keypoints[1, 11:13, 0].mean() for f in frames]
    assert not np.allclose(ankles[0], ankles[1], atol=0.5), "the gait is animated"
    centers = [f.boxes[1, [0, 2]].mean() for f in frames]
    assert centers[0] < centers[1] < centers[2], "the walker crosses to the right"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="fps"):
        next(render_sequence(clean_config(), 0, 3, 0.0))
    with pytest.raises(ValueError, match="num_frames"):
        next(render_sequence(clean_config(), 0, -1, 10.0))


def test_traffic_lights_cycle_over_time() -> None:
    light = TrafficLight(np.zeros(3), 0.0, 0.0, LIGHT_STATES.index("green"), (0, 0, 0), 5.0)
    states = [LIGHT_STATES[light.light_state(t)] for t in (0.0, 4.9, 5.0, 7.9, 8.1, 60.0)]
    assert states == ["green", "green", "yellow", "yellow", "red", "red"]
