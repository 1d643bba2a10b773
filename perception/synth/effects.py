"""Image-space effects applied after painting: tone, lamp glow, fog, rain, blur, noise.

All of them are OpenCV calls on whole images; the only randomness is the generator passed in.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from perception.synth.conditions import Conditions

_NOISE_PAD = 64
_NOISE_SEED = 20240611


@functools.lru_cache(maxsize=4)
def _noise_bank(height: int, width: int) -> np.ndarray:
    """A fixed ``(H + pad, W + pad, 3)`` float32 standard-normal tile; images use random crops."""
    rng = np.random.Generator(np.random.PCG64(_NOISE_SEED))
    shape = (height + _NOISE_PAD, width + _NOISE_PAD, 3)
    return rng.standard_normal(shape, dtype=np.float32)


def apply_conditions(
    image: np.ndarray, depth: np.ndarray, conditions: Conditions, rng: np.random.Generator
) -> np.ndarray:
    """Finish the painted ``(H, W, 3)`` uint8 image, in place (it is returned), given its depth
    ``(H, W)`` float32 (0 = sky / unknown, treated as infinitely far for fog)."""
    palette = conditions.palette
    image = _light(image, np.array(palette.gain) * conditions.exposure, palette.glow)
    if conditions.fog_density > 0.0:
        image = _fog(image, depth, conditions.fog_density, palette.fog)
    if conditions.rain > 0.0:
        image = _rain(image, conditions.rain, rng)
    if conditions.blur_sigma > 0.0:
        image = _blur(image, conditions.blur_sigma, conditions.motion_blur)
    if conditions.noise_std > 0.0:
        image = _noise(image, conditions.noise_std, rng)
    return image


def _light(image: np.ndarray, gain: np.ndarray, glow: float) -> np.ndarray:
    """Scale each channel by ``gain`` ``(3,)``. With a ``glow`` (dusk, night) emissive pixels
    (any channel at 255) keep their colour and get a soft halo (computed at quarter size)."""
    if glow <= 0.0 and gain.min() == gain.max():
        return cv2.convertScaleAbs(image, dst=image, alpha=float(gain[0]))
    levels = np.arange(256, dtype=np.float64)[:, None] * gain[None, :]
    lut = np.clip(levels, 0, 254).astype(np.uint8).reshape(256, 1, 3)
    if glow <= 0.0:
        return cv2.LUT(image, lut, dst=image)
    _, saturated = cv2.threshold(image, 254, 255, cv2.THRESH_BINARY)
    emissive = cv2.cvtColor(saturated, cv2.COLOR_RGB2GRAY)
    lamps = cv2.copyTo(image, emissive, np.zeros_like(image))
    image = cv2.copyTo(lamps, emissive, cv2.LUT(image, lut, dst=image))
    h, w = image.shape[:2]
    small = cv2.resize(lamps, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    halo = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.addWeighted(image, 1.0, halo, glow, 0.0, dst=image)


def _fog(image: np.ndarray, depth: np.ndarray, beta: float, color: tuple[int, ...]) -> np.ndarray:
    """Blend towards the fog colour with transmission ``exp(-beta * depth)``."""
    transmission = cv2.exp(depth * np.float32(-beta))
    transmission[depth == 0] = 0.0
    fog = np.empty_like(image)
    cv2.rectangle(fog, (0, 0), (image.shape[1], image.shape[0]), color, -1)
    return cv2.blendLinear(image, fog, transmission, 1.0 - transmission, dst=image)


def _rain(image: np.ndarray, intensity: float, rng: np.random.Generator) -> np.ndarray:
    """Dim and flatten the image, then add slanted bright streaks."""
    h, w = image.shape[:2]
    count = int(intensity * 1.5e-3 * h * w)
    start = rng.uniform((0.0, -20.0), (w, h), size=(count, 2))
    slant = float(rng.uniform(-0.3, 0.3))
    length = rng.uniform(8.0, 22.0, size=(count, 1)) * h / 384.0
    end = start + length * np.array((slant, 1.0))
    lines = np.round(np.stack((start, end), axis=1) * 16).astype(np.int32)
    streaks = np.zeros((h, w), np.uint8)
    cv2.polylines(streaks, list(lines), False, 150, 1, cv2.LINE_AA, 4)
    streaks = cv2.cvtColor(streaks, cv2.COLOR_GRAY2RGB)
    image = cv2.addWeighted(image, 1.0 - 0.25 * intensity, image, 0.0, 20.0 * intensity, dst=image)
    return cv2.addWeighted(image, 1.0, streaks, 0.35 + 0.3 * intensity, 0.0, dst=image)


def _blur(image: np.ndarray, sigma: float, motion: bool) -> np.ndarray:
    """Defocus (Gaussian) or horizontal motion blur of about ``sigma`` pixels."""
    if not motion:
        return cv2.GaussianBlur(image, (0, 0), sigma, dst=image)
    length = 2 * round(2.0 * sigma) + 1
    kernel = np.full((1, length), 1.0 / length, np.float32)
    return cv2.filter2D(image, -1, kernel, dst=image)


def _noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian sensor noise of ``std`` levels from a random crop of the noise bank."""
    h, w = image.shape[:2]
    bank = _noise_bank(h, w)
    dy, dx = (int(v) for v in rng.integers(0, _NOISE_PAD, size=2))
    crop = bank[dy : dy + h, dx : dx + w]
    return cv2.addWeighted(image, 1.0, crop, std, 0.0, dst=image, dtype=cv2.CV_8U)
