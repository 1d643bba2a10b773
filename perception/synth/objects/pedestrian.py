"""Pedestrians: an articulated 3D skeleton (walking gait, arm swing, heading) drawn as limbs,
torso and head, with the 17 COCO keypoints taken from the same skeleton."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from perception.synth.camera import NEAR_PLANE
from perception.synth.canvas import Canvas, Color
from perception.synth.objects.solid import place
from perception.synth.style import Style

SKIN: tuple[Color, ...] = ((235, 190, 160), (200, 150, 110), (150, 100, 70), (95, 65, 45))
CLOTHES: tuple[Color, ...] = (
    (30, 30, 40), (180, 30, 30), (30, 60, 140), (210, 210, 200), (60, 110, 60),
    (120, 100, 80), (200, 160, 40), (90, 90, 95), (140, 60, 120), (20, 90, 110),
)  # fmt: skip
HAIR: tuple[Color, ...] = ((25, 20, 15), (70, 45, 25), (150, 120, 70), (120, 120, 120))

# Parts (1-based ids in the part buffer) and the keypoints that lie on each part.
TORSO, HEAD, L_UPPER_ARM, L_FOREARM, R_UPPER_ARM, R_FOREARM = 1, 2, 3, 4, 5, 6
L_THIGH, L_SHIN, R_THIGH, R_SHIN = 7, 8, 9, 10
KEYPOINT_PARTS: tuple[tuple[int, ...], ...] = (
    (HEAD,), (HEAD,), (HEAD,), (HEAD,), (HEAD,),
    (TORSO, L_UPPER_ARM), (TORSO, R_UPPER_ARM), (L_UPPER_ARM, L_FOREARM),
    (R_UPPER_ARM, R_FOREARM), (L_FOREARM,), (R_FOREARM,),
    (TORSO, L_THIGH), (TORSO, R_THIGH), (L_THIGH, L_SHIN), (R_THIGH, R_SHIN), (L_SHIN,), (R_SHIN,),
)  # fmt: skip
"""For each COCO keypoint, the parts it belongs to: hidden by any other part = self-occluded."""
FACE_OUTWARD = np.array(
    ((0.0, 0.0, 1.0), (-0.5, 0.0, 0.87), (0.5, 0.0, 0.87), (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0))
)
"""Local outward direction of nose, eyes and ears (local ``+x`` is the person's right)."""


@dataclass(frozen=True)
class Pedestrian:
    """A person standing or walking on the ground.

    ``position`` ``(3,)`` is the point between the feet at time 0, ``heading`` the walking
    (and facing) direction, ``speed`` m/s (0 = standing), ``phase`` the gait phase at time 0,
    ``stature`` the height in metres; ``arm_raise`` (radians) lifts the right forearm.
    """

    position: np.ndarray
    heading: float
    speed: float
    phase: float
    stature: float
    skin: Color
    shirt: Color
    trousers: Color
    hair: Color
    arm_raise: float
    category: int = 1

    def anchor(self, time: float) -> np.ndarray:
        """World position ``(3,)`` between the feet at ``time`` seconds."""
        return self.position + self.speed * time * self._forward()

    def joints(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """World positions of the 17 COCO keypoints ``(17, 3)`` and of the head centre ``(3,)``.

        Sides are the person's own: the left shoulder is on the person's left.
        """
        s = self.stature
        phase = self.phase + 2.0 * math.pi * self.speed * time / (0.75 * s)
        swing = min(1.0, self.speed / 1.4) * 0.45
        local = np.zeros((17, 3))
        ankles_y = []
        for k, sign in enumerate((1.0, -1.0)):  # left, right
            leg_phase = phase + (0.0 if k == 0 else math.pi)
            angle = swing * math.sin(leg_phase)
            flex = 0.1 + 1.3 * swing * max(0.0, math.cos(leg_phase))
            knee = 0.245 * s * np.array((0.0, -math.cos(angle), math.sin(angle)))
            shin = angle - flex
            ankle = knee + 0.235 * s * np.array((0.0, -math.cos(shin), math.sin(shin)))
            local[11 + k] = (-sign * 0.055 * s, 0.0, 0.0)
            local[13 + k] = local[11 + k] + knee
            local[15 + k] = local[11 + k] + ankle
            ankles_y.append(ankle[1])
        pelvis_y = 0.04 * s - min(ankles_y)
        local[11:17, 1] += pelvis_y
        lean = 0.03 * s * swing
        shoulder_y = pelvis_y + 0.3 * s
        for k, sign in enumerate((1.0, -1.0)):
            shoulder = np.array((-sign * 0.125 * s, shoulder_y, lean))
            angle = -sign * 0.8 * swing * math.sin(phase)
            elbow = shoulder + 0.17 * s * np.array(
                (-sign * 0.12, -math.cos(angle), math.sin(angle))
            )
            fore = angle + 0.25 + 0.3 * swing + (self.arm_raise if k == 1 else 0.0)
            wrist = elbow + 0.16 * s * np.array((-sign * 0.05, -math.cos(fore), math.sin(fore)))
            local[5 + k], local[7 + k], local[9 + k] = shoulder, elbow, wrist
        head = np.array((0.0, shoulder_y + 0.115 * s, 1.5 * lean))
        radius = 0.065 * s
        local[0] = head + 0.85 * radius * FACE_OUTWARD[0]
        local[1:3] = head + radius * (0.75 * FACE_OUTWARD[1:3] + np.array((0.0, 0.2, 0.0)))
        local[3:5] = head + 0.8 * radius * FACE_OUTWARD[3:5]
        pos = self.anchor(time)
        return place(local, pos, self.heading), place(head, pos, self.heading)

    def draw(self, canvas: Canvas, instance: int, time: float, style: Style) -> np.ndarray:
        """Paint the person, nearest parts last; return ``(17,)`` bool: keypoint self-occluded."""
        camera = canvas.camera
        world, head_world = self.joints(time)
        cam = camera.to_camera(world)
        head = camera.to_camera(head_world)
        s = self.stature
        toward = camera.position - self.anchor(time)
        toward[1] = 0.0
        toward /= max(float(np.linalg.norm(toward)), 1e-9)
        shirt, trousers = style.shade(self.shirt, toward), style.shade(self.trousers, toward)
        skin = style.shade(self.skin, toward)
        limbs = {
            L_UPPER_ARM: (5, 7, 0.045, shirt), R_UPPER_ARM: (6, 8, 0.045, shirt),
            L_FOREARM: (7, 9, 0.038, skin), R_FOREARM: (8, 10, 0.038, skin),
            L_THIGH: (11, 13, 0.075, trousers), R_THIGH: (12, 14, 0.075, trousers),
            L_SHIN: (13, 15, 0.055, trousers), R_SHIN: (14, 16, 0.055, trousers),
        }  # fmt: skip
        parts = [(0.5 * float(cam[a, 2] + cam[b, 2]), p) for p, (a, b, _, _) in limbs.items()]
        parts.append((float(cam[[5, 6, 11, 12], 2].mean()), TORSO))
        parts.append((float(head[2]), HEAD))
        parts.sort(reverse=True)
        facing_away = float(self._forward() @ toward) < 0.0
        for _, part in parts:
            if part == TORSO:
                self._torso(canvas, world, shirt, instance)
            elif part == HEAD:
                neck = 0.5 * (cam[5] + cam[6])
                canvas.segment(neck, head, 0.03 * s, skin, instance, TORSO)
                color = self.hair if facing_away else skin
                canvas.disc(head, 0.065 * s, color, instance, HEAD)
            else:
                a, b, radius, color = limbs[part]
                canvas.segment(cam[a], cam[b], radius * s / 1.75, color, instance, part)
        return self._self_occluded(canvas, cam, world)

    def _forward(self) -> np.ndarray:
        return np.array((math.sin(self.heading), 0.0, math.cos(self.heading)))

    def _torso(self, canvas: Canvas, world: np.ndarray, shirt: Color, instance: int) -> None:
        """The torso: convex hull of shoulders and hips thickened front to back, painted at
        the torso's mean depth."""
        camera = canvas.camera
        core = world[[5, 6, 12, 11]]
        thick = 0.1 * self.stature / 1.75 * self._forward()
        cam = camera.to_camera(np.concatenate((core + thick, core - thick)))
        if (cam[:, 2] < NEAR_PLANE).any():
            canvas.fill(cam[:4], shirt, instance, TORSO)
            return
        hull = cv2.convexHull(camera.project(cam).astype(np.float32))[:, 0, :].astype(np.float64)
        rays = np.ones((len(hull), 3))
        rays[:, 0] = (hull[:, 0] - camera.cx) / camera.fx
        rays[:, 1] = (hull[:, 1] - camera.cy) / camera.fy
        canvas.fill(rays * float(cam[:, 2].mean()), shirt, instance, TORSO)

    def _self_occluded(self, canvas: Canvas, cam: np.ndarray, world: np.ndarray) -> np.ndarray:
        """Face keypoints turned away from the camera, or any keypoint under another part."""
        camera = canvas.camera
        outward = place(FACE_OUTWARD, np.zeros(3), self.heading)
        hidden = np.zeros(17, bool)
        hidden[:5] = ((camera.position - world[:5]) * outward).sum(axis=1) < 0.0
        front = cam.copy()
        front[:, 2] = np.maximum(front[:, 2], NEAR_PLANE)
        uv = camera.project(front)
        for k in range(17):
            i, j = math.floor(uv[k, 1]), math.floor(uv[k, 0])
            if 0 <= i < camera.height and 0 <= j < camera.width:
                hidden[k] |= int(canvas.part[i, j]) not in KEYPOINT_PARTS[k]
        return hidden
