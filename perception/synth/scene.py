"""Sampling a 3D driving world (road, buildings, objects, conditions, camera rig) from a seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perception.config.schema import SynthConfig
from perception.synth.buildings import Building, sample_buildings
from perception.synth.camera import Camera
from perception.synth.conditions import Conditions, sample_conditions
from perception.synth.ground import Road
from perception.synth.objects.base import SceneObject
from perception.synth.objects.car import PAINTS, Car
from perception.synth.objects.distractors import BILLBOARD_REDS, FOLIAGE, SIGN_RIMS, Distractor
from perception.synth.objects.pedestrian import CLOTHES, HAIR, SKIN, Pedestrian
from perception.synth.objects.stop_sign import StopSign
from perception.synth.objects.traffic_light import HOUSINGS, TrafficLight

FOCAL_PER_WIDTH = 0.9
"""Focal length in pixels as a fraction of the image width (about 58 degrees horizontal FOV)."""
VIEW_DEPTH = 90.0
"""Objects are placed up to this far ahead of the camera's start (plus the distance driven)."""
LIGHT_STATE_P = (0.35, 0.15, 0.35, 0.15)


@dataclass(frozen=True)
class CameraRig:
    """The ego camera: ``height`` above ground, ``pitch`` (down) and ``yaw`` in radians, lateral
    ``x``, driving along ``+z`` at ``speed`` m/s from ``z = 0``."""

    height: float
    pitch: float
    yaw: float
    x: float
    speed: float

    def camera(self, width: int, height: int, time: float) -> Camera:
        """The camera at ``time`` seconds for a ``height x width`` image."""
        position = np.array((self.x, self.height, self.speed * time))
        return Camera(width, height, FOCAL_PER_WIDTH * width, position, self.pitch, self.yaw)


@dataclass(frozen=True)
class Scene:
    """A whole world; ``objects[k]`` has track id ``k`` in every frame."""

    rig: CameraRig
    road: Road
    buildings: list[Building]
    objects: list[SceneObject]
    conditions: Conditions


def sample_scene(config: SynthConfig, rng: np.random.Generator, duration: float = 0.0) -> Scene:
    """Draw a world for a single image (``duration = 0``) or a clip of ``duration`` seconds.

    A clip's world is longer (it covers the distance driven) and holds proportionally more
    objects, so that the density ahead of the camera stays the same.
    """
    if config.height < 16 or config.width < 16:
        raise ValueError(f"image must be at least 16x16, got {config.height}x{config.width}")
    road = _sample_road(rng)
    lane = int(rng.integers(road.lanes_forward))
    rig = CameraRig(
        height=float(rng.uniform(1.2, 1.6)),
        pitch=float(rng.uniform(-0.02, 0.06)),
        yaw=float(rng.uniform(-0.03, 0.03)),
        x=road.lane_center(lane) + float(rng.uniform(-0.3, 0.3)),
        speed=float(rng.uniform(6.0, 13.0)),
    )
    far = VIEW_DEPTH + rig.speed * duration
    scale = far / VIEW_DEPTH

    def count(maximum: int) -> int:
        return round(int(rng.integers(0, maximum + 1)) * scale)

    objects: list[SceneObject] = []
    objects += _sample_cars(rng, road, rig, lane, count(config.max_cars), far)
    objects += _sample_pedestrians(rng, road, count(config.max_pedestrians), far)
    objects += _sample_traffic_lights(rng, road, count(config.max_traffic_lights), far)
    objects += _sample_stop_signs(rng, road, count(config.max_stop_signs), far)
    objects += _sample_distractors(rng, road, count(config.max_distractors), far)
    buildings = sample_buildings(rng, road, -10.0, far + 60.0)
    conditions = sample_conditions(config, rng)
    return Scene(rig, road, buildings, objects, conditions)


def _sample_road(rng: np.random.Generator) -> Road:
    gray = int(rng.integers(60, 115))
    pavement = int(rng.integers(135, 185))
    oncoming = int(rng.integers(0, 3))
    crossing = rng.random() < 0.5
    verges = ((70, 95, 55), (95, 85, 70), (110, 110, 105))
    return Road(
        lane_width=float(rng.uniform(3.0, 3.7)),
        lanes_forward=int(rng.integers(1, 4)),
        lanes_oncoming=oncoming,
        sidewalk=float(rng.uniform(2.0, 4.5)),
        parking=float(rng.choice((0.0, 2.3))),
        asphalt=(gray, gray, gray + int(rng.integers(0, 8))),
        pavement=(pavement, pavement - 3, pavement - 8),
        verge=verges[int(rng.integers(len(verges)))],
        double_yellow=oncoming > 0 and rng.random() < 0.5,
        dash_phase=float(rng.uniform(0.0, 9.0)),
        crossing_z=float(rng.uniform(20.0, 70.0)) if crossing else None,
        crossing_width=float(rng.uniform(8.0, 14.0)),
        crosswalk=bool(rng.random() < 0.7),
    )


