"""Typed configuration objects.

A YAML file is validated into :class:`RunConfig` by :mod:`perception.config.loader`: every key
must be a field of the dataclass at that path (unknown keys are refused with a "did you mean"
suggestion) and every value must have the field's type. Defaults here are the documented
defaults; the YAML files under ``configs/`` only list what they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LightingMix:
    """Relative frequencies of the lighting conditions (normalised when sampled)."""

    day: float = 0.55
    dusk: float = 0.2
    night: float = 0.25


@dataclass
class SynthConfig:
    """The procedural driving world.

    Image size is ``height x width`` pixels. Object counts are upper bounds; each scene draws
    a count uniformly in ``[0, max]`` per kind. Probabilities are per image.
    """

    height: int = 384
    width: int = 640
    lighting: LightingMix = field(default_factory=LightingMix)
    fog_probability: float = 0.15
    rain_probability: float = 0.15
    blur_probability: float = 0.2
    noise_std_max: float = 6.0
    max_cars: int = 8
    max_pedestrians: int = 5
    max_traffic_lights: int = 3
    max_stop_signs: int = 2
    max_distractors: int = 4


@dataclass
class AugmentConfig:
    """Training-time augmentation (boxes, keypoints and depth move with the image)."""

    enabled: bool = True
    horizontal_flip: float = 0.5
    scale_jitter: float = 0.2
    brightness_contrast: float = 0.3
    hue_saturation: float = 0.2


@dataclass
class DataConfig:
    """Where samples come from and how they are batched.

    ``dataset`` names a registered dataset plugin (``perception plugins`` lists them).
    ``root`` is a folder written by ``perception synth`` (or another on-disk dataset); the
    ``synthetic`` dataset ignores it and renders ``num_images`` scenes on the fly from ``seed``.
    Every image is letterboxed to ``input_height x input_width`` before batching.
    """

    dataset: str = "synthetic"
    root: str | None = None
    split: str = "train"
    num_images: int = 256
    input_height: int = 384
    input_width: int = 640
    batch_size: int = 8
    num_workers: int = 2
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class SynthOutputConfig:
    """What ``perception synth`` and ``perception demo`` write."""

    train_images: int = 200
    val_images: int = 50
    video_frames: int = 120
    video_fps: int = 10
    contact_sheet_samples: int = 12


@dataclass
class RunConfig:
    """One run: the world, the data, and where outputs go."""

    seed: int = 0
    output_dir: str = "runs/default"
    synth: SynthConfig = field(default_factory=SynthConfig)
    data: DataConfig = field(default_factory=DataConfig)
    outputs: SynthOutputConfig = field(default_factory=SynthOutputConfig)
