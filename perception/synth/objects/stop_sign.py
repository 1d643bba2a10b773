"""Stop signs: a red octagon with a white border and a white bar, on a pole."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perception.synth.canvas import Canvas
from perception.synth.objects.solid import draw_pole, place
from perception.synth.style import Style

RED = (185, 20, 28)
WHITE = (235, 235, 235)
POLE = (120, 122, 125)
RADIUS = 0.38
"""Circumradius of the octagon in metres (about 0.75 m across)."""

_ANGLES = np.pi / 8.0 + np.arange(8) * np.pi / 4.0
OCTAGON = np.stack((np.cos(_ANGLES), np.sin(_ANGLES), np.zeros(8)), axis=1)
"""Unit octagon ``(8, 3)`` in the sign plane (local ``x`` right, ``y`` up), flat top."""


@dataclass(frozen=True)
class StopSign:
    """A stop sign whose octagon centre is at ``position`` ``(3,)``, facing ``-z`` turned by
    ``yaw``; the pole runs from the ground to the octagon."""

    position: np.ndarray
    yaw: float
    category: int = 3

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` of the octagon centre (static)."""
        return self.position

    def draw(self, canvas: Canvas, instance: int, time: float, style: Style) -> None:
        """Paint the pole (unlabelled) and the sign face (``instance``)."""
        camera = canvas.camera
        x, y, z = self.position
        draw_pole(canvas, (x, 0.0, z + 0.07), (x, y, z + 0.07), 0.04, POLE)
        heading = math.pi + self.yaw
        normal = np.array((math.sin(heading), 0.0, math.cos(heading)))
        if normal @ (camera.position - self.position) <= 0.0:
            back = camera.to_camera(place(RADIUS * OCTAGON, self.position, heading))
            canvas.fill(back, POLE, instance)
            return
        white = style.shade(WHITE, normal)
        face = RADIUS * OCTAGON
        canvas.fill(camera.to_camera(place(face, self.position, heading)), white, instance)
        inner = camera.to_camera(place(0.86 * face, self.position, heading))
        canvas.fill_color(inner, style.shade(RED, normal))
        bar = np.array(((-0.6, -0.1, 0.0), (0.6, -0.1, 0.0), (0.6, 0.1, 0.0), (-0.6, 0.1, 0.0)))
        canvas.fill_color(camera.to_camera(place(RADIUS * bar, self.position, heading)), white)
