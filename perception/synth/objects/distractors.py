"""Unlabelled street furniture that looks like the labelled classes on purpose: round and
triangular signs (red rims), red billboards, street lamps (lit at night), trees."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perception.synth.canvas import Canvas, Color
from perception.synth.objects.solid import (
    FACE_BACK,
    draw_pole,
    draw_solid,
    face_quad,
    hexahedron,
    place,
)
from perception.synth.style import Style

POLE: Color = (110, 112, 115)
WHITE: Color = (230, 230, 230)
SIGN_RIMS: tuple[Color, ...] = ((190, 25, 30), (25, 70, 170), (200, 160, 20))
BILLBOARD_REDS: tuple[Color, ...] = ((200, 25, 30), (170, 20, 40), (220, 60, 40))
LAMP_ON: Color = (255, 235, 190)
LAMP_OFF: Color = (200, 200, 190)
FOLIAGE: tuple[Color, ...] = ((50, 95, 40), (70, 110, 50), (40, 80, 45))
KINDS: tuple[str, ...] = ("round_sign", "triangle_sign", "billboard", "street_lamp", "tree")


def _ring(count: int, phase: float) -> np.ndarray:
    angles = phase + np.arange(count) * 2.0 * np.pi / count
    return np.stack((np.cos(angles), np.sin(angles), np.zeros(count)), axis=1)


_CIRCLE = _ring(16, 0.0)
_TRIANGLE = _ring(3, np.pi / 2.0)


@dataclass(frozen=True)
class Distractor:
    """One piece of street furniture of ``kind`` (see KINDS) standing at ``position`` ``(3,)``
    on the ground, facing ``-z`` turned by ``yaw``; ``size`` scales it, ``color`` is its main
    colour (sign rim, billboard, foliage)."""

    kind: str
    position: np.ndarray
    yaw: float
    size: float
    color: Color
    category: int = -1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown distractor kind {self.kind!r}; expected one of {KINDS}")

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` of its base (static)."""
        return self.position

    def draw(self, canvas: Canvas, instance: int, time: float, style: Style) -> None:
        """Paint it as background (instance -1): it occludes but is never labelled."""
        if self.kind in ("round_sign", "triangle_sign"):
            self._sign(canvas, style)
        elif self.kind == "billboard":
            self._billboard(canvas, style)
        elif self.kind == "street_lamp":
            self._lamp(canvas, style)
        else:
            self._tree(canvas, style)

    def _pole(self, canvas: Canvas, style: Style, height: float, x: float, half: float) -> None:
        z = float(self.position[2]) + 0.05 + half
        draw_pole(canvas, (x, 0.0, z), (x, height, z), half, style.shade(POLE, -style.sun))

    def _facing(self, canvas: Canvas) -> tuple[float, np.ndarray, bool]:
        heading = math.pi + self.yaw
        normal = np.array((math.sin(heading), 0.0, math.cos(heading)))
        return heading, normal, float(normal @ (canvas.camera.position - self.position)) > 0.0

    def _sign(self, canvas: Canvas, style: Style) -> None:
        camera = canvas.camera
        center_y = 2.1 * self.size
        self._pole(canvas, style, center_y, float(self.position[0]), 0.035)
        heading, normal, front = self._facing(canvas)
        center = self.position + np.array((0.0, center_y, 0.0))
        shape = _CIRCLE if self.kind == "round_sign" else _TRIANGLE
        outer = camera.to_camera(place(0.35 * self.size * shape, center, heading))
        if not front:
            canvas.fill(outer, POLE, -1)
            return
        canvas.fill(outer, style.shade(self.color, normal), -1)
        inner = camera.to_camera(place(0.26 * self.size * shape, center, heading))
        canvas.fill_color(inner, style.shade(WHITE, normal))

    def _billboard(self, canvas: Canvas, style: Style) -> None:
        x, _, z = self.position
        width, height, base = 3.0 * self.size, 2.0 * self.size, 2.5
        for px in (x - 0.35 * width, x + 0.35 * width):
            self._pole(canvas, style, base, px, 0.06)
        board = hexahedron((x - width / 2, x + width / 2), (base, base + height), (z, z + 0.15))
        faces = draw_solid(canvas, canvas.camera, board, self.color, style, -1)
        front = faces[FACE_BACK]  # the -z face, towards the camera
        if front is None:
            return
        _, normal, _ = self._facing(canvas)
        canvas.fill_color(face_quad(front, 0.1, 0.9, 0.55, 0.7), style.shade(WHITE, normal))

    def _lamp(self, canvas: Canvas, style: Style) -> None:
        x, _, z = self.position
        height = 6.0 * self.size
        self._pole(canvas, style, height, x, 0.07)
        reach = -1.5 if x > 0 else 1.5
        lo, hi = sorted((x, x + reach))
        draw_pole(canvas, (lo, height - 0.05, z + 0.12), (hi, height - 0.05, z + 0.12), 0.05, POLE)
        head = canvas.camera.to_camera(np.array((x + reach, height - 0.15, z + 0.12)))
        canvas.disc(head, 0.18, LAMP_ON if style.lights_on else LAMP_OFF, -1)

    def _tree(self, canvas: Canvas, style: Style) -> None:
        camera = canvas.camera
        trunk_top = 2.5 * self.size
        base = camera.to_camera(self.position)
        top = camera.to_camera(self.position + np.array((0.0, trunk_top, 0.0)))
        canvas.segment(base, top, 0.12 * self.size, (80, 60, 40), -1)
        for dx, dy, r in ((0.0, 1.2, 1.5), (-0.7, 0.5, 1.1), (0.7, 0.6, 1.1)):
            center = self.position + np.array((dx * self.size, trunk_top + dy * self.size, 0.0))
            canvas.disc(
                camera.to_camera(center), r * self.size, style.shade(self.color, style.sun), -1
            )
