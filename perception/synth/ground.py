"""The road, its markings, sidewalks, an optional crossing street, and the sky.

The ground is the plane ``y = 0``; its depth is analytic per image row (see
:meth:`Camera.ground_depth_rows`), so everything on it paints colour only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from perception.synth.camera import clamp_in_front
from perception.synth.canvas import Canvas, Color

MAX_GROUND_DEPTH = 200.0
"""Ground farther than this (metres) gets depth 0 ("unknown"), like sky."""
FAR = 400.0
"""Painted extent of the ground ahead of the camera, metres."""
WHITE: Color = (225, 225, 220)
YELLOW: Color = (215, 175, 40)


@dataclass(frozen=True)
class Road:
    """A straight road along ``z``; the centre line is ``x = 0``, forward lanes on ``+x``.

    Lengths are metres; ``parking`` is the width of a parking strip outside the outer lanes on
    each side (0 = none). ``crossing_z`` is the near edge of a crossing street (``None``: none),
    with a zebra crosswalk and stop line before it when ``crosswalk``.
    """

    lane_width: float
    lanes_forward: int
    lanes_oncoming: int
    sidewalk: float
    parking: float
    asphalt: Color
    pavement: Color
    verge: Color
    double_yellow: bool
    dash_phase: float
    crossing_z: float | None
    crossing_width: float
    crosswalk: bool

    @property
    def right_edge(self) -> float:
        return self.lanes_forward * self.lane_width + self.parking

    @property
    def left_edge(self) -> float:
        return -self.lanes_oncoming * self.lane_width - self.parking

    def lane_center(self, lane: int) -> float:
        """``x`` of forward lane ``lane >= 0`` or oncoming lane ``-1 - lane`` for ``lane < 0``."""
        return (lane + 0.5) * self.lane_width

    def in_crossing(self, z: float, margin: float = 0.0) -> bool:
        """Whether ``z`` lies within the crossing street (widened by ``margin``)."""
        if self.crossing_z is None:
            return False
        return self.crossing_z - margin <= z <= self.crossing_z + self.crossing_width + margin


def _strips(x: list[tuple[float, float]], z: list[tuple[float, float]]) -> np.ndarray:
    """Ground rectangles ``(N, 4, 3)`` for every pair of ``x`` span and ``z`` span."""
    quads = [
        ((x0, 0.0, z0), (x1, 0.0, z0), (x1, 0.0, z1), (x0, 0.0, z1)) for x0, x1 in x for z0, z1 in z
    ]
    return np.array(quads, dtype=np.float64).reshape(-1, 4, 3)


def _paint(canvas: Canvas, quads: np.ndarray, color: Color) -> None:
    quads, _ = clamp_in_front(quads, canvas.camera)
    if len(quads):
        canvas.fill_color_many(canvas.camera.to_camera(quads), color)


def draw_sky_and_ground(canvas: Canvas, sky_top: Color, sky_horizon: Color, verge: Color) -> None:
    """Fill the analytic ground depth (0 above the horizon), a sky gradient and the verge."""
    camera = canvas.camera
    rows = camera.ground_depth_rows(MAX_GROUND_DEPTH)
    canvas.depth[:] = rows[:, None]
    horizon = min(max(int(np.ceil(camera.horizon_row() - 0.5)), 0), camera.height)
    if horizon > 0:
        canvas.color[:horizon] = _sky(sky_top, sky_horizon, horizon, camera.width)
    if horizon < camera.height:
        cv2.rectangle(canvas.color, (0, horizon), (camera.width, camera.height), verge, -1)


@functools.lru_cache(maxsize=64)
def _sky(top: Color, bottom: Color, rows: int, width: int) -> np.ndarray:
    """A vertical sky gradient ``(rows, width, 3)`` uint8 from ``top`` to ``bottom``."""
    t = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None, None]
    column = (1.0 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return cv2.resize(column.astype(np.uint8), (width, rows), interpolation=cv2.INTER_NEAREST)


def draw_road(canvas: Canvas, road: Road) -> None:
    """Paint sidewalks, asphalt, the crossing street and the markings (colour only)."""
    z0 = float(canvas.camera.position[2]) - 5.0
    far = z0 + FAR
    left, right, walk = road.left_edge, road.right_edge, road.sidewalk
    _paint(
        canvas, _strips([(left - walk, left), (right, right + walk)], [(z0, far)]), road.pavement
    )
    _paint(canvas, _strips([(left, right)], [(z0, far)]), road.asphalt)
    curb = tuple(int(0.75 * c) for c in road.pavement)
    _paint(canvas, _strips([(left - 0.15, left), (right, right + 0.15)], [(z0, far)]), curb)
    lane_left, lane_right = left + road.parking, right - road.parking
    spans = [(z0, far)]
    if road.crossing_z is not None:
        cz, cw = road.crossing_z, road.crossing_width
        _paint(canvas, _strips([(left - 80.0, right + 80.0)], [(cz, cz + cw)]), road.asphalt)
        near_end = cz - (5.0 if road.crosswalk else 0.5)
        spans = [(z0, near_end), (cz + cw + 0.5, far)]
        if road.crosswalk:
            bars = [(x, x + 0.5) for x in np.arange(left + 0.3, right - 0.4, 1.0)]
            _paint(canvas, _strips(bars, [(cz - 3.5, cz - 0.5)]), WHITE)
            _paint(canvas, _strips([(0.1, lane_right)], [(cz - 4.6, cz - 4.2)]), WHITE)
    edges = [(lane_left + 0.1, lane_left + 0.25), (lane_right - 0.25, lane_right - 0.1)]
    _paint(canvas, _strips(edges, spans), WHITE)
    if road.double_yellow:
        _paint(canvas, _strips([(-0.2, -0.08), (0.08, 0.2)], spans), YELLOW)
    bounds = [k * road.lane_width for k in range(1 - road.lanes_oncoming, road.lanes_forward)]
    dividers = [x for x in bounds if not (road.double_yellow and x == 0.0)]
    start = z0 - (z0 - road.dash_phase) % 9.0
    dashes = [
        (z, z + 3.0)
        for z in np.arange(start, z0 + 160.0, 9.0)
        if any(a <= z and z + 3.0 <= b for a, b in spans)
    ]
    if dividers and dashes:
        _paint(canvas, _strips([(x - 0.07, x + 0.07) for x in dividers], dashes), WHITE)
