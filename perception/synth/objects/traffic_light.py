"""Traffic lights: a pole (optionally with a mast arm over the road) carrying a housing with
three lamps, red on top; only the lamp of the current state is lit ("off": none)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.synth.canvas import Canvas, Color
from perception.synth.objects.solid import (
    FACE_FRONT,
    draw_pole,
    draw_solid,
    face_point,
    hexahedron,
)
from perception.synth.style import Style

LIT: tuple[Color, ...] = ((255, 40, 30), (255, 185, 20), (40, 255, 150))
"""Lit lamp colours in LIGHT_STATES order (red, yellow, green); 255 marks them emissive."""
DARK: tuple[Color, ...] = ((70, 25, 22), (70, 58, 20), (20, 60, 40))
POLE: Color = (90, 92, 95)
HOUSINGS: tuple[Color, ...] = ((28, 28, 30), (40, 42, 38), (170, 140, 30))
RED, YELLOW, GREEN, OFF = range(4)
YELLOW_SECONDS = 3.0
HOUSING_SIZE = (0.34, 0.95, 0.28)
"""Housing width, height, depth in metres."""


@dataclass(frozen=True)
class TrafficLight:
    """A light whose housing bottom-centre hangs at ``position`` ``(3,)`` facing ``-z`` (the
    oncoming camera), turned by ``yaw``. The pole stands at ``pole_x``; when that differs from
    the housing's ``x`` a horizontal mast arm joins them. ``state`` indexes LIGHT_STATES; at
    ``switch_time`` seconds the light moves on (green, then yellow for ``YELLOW_SECONDS``, then
    red; red turns green; "off" stays off)."""

    position: np.ndarray
    yaw: float
    pole_x: float
    state: int
    housing: Color
    switch_time: float = float("inf")
    category: int = 2

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` of the housing (static)."""
        return self.position

    def light_state(self, time: float) -> int:
        """Index into LIGHT_STATES at ``time`` seconds."""
        if time < self.switch_time or self.state == OFF:
            return self.state
        if self.state == RED:
            return GREEN
        if self.state == GREEN and time < self.switch_time + YELLOW_SECONDS:
            return YELLOW
        return RED

    def draw(self, canvas: Canvas, instance: int, time: float, style: Style) -> None:
        """Paint pole and arm (unlabelled background) then the housing and lamps (``instance``)."""
        camera = canvas.camera
        x, y, z = self.position
        top = y + HOUSING_SIZE[1] + 0.15
        draw_pole(canvas, (self.pole_x, 0.0, z + 0.27), (self.pole_x, top, z + 0.27), 0.07, POLE)
        if abs(self.pole_x - x) > 0.3:
            lo, hi = sorted((self.pole_x, x))
            draw_pole(canvas, (lo, top - 0.1, z + 0.27), (hi, top - 0.1, z + 0.27), 0.06, POLE)
        w, h, d = HOUSING_SIZE
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        local = hexahedron((-w / 2, w / 2), (0.0, h), (-d, 0.0))
        rot = np.array(((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c)))
        # The housing faces -z: its "front" face of the local box is the -z (back) face.
        world = (local * np.array((1.0, 1.0, -1.0))) @ rot.T + self.position
        faces = draw_solid(canvas, camera, world, self.housing, style, instance)
        front = faces[FACE_FRONT]
        if front is None:
            return
        radius = 0.36 * w
        state = self.light_state(time)
        for lamp in range(3):
            color = LIT[lamp] if lamp == state else DARK[lamp]
            canvas.disc(face_point(front, 0.5, 0.8 - 0.3 * lamp), radius, color, -1, decal=True)