def _free(taken: list[tuple[float, float]], lo: float, hi: float) -> bool:
    return all(hi <= a or lo >= b for a, b in taken)


def _sample_cars(
    rng: np.random.Generator, road: Road, rig: CameraRig, ego_lane: int, count: int, far: float
) -> list[Car]:
    lanes = list(range(-road.lanes_oncoming, road.lanes_forward))
    lane_speed = {k: float(rng.uniform(6.0, 14.0)) for k in lanes}
    lane_speed[ego_lane] = rig.speed + float(rng.uniform(0.0, 2.0))
    slots: dict[object, list[tuple[float, float]]] = {}
    cars: list[Car] = []
    for _ in range(count):
        length, width = float(rng.uniform(3.8, 4.9)), float(rng.uniform(1.65, 1.95))
        body_top = float(rng.uniform(0.8, 1.05))
        roof = body_top + float(rng.uniform(0.45, 0.85))
        kind = rng.random()
        speed, braking = 0.0, False
        if kind < 0.15 and road.parking > 0.0:
            side = float(rng.choice((-1.0, 1.0)))
            slot: object = ("park", side)
            x = side * (road.right_edge if side > 0 else -road.left_edge) - side * 1.15
            heading = 0.0 if side > 0 else math.pi
        elif kind < 0.25 and road.crossing_z is not None:
            slot = "crossing"
            heading = float(rng.choice((-0.5, 0.5))) * math.pi
            x = float(rng.uniform(road.left_edge - 25.0, road.right_edge + 25.0))
            z = road.crossing_z + road.crossing_width * (0.3 if heading > 0 else 0.7)
            speed = float(rng.choice((0.0, rng.uniform(3.0, 10.0))))
            taken = slots.setdefault(slot, [])
            if not _free(taken, x - 0.5 * length - 1.0, x + 0.5 * length + 1.0):
                continue
            taken.append((x - 0.5 * length - 1.0, x + 0.5 * length + 1.0))
            cars.append(_car(rng, (x, z), heading, speed, length, width, body_top, roof, False))
            continue
        else:
            lane = int(rng.choice(lanes))
            slot = lane
            x = road.lane_center(lane) + float(rng.uniform(-0.2, 0.2))
            heading = (0.0 if lane >= 0 else math.pi) + float(rng.uniform(-0.02, 0.02))
            speed = lane_speed[lane]
            braking = lane >= 0 and rng.random() < 0.35
        near = 8.0 if slot == ego_lane else 3.0
        z = float(rng.uniform(near, far))
        if road.in_crossing(z, 3.0):
            continue
        taken = slots.setdefault(slot, [])
        gap = 0.5 * length + 1.5
        if not _free(taken, z - gap, z + gap):
            continue
        taken.append((z - gap, z + gap))
        cars.append(_car(rng, (x, z), heading, speed, length, width, body_top, roof, braking))
    return cars


def _car(
    rng: np.random.Generator,
    xz: tuple[float, float],
    heading: float,
    speed: float,
    length: float,
    width: float,
    body_top: float,
    roof: float,
    braking: bool,
) -> Car:
    return Car(
        position=np.array((xz[0], 0.0, xz[1])),
        heading=heading,
        speed=speed,
        length=length,
        width=width,
        body_top=body_top,
        roof=roof,
        paint=PAINTS[int(rng.integers(len(PAINTS)))],
        braking=braking,
    )


def _sidewalk_x(rng: np.random.Generator, road: Road, margin: float) -> float:
    side = float(rng.choice((-1.0, 1.0)))
    edge = road.right_edge if side > 0 else road.left_edge
    return edge + side * float(rng.uniform(margin, road.sidewalk - margin))


def _sample_pedestrians(
    rng: np.random.Generator, road: Road, count: int, far: float
) -> list[Pedestrian]:
    people: list[Pedestrian] = []
    for _ in range(count):
        crossing = road.crossing_z is not None and road.crosswalk and rng.random() < 0.25
        walking = rng.random() < 0.7
        if crossing:
            cz = road.crossing_z or 0.0
            x = float(rng.uniform(road.left_edge - 1.0, road.right_edge + 1.0))
            z = float(rng.uniform(cz - 3.2, cz - 0.8))
            heading = float(rng.choice((-0.5, 0.5))) * math.pi + float(rng.uniform(-0.2, 0.2))
        else:
            x, z = _sidewalk_x(rng, road, 0.4), float(rng.uniform(3.0, far))
            if walking:
                heading = float(rng.choice((0.0, math.pi))) + float(rng.uniform(-0.15, 0.15))
            else:
                heading = float(rng.uniform(-math.pi, math.pi))
        if any(np.hypot(p.position[0] - x, p.position[2] - z) < 0.8 for p in people):
            continue
        people.append(
            Pedestrian(
                position=np.array((x, 0.0, z)),
                heading=heading,
                speed=float(rng.uniform(1.0, 1.7)) if walking or crossing else 0.0,
                phase=float(rng.uniform(0.0, 2.0 * math.pi)),
                stature=float(rng.uniform(1.5, 1.95)),
                skin=SKIN[int(rng.integers(len(SKIN)))],
                shirt=CLOTHES[int(rng.integers(len(CLOTHES)))],
                trousers=CLOTHES[int(rng.integers(len(CLOTHES)))],
                hair=HAIR[int(rng.integers(len(HAIR)))],
                arm_raise=float(rng.uniform(0.8, 1.8)) if rng.random() < 0.2 else 0.0,
            )
        )
    return people


