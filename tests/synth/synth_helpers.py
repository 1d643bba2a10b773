"""Shared configs and hand-made scenes for the synthetic-world tests (imported by them)."""

from __future__ import annotations

import numpy as np

from perception.config.schema import LightingMix, SynthConfig
from perception.synth.conditions import Conditions
from perception.synth.ground import Road
from perception.synth.objects.car import Car
from perception.synth.scene import CameraRig, Scene


def clean_config(**overrides: object) -> SynthConfig:
    """Daylight, no fog, rain, blur or noise: colours are exact, labels unchanged."""
    base: dict[str, object] = {
        "lighting": LightingMix(day=1.0, dusk=0.0, night=0.0),
        "fog_probability": 0.0,
        "rain_probability": 0.0,
        "blur_probability": 0.0,
        "noise_std_max": 0.0,
    }
    base.update(overrides)
    return SynthConfig(**base)  # type: ignore[arg-type]


def busy_config() -> SynthConfig:
    """Clean conditions and many objects of every kind."""
    return clean_config(max_cars=10, max_pedestrians=8, max_traffic_lights=3, max_stop_signs=2)


def plain_road() -> Road:
    return Road(
        lane_width=3.5,
        lanes_forward=2,
        lanes_oncoming=1,
        sidewalk=3.0,
        parking=0.0,
        asphalt=(90, 90, 92),
        pavement=(160, 157, 152),
        verge=(90, 90, 80),
        double_yellow=True,
        dash_phase=0.0,
        crossing_z=None,
        crossing_width=10.0,
        crosswalk=False,
    )


def day() -> Conditions:
    return Conditions("day", 0.0, 0.0, 0.0, 0.0, False, 1.0, 0.5, 0.8)


def car_at(x: float, z: float, speed: float = 0.0) -> Car:
    return Car(np.array((x, 0.0, z)), 0.0, speed, 4.4, 1.8, 0.95, 1.5, (150, 20, 25), False)


def handmade_scene(objects: list, speed: float = 0.0) -> Scene:
    """A straight road, no buildings, the camera 1.4 m up in the right lane, no pitch."""
    rig = CameraRig(height=1.4, pitch=0.03, yaw=0.0, x=1.75, speed=speed)
    return Scene(rig, plain_road(), [], objects, day())
