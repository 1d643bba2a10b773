"""Typed configuration objects.

A YAML file is validated into :class:`RunConfig` by :mod:`perception.config.loader`: every key
must be a field of the dataclass at that path (unknown keys are refused with a "did you mean"
suggestion) and every value must have the field's type. Defaults here are the documented
defaults; the YAML files under ``configs/`` only list what they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


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
    ``synthetic`` dataset ignores it and renders ``num_images`` training scenes (and
    ``val_num_images`` validation scenes) on the fly from ``seed``. Every image is letterboxed to
    ``input_height x input_width`` before batching. ``cache`` keeps each loaded sample in memory
    after its first use (worth it for small synthetic sets trained for many epochs).
    ``label_fraction`` keeps a task's labels on only that fraction of the training images,
    e.g. ``{stop_signs: 0.1}`` (the low-data scenario of the multi-task lab).
    """

    dataset: str = "synthetic"
    root: str | None = None
    split: str = "train"
    val_split: str = "val"
    num_images: int = 256
    val_num_images: int = 64
    cache: bool = False
    label_fraction: dict[str, float] = field(default_factory=dict)
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


DEFAULT_HEADS: tuple[str, ...] = (
    "traffic_lights",
    "cars",
    "pedestrians",
    "stop_signs",
    "depth",
    "pedestrian_keypoints",
)
"""The six built-in driving heads (registered by the ``perception-driving`` plugin package)."""


@dataclass
class ModelConfig:
    """The network: a registered ``backbone``, the multi-scale neck, and the task heads.

    ``pretrained`` is a local file path of a backbone state dict (never a download).
    ``heads`` names registered head plugins; ``head_options`` passes keyword options to a head's
    factory by head name, e.g. ``{depth: {max_depth: 80.0}}``.

    ``sharing`` is ``hard`` (one backbone and neck for every head) or ``soft`` (one backbone and
    neck per head). Under soft sharing, ``soft_tie`` ties the task networks: ``cross_stitch``
    (learned per-channel mixing of the tasks' features after every backbone level, Misra et al.
    2016) or ``l2`` (a penalty ``soft_l2_weight * sum over task pairs ||theta_i - theta_j||^2``
    between corresponding backbone weights, Duong et al. 2015). Both are ignored under hard
    sharing.
    """

    backbone: str = "resnet18"
    pretrained: str | None = None
    backbone_options: dict[str, Any] = field(default_factory=dict)
    neck_channels: int = 64
    heads: list[str] = field(default_factory=lambda: list(DEFAULT_HEADS))
    head_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels_last: bool = True
    sharing: Literal["hard", "soft"] = "hard"
    soft_tie: Literal["cross_stitch", "l2"] = "cross_stitch"
    soft_l2_weight: float = 1e-3


@dataclass
class BalancerConfig:
    """How per-task losses are combined: ``type`` names a registered balancer; every other key
    is an option of that balancer (``balancer: {type: gradnorm, alpha: 1.5}``), collected in
    ``options`` and validated by the balancer's factory (unknown options get "did you mean")."""

    EXTRA_KEYS_FIELD: ClassVar[str] = "options"

    # GradNorm had the best Delta_p of the hard-sharing runs in the multi-task lab
    # (benchmarks/mtl.md: -9.9 % against -27.2 % for equal weights, one seed) at 1.34x the step
    # time of equal weights (benchmarks/balancer_overhead.md).
    type: str = "gradnorm"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation: AdamW with linear warm-up then cosine decay, gradient clipping.

    Training runs ``epochs`` passes over the training set, or stops at ``max_steps`` when that
    is set. ``amp`` uses mixed precision on CUDA only. ``device`` is ``auto``, ``cpu`` or a
    torch device string. Logs go to ``<output_dir>/train_log.csv`` and TensorBoard every
    ``log_every`` steps; ``checkpoints/last.pt`` is rewritten every ``checkpoint_every`` steps
    and at the end, and with ``keep_checkpoints`` each periodic one is also kept as
    ``checkpoints/step_<N>.pt``. ``threads`` sets torch's CPU thread count (default: torch's).
    Every ``diagnostics_every`` steps the convergence diagnostics (loss ratios, inverse training
    rates, per-task gradient norms and cosines) are measured; every ``affinity_every`` steps the
    lookahead inter-task affinity (0 turns either off; see ``perception/train/probes.py``).
    """

    epochs: int = 10
    max_steps: int | None = None
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float = 10.0
    amp: bool = True
    device: str = "auto"
    log_every: int = 10
    checkpoint_every: int = 200
    keep_checkpoints: bool = False
    threads: int | None = None
    diagnostics_every: int = 50
    affinity_every: int = 0


@dataclass
class EvalConfig:
    """Evaluation on ``data.val_split``: ``baseline_images`` training samples build the trivial
    baselines; ``draw_images`` validation images get predictions drawn in the report."""

    batch_size: int = 8
    baseline_images: int = 128
    draw_images: int = 6
    score_threshold: float = 0.3


@dataclass
class RunConfig:
    """One run: the world, the data, the model, training, evaluation, and where outputs go."""

    seed: int = 0
    output_dir: str = "runs/default"
    synth: SynthConfig = field(default_factory=SynthConfig)
    data: DataConfig = field(default_factory=DataConfig)
    outputs: SynthOutputConfig = field(default_factory=SynthOutputConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    balancer: BalancerConfig = field(default_factory=BalancerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
