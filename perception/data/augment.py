"""Training augmentation that moves image, boxes, keypoints and depth together.

Built on albumentations 2 from :class:`~perception.config.schema.AugmentConfig`:

* ``horizontal_flip``: probability of a left-right flip. Keypoints are re-labelled after the
  flip with :data:`~perception.data.sample.KEYPOINT_FLIP_INDEX` (the old left shoulder is now
  the right shoulder). Lamp states do not change.
* ``scale_jitter`` ``j``: zoom by ``s`` uniform in ``[1 - j, 1 + j]`` about the centre, plus a
  shift of up to ``j / 2`` of the image size (a random crop-resize when ``s > 1``, a zoom-out
  with black border when ``s < 1``). The output keeps the input size.
* ``brightness_contrast`` ``b``: brightness and contrast change up to ``±b``.
* ``hue_saturation`` ``h``: hue shift up to ``±20 h`` OpenCV hue units (of 180; kept small so a
  red lamp never turns yellow) and saturation shift up to ``±128 h`` (of 255).

Photometric changes touch only the image. Depth travels as a mask: nearest-neighbour resampling,
never blended, and 0 (unknown) where the zoom-out uncovers border.

**Depth under zoom.** The camera is taken as fixed (same intrinsics), so an image zoomed by
``s`` shows the scene as if everything were ``s`` times nearer: metric depth is divided by
``s``. This keeps apparent size and depth consistent, which is what a depth head learns from.
(Letterboxing, by contrast, keeps depth: see :mod:`perception.data.letterbox`.)

Boxes are clipped to the image; a box with less than :data:`MIN_VISIBILITY` of its area left
(or under :data:`MIN_AREA` pixels) is dropped together with its category, lamp state, flags and
keypoint row. Clipped boxes touching the border are marked truncated. Keypoints that leave the
image get visibility 0. What was applied is recorded in ``meta["augment"]``:
``{"flip": bool, "scale": float, "kept": [source row of each output object]}``.

Every call takes a seed, so the output depends only on the sample and the seed (not on which
worker process runs it).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import cv2
import numpy as np

from perception.config.schema import AugmentConfig
from perception.data.sample import KEYPOINT_FLIP_INDEX, Sample

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A

MIN_VISIBILITY = 0.25
"""Fraction of a box's area that must stay inside the image for the box to be kept."""

MIN_AREA = 4.0
"""Smallest box area in pixels that is kept."""

_BORDER_TOLERANCE = 0.5


def _check(config: AugmentConfig) -> None:
    ranges = {
        "horizontal_flip": (config.horizontal_flip, 0.0, 1.0),
        "scale_jitter": (config.scale_jitter, 0.0, 0.9),
        "brightness_contrast": (config.brightness_contrast, 0.0, 1.0),
        "hue_saturation": (config.hue_saturation, 0.0, 1.0),
    }
    for name, (value, low, high) in ranges.items():
        if not low <= value <= high:
            raise ValueError(f"augment.{name} must be in [{low}, {high}], got {value}")


def _photometric(config: AugmentConfig) -> list[A.BasicTransform]:
    transforms: list[A.BasicTransform] = []
    if config.brightness_contrast > 0:
        limit = config.brightness_contrast
        transforms.append(
            A.RandomBrightnessContrast(brightness_limit=limit, contrast_limit=limit, p=1.0)
        )
    if config.hue_saturation > 0:
        strength = config.hue_saturation
        transforms.append(
            A.HueSaturationValue(
                hue_shift_limit=20 * strength,
                sat_shift_limit=128 * strength,
                val_shift_limit=0,
                p=1.0,
            )
        )
    return transforms


def _geometric(config: AugmentConfig) -> list[A.BasicTransform]:
    transforms: list[A.BasicTransform] = []
    if config.horizontal_flip > 0:
        transforms.append(A.HorizontalFlip(p=config.horizontal_flip))
    if config.scale_jitter > 0:
        jitter = config.scale_jitter
        transforms.append(
            A.Affine(
                scale=(1 - jitter, 1 + jitter),
                keep_ratio=True,
                translate_percent=(-jitter / 2, jitter / 2),
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                p=1.0,
            )
        )
    return transforms


