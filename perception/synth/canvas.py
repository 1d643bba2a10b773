"""The render buffers and the primitives that paint into them.

Every primitive paints the same pixels into the colour image, the depth map and the instance
map, so a pixel's colour, depth and owner always agree. Painting is back to front (painter's
algorithm): a later primitive simply overwrites an earlier one. Decals (lane markings, windows,
lamps on a housing) paint colour only, on a surface already painted with its depth and owner.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from perception.synth.camera import NEAR_PLANE, Camera, clip_near

Color = tuple[int, int, int]
"""An RGB colour, each channel 0..255; 255 in a channel marks an emissive (light-giving) pixel."""

_SHIFT = 4
_SCALE = 1 << _SHIFT
_FLAT_DEPTH = 0.01
"""A polygon whose depth varies by less than this fraction is painted with a constant depth."""


class Canvas:
    """Colour ``(H, W, 3)`` uint8 RGB, depth ``(H, W)`` float32 and instance ``(H, W)`` int32.

    Colour and depth start uninitialised: the sky and ground fill every pixel first.

    ``part`` ``(H, W)`` uint8 is a scratch buffer in which articulated objects record which of
    their parts is on top (for self-occlusion of keypoints). ``extents`` maps an instance id to
    ``[u_min, v_min, u_max, v_max, z_min, z_max, clipped]`` of everything painted for it, in
    image coordinates before clipping to the image (``clipped`` is 1 when some of it lay behind
    the near plane).
    """

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        h, w = camera.height, camera.width
        self.color = np.empty((h, w, 3), np.uint8)
        self.depth = np.empty((h, w), np.float32)
        self.instance = np.full((h, w), -1, np.int32)
        self.part = np.zeros((h, w), np.uint8)
        self.extents: dict[int, list[float]] = {}
        self._mask = np.zeros((h, w), np.uint8)
        self._ray_x, self._ray_y = _rays(w, h, camera.fx, camera.cx, camera.cy)
        self._center = np.array((camera.cx, camera.cy))

    def fill(
        self,
        polygon: np.ndarray,
        color: Color,
        instance: int,
        part: int = 0,
        normal: np.ndarray | None = None,
    ) -> None:
        """Paint a planar convex polygon ``(K, 3)`` (camera frame) with its exact plane depth.

        ``normal`` ``(3,)`` is the plane's camera-frame normal when the caller knows it.
        """
        polygon = clip_near(polygon)
        if len(polygon) < 3:
            return
        z = polygon[:, 2:]
        uvz = np.concatenate((polygon[:, :2] * (self.camera.fx / z) + self._center, z), axis=1)
        lo, hi = uvz.min(axis=0).tolist(), uvz.max(axis=0).tolist()
        z_min, z_max = lo[2], hi[2]
        uv = uvz[:, :2]
        if instance >= 0:
            self._grow(instance, lo, hi, z_min, z_max, z_min <= NEAR_PLANE * 1.0001)
        crop = self._crop(lo, hi)
        if crop is None:
            return
        pts = _fixed(uv)
        cv2.fillConvexPoly(self.color, pts, color, cv2.LINE_8, _SHIFT)
        cv2.fillConvexPoly(self.instance, pts, instance, cv2.LINE_8, _SHIFT)
        if part:
            cv2.fillConvexPoly(self.part, pts, part, cv2.LINE_8, _SHIFT)
        if z_max - z_min <= _FLAT_DEPTH * z_min:
            cv2.fillConvexPoly(self.depth, pts, 0.5 * (z_min + z_max), cv2.LINE_8, _SHIFT)
            return
        if normal is None:
            normal = np.cross(polygon[1] - polygon[0], polygon[-1] - polygon[0])
        offset = float(normal @ polygon[0])
        if abs(offset) < 1e-9:
            return
        x0, y0, x1, y1 = crop
        mask = self._mask[y0:y1, x0:x1]
        mask.fill(0)
        cv2.fillConvexPoly(mask, pts - np.int32((x0 * _SCALE, y0 * _SCALE)), 1, cv2.LINE_8, _SHIFT)
        nx, ny, nz = (float(c) / offset for c in normal)
        inv = self._ray_x[x0:x1] * np.float32(nx) + (self._ray_y[y0:y1] * np.float32(ny) + nz)
        np.clip(inv, 1.0 / z_max, 1.0 / z_min, out=inv)
        np.reciprocal(inv, out=inv)
        np.copyto(self.depth[y0:y1, x0:x1], inv, where=mask.view(bool))

    def fill_color(self, polygon: np.ndarray, color: Color) -> None:
        """Paint a convex decal polygon ``(K, 3)`` (camera frame) into the colour image only."""
        polygon = clip_near(polygon)
        if len(polygon) >= 3:
            cv2.fillConvexPoly(
                self.color, _fixed(self.camera.project(polygon)), color, cv2.LINE_8, _SHIFT
            )

    def fill_color_many(self, polygons: np.ndarray, color: Color) -> None:
        """Paint non-overlapping decal polygons ``(N, K, 3)`` (camera frame) in one call.

        Polygons reaching behind the near plane are skipped; callers keep decals in front.
        """
        keep = (polygons[:, :, 2] >= NEAR_PLANE).all(axis=1)
        if not keep.any():
            return
        pts = _fixed(self.camera.project(polygons[keep]))
        cv2.fillPoly(self.color, list(pts), color, cv2.LINE_8, _SHIFT)

    def segment(
        self,
        start: np.ndarray,
        end: np.ndarray,
        radius: float,
        color: Color,
        instance: int,
        part: int = 0,
    ) -> None:
        """Paint a round-capped limb from ``start`` to ``end`` (``(3,)`` camera frame).

        ``radius`` is the limb's half-thickness in metres; the depth is that of its midpoint.
        """
        clipped = False
        if start[2] < NEAR_PLANE or end[2] < NEAR_PLANE:
            if start[2] < NEAR_PLANE and end[2] < NEAR_PLANE:
                return
            clipped = True
            if start[2] < NEAR_PLANE:
                start, end = end, start
            t = (NEAR_PLANE - start[2]) / (end[2] - start[2])
            end = start + t * (end - start)
        depth = 0.5 * float(start[2] + end[2])
        uv = self.camera.project(np.stack((start, end)))
        thickness = max(1, round(2.0 * radius * self.camera.fx / depth))
        if instance >= 0:
            pad = 0.5 * thickness
            lo, hi = (uv.min(axis=0) - pad).tolist(), (uv.max(axis=0) + pad).tolist()
            self._grow(instance, lo, hi, min(start[2], end[2]), max(start[2], end[2]), clipped)
        pts = _fixed(uv)
        p0, p1 = (int(pts[0, 0]), int(pts[0, 1])), (int(pts[1, 0]), int(pts[1, 1]))
        cv2.line(self.color, p0, p1, color, thickness, cv2.LINE_8, _SHIFT)
        cv2.line(self.instance, p0, p1, instance, thickness, cv2.LINE_8, _SHIFT)
        cv2.line(self.depth, p0, p1, depth, thickness, cv2.LINE_8, _SHIFT)
        if part:
            cv2.line(self.part, p0, p1, part, thickness, cv2.LINE_8, _SHIFT)

    def disc(
        self,
        center: np.ndarray,
        radius: float,
        color: Color,
        instance: int,
        part: int = 0,
        decal: bool = False,
    ) -> None:
        """Paint a camera-facing disc at ``center`` (``(3,)`` camera frame), ``radius`` metres.

        A decal disc paints colour only (a lamp on a housing already painted).
        """
        z = float(center[2])
        if z < NEAR_PLANE:
            return
        uv = self.camera.project(center)
        r_px = radius * self.camera.fx / z
        c = (round((uv[0] - 0.5) * _SCALE), round((uv[1] - 0.5) * _SCALE))
        r = max(1, round(r_px * _SCALE))
        cv2.circle(self.color, c, r, color, -1, cv2.LINE_8, _SHIFT)
        if decal:
            return
        if instance >= 0:
            lo, hi = (uv - r_px).tolist(), (uv + r_px).tolist()
            self._grow(instance, lo, hi, z - radius, z + radius, False)
        cv2.circle(self.instance, c, r, instance, -1, cv2.LINE_8, _SHIFT)
        cv2.circle(self.depth, c, r, z, -1, cv2.LINE_8, _SHIFT)
        if part:
            cv2.circle(self.part, c, r, part, -1, cv2.LINE_8, _SHIFT)

    def _crop(self, lo: Sequence[float], hi: Sequence[float]) -> tuple[int, int, int, int] | None:
        """The image-clipped pixel rectangle ``x0, y0, x1, y1`` that can hold points within
        ``lo`` ``(2,)`` .. ``hi`` ``(2,)``."""
        x0 = max(math.floor(lo[0]) - 1, 0)
        y0 = max(math.floor(lo[1]) - 1, 0)
        x1 = min(math.ceil(hi[0]) + 1, self.camera.width)
        y1 = min(math.ceil(hi[1]) + 1, self.camera.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1

    def _grow(
        self,
        instance: int,
        lo: Sequence[float],
        hi: Sequence[float],
        z_min: float,
        z_max: float,
        clipped: bool,
    ) -> None:
        """Extend the record of what ``instance`` covers (image box ``lo..hi``, depth range)."""
        old = self.extents.get(instance)
        if old is None:
            self.extents[instance] = [lo[0], lo[1], hi[0], hi[1], z_min, z_max, float(clipped)]
            return
        old[0], old[1] = min(old[0], lo[0]), min(old[1], lo[1])
        old[2], old[3] = max(old[2], hi[0]), max(old[3], hi[1])
        old[4], old[5] = min(old[4], z_min), max(old[5], z_max)
        old[6] = max(old[6], float(clipped))


@functools.lru_cache(maxsize=8)
def _rays(
    width: int, height: int, focal: float, cx: float, cy: float
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised ray coordinates of pixel centres: ``x`` ``(W,)`` and ``y`` ``(H, 1)`` float32
    (read-only, shared between canvases of one camera model)."""
    ray_x = ((np.arange(width) + 0.5 - cx) / focal).astype(np.float32)
    ray_y = ((np.arange(height) + 0.5 - cy) / focal).astype(np.float32)[:, None]
    ray_x.flags.writeable = False
    ray_y.flags.writeable = False
    return ray_x, ray_y


def _fixed(uv: np.ndarray) -> np.ndarray:
    """Image coordinates ``(..., 2)`` to OpenCV fixed-point pixel-centre coordinates, int32."""
    return ((uv - 0.5) * _SCALE).round().astype(np.int32)
