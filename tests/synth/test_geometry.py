"""Camera and canvas geometry: projection, ground depth and plane depth agree."""

from __future__ import annotations

import numpy as np
import pytest

from perception.synth.camera import Camera, clip_near
from perception.synth.canvas import Canvas


def _camera() -> Camera:
    return Camera(320, 192, 288.0, np.array((0.5, 1.45, 2.0)), pitch=0.04, yaw=0.02)


def test_ground_points_project_to_rows_of_their_depth() -> None:
    cam = _camera()
    rows = cam.ground_depth_rows(500.0)
    points = np.array([(x, 0.0, z) for x in (-3.0, 0.0, 4.0) for z in (8.0, 20.0, 60.0)])
    pc = cam.to_camera(points)
    uv = cam.project(pc)

    def ground_depth(v: float) -> float:
        b = (v - cam.cy) / cam.fy
        return cam.height_above_ground / (b * np.cos(cam.pitch) + np.sin(cam.pitch))

    for (_, v), z in zip(uv, pc[:, 2], strict=True):
        assert ground_depth(v) == pytest.approx(z, rel=1e-9)
        row = int(np.floor(v))
        assert rows[row] == pytest.approx(ground_depth(row + 0.5), rel=1e-6)
    assert (rows[: int(cam.horizon_row())] == 0).all()


def test_plane_depth_matches_ray_intersection() -> None:
    cam = _camera()
    canvas = Canvas(cam)
    canvas.depth[:] = 0
    wall = np.array(((3.0, 0.0, 6.0), (3.0, 0.0, 30.0), (3.0, 4.0, 30.0), (3.0, 4.0, 6.0)))
    canvas.fill(cam.to_camera(wall), (200, 0, 0), 7)
    ys, xs = np.nonzero(canvas.instance == 7)
    assert len(ys) > 100
    # Intersect the pixel-centre rays with the plane x = 3 (world).
    rays = np.stack(
        ((xs + 0.5 - cam.cx) / cam.fx, (ys + 0.5 - cam.cy) / cam.fy, np.ones(len(xs))), 1
    )
    world_dirs = rays @ cam.rotation
    t = (3.0 - cam.position[0]) / world_dirs[:, 0]
    inside = (t > 0) & (np.abs(cam.position[2] + t * world_dirs[:, 2] - 18.0) < 11.0)
    np.testing.assert_allclose(canvas.depth[ys, xs][inside], t[inside], rtol=1e-4)
    assert (canvas.depth[ys, xs] >= 6.0 - 2.0).all()


def test_clip_near_keeps_the_front_part() -> None:
    poly = np.array(((0.0, 0.0, -1.0), (1.0, 0.0, -1.0), (1.0, 0.0, 5.0), (0.0, 0.0, 5.0)))
    clipped = clip_near(poly)
    assert clipped[:, 2].min() >= 0.3 - 1e-9 and len(clipped) == 4
    assert len(clip_near(poly - (0.0, 0.0, 10.0))) == 0