class Augmenter:
    """``augmenter(sample, seed) -> Sample``: one random augmentation, reproducible by seed."""

    def __init__(self, config: AugmentConfig) -> None:
        _check(config)
        with warnings.catch_warnings():
            # A photometric-only pipeline has no transform for boxes/keypoints; that is fine.
            warnings.filterwarnings("ignore", message="Got processor for", category=UserWarning)
            self._compose = self._build(config)

    @staticmethod
    def _build(config: AugmentConfig) -> A.Compose:
        return A.Compose(
            # Photometric first, so the border uncovered by a zoom-out stays black.
            _photometric(config) + _geometric(config),
            bbox_params=A.BboxParams(
                format="pascal_voc",
                label_fields=["object_index"],
                clip=True,
                min_visibility=MIN_VISIBILITY,
                min_area=MIN_AREA,
            ),
            keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
            mask_interpolation=cv2.INTER_NEAREST,
            save_applied_params=True,
            seed=0,
        )

    def __call__(self, sample: Sample, seed: int) -> Sample:
        """Augment ``sample`` (image ``(H, W, 3)``); the output has the same ``H x W``."""
        self._compose.set_random_seed(seed)
        count = sample.num_objects
        inputs: dict[str, Any] = {
            "image": sample.image,
            "bboxes": np.zeros((0, 4), np.float32) if sample.boxes is None else sample.boxes,
            "object_index": np.arange(count),
            "keypoints": (
                np.zeros((0, 2), np.float32)
                if sample.keypoints is None
                else sample.keypoints[..., :2].reshape(-1, 2)
            ),
        }
        if sample.depth is not None:
            inputs["mask"] = sample.depth
        out = self._compose(**inputs)
        applied = dict(out["applied_transforms"])
        flipped = "HorizontalFlip" in applied
        scale = float(applied["Affine"]["scale"]["x"]) if "Affine" in applied else 1.0

        depth = None
        if sample.depth is not None:
            depth = np.asarray(out["mask"], dtype=np.float32) / np.float32(scale)
        fields: dict[str, Any] = {}
        kept = np.asarray(out["object_index"], dtype=np.int64)
        if sample.boxes is not None:
            boxes = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4)
            height, width = sample.height, sample.width
            on_border = (
                (boxes[:, 0] <= _BORDER_TOLERANCE)
                | (boxes[:, 1] <= _BORDER_TOLERANCE)
                | (boxes[:, 2] >= width - _BORDER_TOLERANCE)
                | (boxes[:, 3] >= height - _BORDER_TOLERANCE)
            )
            fields = {
                "boxes": boxes,
                "category": sample.category[kept],
                "light_state": sample.light_state[kept],
                "occluded": sample.occluded[kept],
                "truncated": sample.truncated[kept] | on_border,
            }
            if sample.keypoints is not None:
                fields["keypoints"] = self._keypoints(sample, out["keypoints"], kept, flipped)
        return dataclasses.replace(
            sample,
            image=np.ascontiguousarray(out["image"]),
            depth=depth,
            meta={
                **sample.meta,
                "augment": {"flip": flipped, "scale": scale, "kept": kept.tolist()},
            },
            **fields,
        )

    @staticmethod
    def _keypoints(sample: Sample, moved: Any, kept: np.ndarray, flipped: bool) -> np.ndarray:
        """``(K, 17, 3)`` keypoints of the kept objects, re-labelled after a flip."""
        assert sample.keypoints is not None
        xy = np.asarray(moved, dtype=np.float32).reshape(-1, 17, 2)[kept]
        visibility = sample.keypoints[kept, :, 2].copy()
        inside = (
            (xy[..., 0] >= -0.5)
            & (xy[..., 0] < sample.width - 0.5)
            & (xy[..., 1] >= -0.5)
            & (xy[..., 1] < sample.height - 0.5)
        )
        visibility[~inside] = 0
        keypoints = np.concatenate([xy, visibility[..., None]], axis=-1).astype(np.float32)
        if flipped:
            keypoints = keypoints[:, list(KEYPOINT_FLIP_INDEX)]
        return keypoints
