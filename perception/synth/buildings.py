"""Buildings lining the road: box blocks with a grid of windows (some lit at night)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from perception.synth.camera import clamp_in_front
from perception.synth.canvas import Canvas, Color
from perception.synth.ground import Road
from perception.synth.objects.solid import draw_solid, hexahedron
from perception.synth.style import Style

FACADES: tuple[Color, ...] = (
    (165, 150, 130), (190, 180, 165), (120, 90, 75), (150, 150, 155), (200, 195, 185),
    (110, 115, 125), (175, 120, 90), (215, 205, 175), (95, 85, 80), (140, 160, 170),
)  # fmt: skip
GLASS: tuple[Color, ...] = ((50, 60, 75), (70, 85, 100), (35, 40, 45), (90, 110, 125))
LIT_WINDOW: Color = (255, 215, 140)


@dataclass(frozen=True)
class Building:
    """A block whose facade plane is ``x = front_x`` (facing the road), spanning ``z0..z1``,
    ``height`` tall and ``depth`` deep, with ``lit`` ``(floors, columns)`` bool windows lit at
    night."""

    front_x: float
    z0: float
    z1: float
    height: float
    depth: float
    facade: Color
    glass: Color
    floor_height: float
    window_spacing: float
    lit: np.ndarray

    @cached_property
    def windows(self) -> np.ndarray:
        """World quads ``(floors * columns, 4, 3)`` of the facade windows, row-major."""
        floors, cols = self.lit.shape
        y0 = 1.0 + self.floor_height * np.arange(floors)
        y1 = y0 + 0.55 * self.floor_height
        z0 = self.z0 + 0.6 + self.window_spacing * np.arange(cols)
        z1 = z0 + 0.55 * self.window_spacing
        ya, za = np.meshgrid(y0, z0, indexing="ij")
        yb, zb = np.meshgrid(y1, z1, indexing="ij")
        quads = np.empty((floors, cols, 4, 3))
        quads[..., 0] = self.front_x
        quads[..., 1] = np.stack((ya, ya, yb, yb), axis=-1)
        quads[..., 2] = np.stack((za, zb, zb, za), axis=-1)
        return quads.reshape(-1, 4, 3)


def sample_buildings(
    rng: np.random.Generator, road: Road, z_start: float, z_end: float
) -> list[Building]:
    """Blocks along both sides from ``z_start`` to ``z_end``, leaving the crossing street free."""
    out: list[Building] = []
    for side in (-1.0, 1.0):
        edge = road.right_edge + road.sidewalk if side > 0 else road.left_edge - road.sidewalk
        z = z_start + float(rng.uniform(-10.0, 0.0))
        while z < z_end:
            length = float(rng.uniform(8.0, 30.0))
            if road.in_crossing(z, road.sidewalk) or road.in_crossing(z + length, road.sidewalk):
                z = road.crossing_z + road.crossing_width + road.sidewalk + 0.5  # type: ignore[operator]
                continue
            floor_h = float(rng.uniform(2.8, 3.6))
            height = floor_h * int(rng.integers(2, 10)) + float(rng.uniform(0.5, 2.0))
            spacing = float(rng.uniform(1.8, 3.2))
            floors = int((height - 1.5) // floor_h)
            cols = max(1, int((length - 1.2) // spacing))
            out.append(
                Building(
                    front_x=edge + side * float(rng.uniform(0.0, 3.0)),
                    z0=z,
                    z1=z + length,
                    height=height,
                    depth=float(rng.uniform(8.0, 20.0)),
                    facade=FACADES[int(rng.integers(len(FACADES)))],
                    glass=GLASS[int(rng.integers(len(GLASS)))],
                    floor_height=floor_h,
                    window_spacing=spacing,
                    lit=rng.random((floors, cols)) < rng.uniform(0.1, 0.5),
                )
            )
            z += length + float(rng.choice((0.0, 0.0, rng.uniform(1.0, 8.0))))
    return out


def draw_buildings(canvas: Canvas, buildings: list[Building], style: Style) -> None:
    """Paint the blocks far to near, then their windows as decals on visible facades."""
    camera = canvas.camera
    cam_z = float(camera.position[2])
    for b in sorted(buildings, key=lambda b: -abs(b.z0 - cam_z)):
        if b.z1 < cam_z - 5.0:
            continue
        side = 1.0 if b.front_x > 0 else -1.0
        xs = sorted((b.front_x, b.front_x + side * b.depth))
        verts = hexahedron((xs[0], xs[1]), (0.0, b.height), (b.z0, b.z1))
        faces = draw_solid(canvas, camera, verts, b.facade, style, -1)
        if faces[4 if side > 0 else 5] is None or b.lit.size == 0:
            continue
        quads = b.windows
        lit = b.lit.reshape(-1) & style.lights_on
        for mask, color in ((~lit, style.shade(b.glass, np.array((-side, 0.0, 0.0)))),
                            (lit, LIT_WINDOW)):  # fmt: skip
            chosen = clamp_in_front(quads[mask], camera)
            if len(chosen):
                canvas.fill_color_many(camera.to_camera(chosen), color)
