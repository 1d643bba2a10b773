"""Convex polyhedra (car bodies, housings, poles, buildings) painted face by face."""

from __future__ import annotations

import math

import numpy as np

from perception.synth.camera import NEAR_PLANE, Camera
from perception.synth.canvas import Canvas, Color
from perception.synth.style import Style

BOX_FACES: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3),  # bottom
    (4, 5, 6, 7),  # top
    (0, 1, 5, 4),  # back  (-z)
    (3, 2, 6, 7),  # front (+z)
    (0, 3, 7, 4),  # left  (-x)
    (1, 2, 6, 5),  # right (+x)
)
"""Faces of an 8-vertex hexahedron whose vertices come from :func:`hexahedron`."""

FACE_BOTTOM, FACE_TOP, FACE_BACK, FACE_FRONT, FACE_LEFT, FACE_RIGHT = range(6)


def hexahedron(
    x: tuple[float, float],
    y: tuple[float, float],
    z: tuple[float, float],
    top_x: tuple[float, float] | None = None,
    top_z: tuple[float, float] | None = None,
) -> np.ndarray:
    """Vertices ``(8, 3)`` of a box in an object's local frame (``x`` right, ``y`` up, ``z``
    forward); ``top_x`` / ``top_z`` narrow the top face (a cabin with sloped windows).

    Order: bottom ``(x0 z0, x1 z0, x1 z1, x0 z1)`` then the same for the top.
    """
    tx = top_x or x
    tz = top_z or z
    return np.array(
        (
            (x[0], y[0], z[0]), (x[1], y[0], z[0]), (x[1], y[0], z[1]), (x[0], y[0], z[1]),
            (tx[0], y[1], tz[0]), (tx[1], y[1], tz[0]), (tx[1], y[1], tz[1]), (tx[0], y[1], tz[1]),
        ),
        dtype=np.float64,
    )  # fmt: skip


def place(local: np.ndarray, position: np.ndarray, heading: float) -> np.ndarray:
    """Local points ``(..., 3)`` to world points, turned by ``heading`` (radians about ``+y``,
    0 = facing ``+z``) and moved to ``position`` ``(3,)``."""
    c, s = math.cos(heading), math.sin(heading)
    rot = np.array(((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c)))
    return local @ rot.T + position


FACE_INDEX = np.array(BOX_FACES)
_LEVI_CIVITA = np.zeros((3, 3, 3))
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1.0
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1.0
"""``(3, 3, 3)`` permutation tensor: ``einsum`` with it is a batched cross product."""


def draw_solid(
    canvas: Canvas,
    camera: Camera,
    vertices: np.ndarray,
    albedo: Color | list[Color],
    style: Style,
    instance: int,
) -> list[np.ndarray | None]:
    """Paint the camera-facing faces of a convex hexahedron with world ``vertices`` ``(8, 3)``
    (ordered as :func:`hexahedron` makes them).

    ``albedo`` is one colour or one per face of :data:`BOX_FACES`. Returns, per face, its
    camera-frame polygon ``(4, 3)`` when the face is visible (for decals), else ``None``.
    """
    cam = camera.to_camera(vertices)
    visible: list[np.ndarray | None] = [None] * 6
    if _out_of_view(cam, camera):
        return visible
    quads = vertices[FACE_INDEX]
    normals = np.einsum(
        "ijk,fj,fk->fi", _LEVI_CIVITA, quads[:, 1] - quads[:, 0], quads[:, 3] - quads[:, 0]
    )
    normals /= np.sqrt((normals * normals).sum(axis=1, keepdims=True))
    outward = ((quads.sum(axis=1) * 0.25 - vertices.sum(axis=0) * 0.125) * normals).sum(axis=1)
    normals[outward < 0] *= -1.0
    facing = ((camera.position - quads[:, 0]) * normals).sum(axis=1) > 1e-6
    normals_cam = normals @ camera.rotation.T
    for k in np.flatnonzero(facing).tolist():
        color = albedo[k] if isinstance(albedo, list) else albedo
        poly = cam[FACE_INDEX[k]]
        canvas.fill(poly, style.shade(color, normals[k]), instance, normal=normals_cam[k])
        visible[k] = poly
    return visible


def draw_pole(
    canvas: Canvas, bottom: tuple[float, ...], top: tuple[float, ...], radius: float, color: Color
) -> None:
    """Paint an unlabelled pole or arm between world points ``bottom`` and ``top`` (each
    ``(3,)``), ``radius`` metres thick, at the depth of its midpoint."""
    ends = canvas.camera.to_camera(np.array((bottom, top), dtype=np.float64))
    canvas.segment(ends[0], ends[1], radius, color, -1)


def _out_of_view(cam: np.ndarray, camera: Camera) -> bool:
    """Whether points ``(K, 3)`` (camera frame) lie wholly behind the camera or beside the
    image on one side (a cheap, conservative frustum test)."""
    z = cam[:, 2]
    if (z < NEAR_PLANE).all():
        return True
    if (z < NEAR_PLANE).any():
        return False
    ux = cam[:, 0] / z
    vy = cam[:, 1] / z
    half_w, half_h = camera.cx / camera.fx, camera.cy / camera.fy
    return bool(
        (ux < -half_w).all() or (ux > half_w).all() or (vy < -half_h).all() or (vy > half_h).all()
    )


def face_point(poly: np.ndarray, s: float, t: float) -> np.ndarray:
    """Bilinear point ``(3,)`` on a quad ``(4, 3)``: ``s`` along edge 0-1, ``t`` along 0-3."""
    a = poly[0] + s * (poly[1] - poly[0])
    b = poly[3] + s * (poly[2] - poly[3])
    return a + t * (b - a)


def face_quad(poly: np.ndarray, s0: float, s1: float, t0: float, t1: float) -> np.ndarray:
    """Sub-rectangle ``(4, 3)`` of a quad ``(4, 3)`` in its bilinear ``(s, t)`` coordinates."""
    s = np.array((s0, s1, s1, s0))[:, None]
    t = np.array((t0, t0, t1, t1))[:, None]
    bottom = poly[0] + s * (poly[1] - poly[0])
    return bottom + t * (poly[3] + s * (poly[2] - poly[3]) - bottom)
