"""Cars: a body, a cabin with glass, wheels, head and tail lights (lit at night, brake lights
glowing red by day too: an honest distractor for red traffic lights)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.synth.camera import Camera
from perception.synth.canvas import Canvas, Color
from perception.synth.objects.solid import (
    FACE_BACK,
    FACE_FRONT,
    FACE_LEFT,
    FACE_RIGHT,
    draw_solid,
    face_quad,
    hexahedron,
    place,
)
from perception.synth.style import Style

PAINTS: tuple[Color, ...] = (
    (200, 200, 205), (30, 30, 35), (120, 125, 130), (150, 20, 25), (20, 45, 110),
    (225, 225, 220), (60, 80, 60), (170, 140, 90), (90, 20, 30), (40, 100, 160),
)  # fmt: skip
GLASS: Color = (35, 45, 60)
TYRE: Color = (22, 22, 24)
TRIM: Color = (40, 40, 42)
HEADLIGHT_OFF: Color = (205, 205, 200)
HEADLIGHT_ON: Color = (255, 255, 235)
TAIL_OFF: Color = (140, 25, 25)
TAIL_ON: Color = (255, 45, 35)


@dataclass(frozen=True)
class Car:
    """A car on the ground at ``position`` (centre of its footprint) moving along ``heading``.

    Dimensions are metres; ``speed`` is m/s along the heading (0 for parked cars).
    """

    position: np.ndarray
    heading: float
    speed: float
    length: float
    width: float
    body_top: float
    roof: float
    paint: Color
    braking: bool
    category: int = 0

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` of the footprint centre at ``time`` seconds."""
        step = self.speed * time
        return self.position + step * np.array((np.sin(self.heading), 0.0, np.cos(self.heading)))

    def draw(self, canvas: Canvas, instance: int, time: float, style: Style) -> None:
        """Paint the car (all parts owned by ``instance``)."""
        camera = canvas.camera
        pos = self.anchor(time)
        hl, hw = 0.5 * self.length, 0.5 * self.width
        bottom = 0.3
        under = hexahedron((-hw + 0.05, hw - 0.05), (0.0, bottom + 0.05), (-hl + 0.5, hl - 0.5))
        draw_solid(canvas, camera, place(under, pos, self.heading), TYRE, style,
                   instance)  # fmt: skip
        body = hexahedron((-hw, hw), (bottom, self.body_top), (-hl, hl))
        faces = draw_solid(
            canvas, camera, place(body, pos, self.heading), self.paint, style, instance
        )
        sill = 0.2 / (self.body_top - 0.12)
        for face in faces[FACE_BACK : FACE_RIGHT + 1]:
            if face is not None:
                canvas.fill_color(face_quad(face, 0.0, 1.0, 0.0, sill), TRIM)
        self._wheels(canvas, camera, pos, faces, instance)
        cabin_len = 0.5 * self.length
        cz = -0.1 * self.length
        cabin = hexahedron(
            (-hw + 0.06, hw - 0.06),
            (self.body_top, self.roof),
            (cz - 0.5 * cabin_len, cz + 0.5 * cabin_len),
            top_x=(-hw + 0.2, hw - 0.2),
            top_z=(cz - 0.5 * cabin_len + 0.3, cz + 0.5 * cabin_len - 0.45),
        )
        albedo = [self.paint, self.paint, GLASS, GLASS, GLASS, GLASS]
        draw_solid(canvas, camera, place(cabin, pos, self.heading), albedo, style,
                   instance)  # fmt: skip
        self._lights(canvas, faces, style)

    def _wheels(
        self,
        canvas: Canvas,
        camera: Camera,
        pos: np.ndarray,
        faces: list[np.ndarray | None],
        instance: int,
    ) -> None:
        radius = 0.32
        base = 0.5 * self.length - 0.85
        angles = np.linspace(0.0, 2.0 * np.pi, 9)[:-1]
        for side, face in ((-1.0, faces[FACE_LEFT]), (1.0, faces[FACE_RIGHT])):
            if face is None:
                continue
            for axle in (-base, base):
                ring = np.stack(
                    (
                        np.full(8, side * 0.5 * self.width),
                        radius + radius * np.sin(angles),
                        axle + radius * np.cos(angles),
                    ),
                    axis=1,
                )
                world = place(ring, pos, self.heading)
                canvas.fill(camera.to_camera(world), TYRE, instance)

    def _lights(self, canvas: Canvas, faces: list[np.ndarray | None], style: Style) -> None:
        # Front / back faces run x0 -> x1 along s and bottom -> top along t.
        front, back = faces[FACE_FRONT], faces[FACE_BACK]
        if front is not None:
            color = HEADLIGHT_ON if style.lights_on else HEADLIGHT_OFF
            for s0 in (0.06, 0.76):
                canvas.fill_color(face_quad(front, s0, s0 + 0.18, 0.55, 0.8), color)
        if back is not None:
            color = TAIL_ON if (style.lights_on or self.braking) else TAIL_OFF
            for s0 in (0.05, 0.8):
                canvas.fill_color(face_quad(back, s0, s0 + 0.15, 0.5, 0.8), color)
            canvas.fill_color(face_quad(back, 0.4, 0.6, 0.15, 0.4), (215, 215, 205))