def _sample_traffic_lights(
    rng: np.random.Generator, road: Road, count: int, far: float
) -> list[TrafficLight]:
    state = int(rng.choice(4, p=LIGHT_STATE_P))
    switch = float(rng.uniform(2.0, 15.0))
    housing = HOUSINGS[int(rng.integers(len(HOUSINGS)))]
    lights: list[TrafficLight] = []
    for k in range(count):
        if road.crossing_z is not None and k < 3:
            z = road.crossing_z + road.crossing_width + 1.0
        else:
            z = float(rng.uniform(12.0, far))
            state = int(rng.choice(4, p=LIGHT_STATE_P))
            switch = float(rng.uniform(2.0, 15.0))
        kind = rng.random()
        if kind < 0.4:
            pole_x = road.right_edge + 0.8
            x = road.lane_center(int(rng.integers(road.lanes_forward)))
            y = float(rng.uniform(4.6, 5.6))
        else:
            side = 1.0 if kind < 0.8 or road.lanes_oncoming == 0 else -1.0
            pole_x = road.right_edge + 0.8 if side > 0 else road.left_edge - 0.8
            x = pole_x
            y = float(rng.uniform(2.4, 3.4))
        if any(abs(t.position[0] - x) < 0.8 and abs(t.position[2] - z) < 2.0 for t in lights):
            continue
        lights.append(
            TrafficLight(
                position=np.array((x, y, z)),
                yaw=float(rng.uniform(-0.15, 0.15)),
                pole_x=pole_x,
                state=state,
                housing=housing,
                switch_time=switch,
            )
        )
    return lights


def _sample_stop_signs(
    rng: np.random.Generator, road: Road, count: int, far: float
) -> list[StopSign]:
    signs: list[StopSign] = []
    for _ in range(count):
        side = 1.0 if rng.random() < 0.75 else -1.0
        edge = road.right_edge if side > 0 else road.left_edge
        x = edge + side * float(rng.uniform(0.4, 1.2))
        if road.crossing_z is not None and rng.random() < 0.5:
            z = road.crossing_z - float(rng.uniform(4.0, 6.0))
        else:
            z = float(rng.uniform(8.0, far))
        if any(abs(s.position[2] - z) < 3.0 and s.position[0] * x > 0 for s in signs):
            continue
        y = float(rng.uniform(1.9, 2.4))
        signs.append(StopSign(np.array((x, y, z)), float(rng.uniform(-0.35, 0.35))))
    return signs


def _sample_distractors(
    rng: np.random.Generator, road: Road, count: int, far: float
) -> list[Distractor]:
    items: list[Distractor] = []
    for _ in range(count):
        kind = str(rng.choice(("round_sign", "triangle_sign", "billboard")))
        if kind == "billboard":
            side = float(rng.choice((-1.0, 1.0)))
            edge = road.right_edge if side > 0 else road.left_edge
            x = edge + side * (road.sidewalk - 0.3 + float(rng.uniform(0.0, 2.0)))
            color = BILLBOARD_REDS[int(rng.integers(len(BILLBOARD_REDS)))]
        else:
            x = _sidewalk_x(rng, road, 0.3)
            color = SIGN_RIMS[int(rng.integers(len(SIGN_RIMS)))]
        position = np.array((x, 0.0, float(rng.uniform(6.0, far))))
        size = float(rng.uniform(0.8, 1.4))
        items.append(Distractor(kind, position, float(rng.uniform(-0.3, 0.3)), size, color))
    spacing = float(rng.uniform(18.0, 35.0))
    lamps = rng.random() < 0.7
    trees = rng.random() < 0.5
    for side in (-1.0, 1.0):
        edge = road.right_edge if side > 0 else road.left_edge
        for z in np.arange(float(rng.uniform(0.0, spacing)), far + 40.0, spacing):
            if road.in_crossing(float(z), road.sidewalk):
                continue
            if lamps:
                pos = np.array((edge + side * 0.5, 0.0, z))
                items.append(Distractor("street_lamp", pos, 0.0, 1.0, (0, 0, 0)))
            if trees:
                pos = np.array((edge + side * (road.sidewalk - 0.8), 0.0, z + 0.5 * spacing))
                foliage = FOLIAGE[int(rng.integers(len(FOLIAGE)))]
                items.append(Distractor("tree", pos, 0.0, float(rng.uniform(0.8, 1.3)), foliage))
    return items
