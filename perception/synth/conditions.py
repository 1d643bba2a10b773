"""Scene conditions: lighting, fog, rain, sensor noise and blur, sampled per image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perception.config.schema import SynthConfig
from perception.synth.canvas import Color
from perception.synth.style import Style

LIGHTINGS: tuple[str, ...] = ("day", "dusk", "night")


@dataclass(frozen=True)
class Palette:
    """Colours and tone of one lighting condition.

    ``gain`` ``(3,)`` scales every non-emissive channel after painting (night is dark and
    blue); ``glow`` is the strength of the halo around lamps (0 = none).
    """

    sky_top: Color
    sky_horizon: Color
    fog: Color
    gain: tuple[float, float, float]
    ambient: float
    glow: float
    lights_on: bool


PALETTES: dict[str, Palette] = {
    "day": Palette((90, 140, 210), (190, 210, 230), (200, 205, 210), (1.0, 1.0, 1.0), 0.55, 0.0,
                   False),
    "dusk": Palette((60, 60, 120), (235, 150, 90), (150, 130, 130), (0.75, 0.62, 0.58), 0.7,
                    1.5, True),
    "night": Palette((5, 8, 20), (25, 30, 50), (40, 42, 50), (0.25, 0.27, 0.36), 0.8, 2.5,
                     True),
}  # fmt: skip


@dataclass(frozen=True)
class Conditions:
    """What the weather and the sensor do to one image.

    ``fog_density`` is the extinction ``beta`` per metre (0 = clear); ``rain`` is 0..1;
    ``noise_std`` is in 8-bit levels; ``blur_sigma`` in pixels (0 = sharp), ``motion_blur``
    makes it a horizontal streak instead of a defocus; ``exposure`` scales brightness.
    """

    lighting: str
    fog_density: float
    rain: float
    noise_std: float
    blur_sigma: float
    motion_blur: bool
    exposure: float
    sun_azimuth: float
    sun_elevation: float

    @property
    def palette(self) -> Palette:
        return PALETTES[self.lighting]

    def style(self) -> Style:
        """The shading parameters used while painting."""
        el, az = self.sun_elevation, self.sun_azimuth
        sun = np.array((math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)))
        return Style(sun=sun, ambient=self.palette.ambient, lights_on=self.palette.lights_on)

    def to_meta(self) -> dict[str, object]:
        """JSON-serialisable summary for ``Sample.meta``."""
        return {
            "lighting": self.lighting,
            "fog": self.fog_density > 0.0,
            "fog_density": self.fog_density,
            "rain": self.rain > 0.0,
            "rain_intensity": self.rain,
            "noise_std": self.noise_std,
            "blur_sigma": self.blur_sigma,
        }


def sample_conditions(config: SynthConfig, rng: np.random.Generator) -> Conditions:
    """Draw conditions from the config's lighting mix and probabilities."""
    mix = np.array([config.lighting.day, config.lighting.dusk, config.lighting.night], float)
    if mix.sum() <= 0 or (mix < 0).any():
        raise ValueError(f"lighting mix must be non-negative with a positive sum, got {mix}")
    lighting = LIGHTINGS[int(rng.choice(3, p=mix / mix.sum()))]
    fog = float(rng.uniform(0.01, 0.06)) if rng.random() < config.fog_probability else 0.0
    rain = float(rng.uniform(0.3, 1.0)) if rng.random() < config.rain_probability else 0.0
    blur = float(rng.uniform(0.6, 1.8)) if rng.random() < config.blur_probability else 0.0
    return Conditions(
        lighting=lighting,
        fog_density=fog,
        rain=rain,
        noise_std=float(rng.uniform(0.0, config.noise_std_max)),
        blur_sigma=blur,
        motion_blur=bool(rng.random() < 0.4),
        exposure=float(rng.uniform(0.85, 1.15)),
        sun_azimuth=float(rng.uniform(-math.pi, math.pi)),
        sun_elevation=float(rng.uniform(0.3, 1.2)),
    )
