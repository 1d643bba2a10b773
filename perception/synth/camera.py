"""Pinhole camera over the ground plane.

World frame: ``x`` right, ``y`` up (ground at ``y = 0``), ``z`` forward along the road.
Camera frame: ``X`` right, ``Y`` down, ``Z`` forward (optical axis). Image coordinates are
continuous: pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, so its centre is at
``(j + 0.5, i + 0.5)`` and a keypoint at ``(u, v)`` lies in pixel ``(floor(v), floor(u))``.
Depth is the camera-frame ``Z`` (distance along the optical axis), in metres.
"""

from __future__ import annotations

import math

import numpy as np

NEAR_PLANE = 0.3
"""Geometry closer than this (metres along the optical axis) is clipped away."""


class Camera:
    """A pinhole camera at ``position`` with a pitch (down positive) and a yaw (right positive).

    Pixels are square (``fx = fy``) and the principal point is the image centre.

    Args:
        width: image width ``W`` in pixels.
        height: image height ``H`` in pixels.
        focal: focal length in pixels (``fx = fy``).
        position: ``(3,)`` camera centre in world metres (``y`` is the height above ground).
        pitch: downward tilt in radians.
        yaw: heading in radians, positive turns the optical axis towards ``+x``.
    """

    def __init__(
        self,
        width: int,
        height: int,
        focal: float,
        position: np.ndarray,
        pitch: float,
        yaw: float = 0.0,
    ) -> None:
        self.width = width
        self.height = height
        self.fx = focal
        self.fy = focal
        self.cx = width / 2.0
        self.cy = height / 2.0
        self._center = np.array((self.cx, self.cy))
        self.position = np.asarray(position, dtype=np.float64)
        self.pitch = pitch
        self.yaw = yaw
        cp, sp, cy, sy = math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
        forward = (sy * cp, -sp, cy * cp)
        right = (cy, 0.0, -sy)
        down = (-sy * sp, -cp, -cy * sp)
        self.rotation = np.array([right, down, forward], dtype=np.float64)
        """``(3, 3)`` world-to-camera rotation (rows: camera right, down, forward in world)."""

    @property
    def height_above_ground(self) -> float:
        return float(self.position[1])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` to camera-frame points ``(..., 3)``."""
        return (points - self.position) @ self.rotation.T

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points ``(..., 3)`` with ``Z > 0`` to image coordinates ``(..., 2)``."""
        return points_cam[..., :2] * (self.fx / points_cam[..., 2:3]) + self._center

    def ground_depth_rows(self, max_depth: float) -> np.ndarray:
        """Depth of the ground plane seen at the centre of each image row, ``(H,)`` float32.

        With no roll the ground depth depends on the row only: ``Z = h / (b cos p + sin p)``
        with ``b = (v - cy) / fy``. Rows above the horizon, or beyond ``max_depth``, are 0.
        """
        b = (np.arange(self.height, dtype=np.float64) + 0.5 - self.cy) / self.fy
        denom = b * math.cos(self.pitch) + math.sin(self.pitch)
        with np.errstate(divide="ignore"):
            depth = np.where(denom > 0, self.height_above_ground / denom, 0.0)
        depth[depth > max_depth] = 0.0
        return depth.astype(np.float32)

    def horizon_row(self) -> float:
        """Image ``v`` of the horizon (may lie outside the image)."""
        return self.cy - self.fy * math.tan(self.pitch)

    def intrinsics(self) -> dict[str, float]:
        """``fx, fy, cx, cy`` in pixels, for ``Sample.meta``."""
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy}


def clip_near(points_cam: np.ndarray) -> np.ndarray:
    """Clip a planar polygon ``(K, 3)`` (camera frame) to ``Z >= NEAR_PLANE``.

    Returns the clipped polygon ``(K', 3)``; ``K'`` is 0 when it lies wholly behind the plane.
    """
    inside = points_cam[:, 2] >= NEAR_PLANE
    if inside.all():
        return points_cam
    if not inside.any():
        return points_cam[:0]
    out = []
    count = len(points_cam)
    for k in range(count):
        cur, nxt = points_cam[k], points_cam[(k + 1) % count]
        cur_in, nxt_in = inside[k], inside[(k + 1) % count]
        if cur_in:
            out.append(cur)
        if cur_in != nxt_in:
            t = (NEAR_PLANE - cur[2]) / (nxt[2] - cur[2])
            out.append(cur + t * (nxt - cur))
    return np.array(out)


def clamp_in_front(quads: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pull world quads ``(N, K, 3)`` whose edges reaching the camera run along ``z`` (ground
    strips, facade windows) in front of the near plane; drop those wholly behind it.

    Each vertex's ``z`` is raised to where its ``(x, y)`` line crosses the near plane, which
    clips such quads exactly. Returns the kept quads ``(N', K, 3)`` and which were kept ``(N,)``.
    """
    fwd = camera.rotation[2]
    rel = quads - camera.position
    z_min = (NEAR_PLANE * 1.01 - fwd[0] * rel[..., 0] - fwd[1] * rel[..., 1]) / fwd[2]
    keep = (rel[..., 2] > z_min).any(axis=1)
    out = quads[keep].copy()
    out[..., 2] = np.maximum(rel[keep][..., 2], z_min[keep]) + camera.position[2]
    return out, keep
