"""Buildings lining the road: box blocks with a grid of windows (some lit at night)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from perception.synth.camera import NEAR_PLANE, clamp_in_front
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
MIN_FLOOR_PIXELS = 6.0


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
        y0 = (1.0 + self.floor_height * np.arange(floors))[:, None]
        z0 = (self.z0 + 0.6 + self.window_spacing * np.arange(cols))[None, :]
        y1, z1 = y0 + 0.55 * self.floor_height, z0 + 0.55 * self.window_spacing
        quads = np.empty((floors, cols, 4, 3))
        quads[..., 0] = self.front_x
        quads[:, :, 0, 1] = quads[:, :, 1, 1] = y0
        quads[:, :, 2, 1] = quads[:, :, 3, 1] = y1
        quads[:, :, 0, 2] = quads[:, :, 3, 2] = z0
        quads[:, :, 1, 2] = quads[:, :, 2, 2] = z1
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
            length = float(rng.uniform(12.0, 40.0))
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
    """Paint the blocks far to near, each followed by the windows of its facade (decals;
    skipped where a floor would be under ``MIN_FLOOR_PIXELS`` tall even at the near end)."""
    camera = canvas.camera
    cam_z = float(camera.position[2])
    for b in sorted(buildings, key=lambda b: -abs(b.z0 - cam_z)):
        if b.z1 < cam_z - 5.0:
            continue
        side = 1.0 if b.front_x > 0 else -1.0
        xs = sorted((b.front_x, b.front_x + side * b.depth))
        verts = hexahedron((xs[0], xs[1]), (0.0, b.height), (b.z0, b.z1))
        facade = draw_solid(canvas, camera, verts, b.facade, style, -1)[4 if side > 0 else 5]
        if facade is None or b.lit.size == 0:
            continue
        z_near = float(facade[:, 2].min())
        if camera.fx * b.floor_height < MIN_FLOOR_PIXELS * max(z_near, NEAR_PLANE):
            continue
        quads, lit = b.windows, b.lit.reshape(-1)
        if z_near < 1.0:
            quads, keep = clamp_in_front(quads, camera)
            lit = lit[keep]
        quads = camera.to_camera(quads)
        glass = style.shade(b.glass, np.array((-side, 0.0, 0.0)))
        if style.lights_on:
            canvas.fill_color_many(quads[lit], LIT_WINDOW)
            quads = quads[~lit]
        canvas.fill_color_many(quads, glass)
