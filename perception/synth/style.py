"""How surfaces are lit while painting: sun direction, ambient level, whether lamps are on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.synth.canvas import Color

MAX_ALBEDO = 245
"""Lit surfaces stay below this; a channel at 255 is reserved for emissive lamps."""


@dataclass(frozen=True)
class Style:
    """Scene-wide shading parameters.

    Attributes:
        sun: ``(3,)`` unit vector pointing from the ground towards the sun (world frame).
        ambient: fraction of the albedo a surface keeps when it faces away from the sun.
        lights_on: car lights, street lamps and windows are lit (dusk and night).
    """

    sun: np.ndarray
    ambient: float
    lights_on: bool

    def shade(self, albedo: Color, normal: np.ndarray) -> Color:
        """Lambert-shaded colour of a surface with world ``normal`` ``(3,)`` (unit length)."""
        lambert = max(0.0, float(normal @ self.sun))
        gain = self.ambient + (1.0 - self.ambient) * lambert
        return (
            min(MAX_ALBEDO, int(albedo[0] * gain)),
            min(MAX_ALBEDO, int(albedo[1] * gain)),
            min(MAX_ALBEDO, int(albedo[2] * gain)),
        )
