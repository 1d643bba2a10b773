"""Multi-person pedestrian pose, CenterNet style (Zhou et al. 2019, "Objects as Points", sec. 4).

Every pedestrian with at least one labelled keypoint is a point at its box centre on a one-class
heatmap (stride-4 cells, gaussian splats, penalty-reduced focal loss). At the centre cell the
head regresses the box size, the sub-cell centre offset and, for each of the 17 COCO joints, its
displacement from the centre cell. Sizes, offsets and displacements are in cells (input pixels
divided by the stride); their L1 losses count only labelled objects, and only joints with
visibility > 0. Decode takes the ``max_detections`` strongest heatmap peaks (max-pool + top-k)
and reads the regressions there; each joint's score is its person's score.

Coordinates: box corners are pixel edges, keypoints pixel indices whose centres sit at ``+0.5``.
Cell ``i`` spans ``[i s, (i + 1) s)`` input pixels for stride ``s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from perception.config.loader import build_dataclass
from perception.data.draw import CATEGORY_COLOURS, VISIBLE_KEYPOINT
from perception.data.sample import KEYPOINT_NAMES, SKELETON, Sample
from perception.errors import ConfigError
from perception.eval.coco_keypoints import (
    KEYPOINT_METRIC_DIRECTIONS,
    KeypointEvaluator,
    labelled_people,
)
from perception.model.centernet_head import HEATMAP_PRIOR
from perception.model.feature_spec import FeatureSpec
from perception.model.focal_loss import centernet_focal_loss
from perception.model.gaussian import draw_gaussian, gaussian_radius
from perception.model.peaks import gather_at, topk_peaks
from perception.model.separable_conv import separable_conv_bn_relu
from perception.model.task_head import TaskEvaluator, TaskHead, zero_loss

SUMMARY = "pedestrian pose: 17 COCO keypoints per person, CenterNet-style (OKS AP)"

NUM_JOINTS = len(KEYPOINT_NAMES)


@dataclass
class PedestrianKeypointOptions:
    """Options of the ``pedestrian_keypoints`` head (``model.head_options.pedestrian_keypoints``).

    ``head_channels``: width of the shared separable 3x3 stem that every output's 1x1 conv reads.
    ``max_objects``: people encoded per image (extra ones are dropped from the targets).
    ``max_detections``: people decoded per image. The ``*_weight`` options weigh the L1 terms
    against the heatmap focal loss.
    """

    head_channels: int = 64
    max_objects: int = 32
    max_detections: int = 20
    size_weight: float = 0.1
    offset_weight: float = 1.0
    joint_weight: float = 1.0


class PedestrianKeypointHead(TaskHead):
    """Outputs at stride ``s`` (the finest level), each ``(B, C, H/s, W/s)``: ``heatmap``
    (1 channel, logits), ``size`` (2: box w, h), ``offset`` (2: centre x, y) and ``joints``
    (34: ``dx, dy`` of each joint from the centre cell), all regressions in cells."""

    def __init__(
        self,
        feature_spec: FeatureSpec,
        input_size: tuple[int, int],
        options: PedestrianKeypointOptions,
    ) -> None:
        super().__init__("pedestrian_keypoints", feature_spec, input_size)
        self.options = options
        level = feature_spec.finest
        self.level = level.name
        self.stride = level.stride
        self.grid = (input_size[0] // level.stride, input_size[1] // level.stride)
        width = options.head_channels
        self.stem = separable_conv_bn_relu(level.channels, width)
        self.heatmap = nn.Conv2d(width, 1, 1)
        self.size = nn.Conv2d(width, 2, 1)
        self.offset = nn.Conv2d(width, 2, 1)
        self.joints = nn.Conv2d(width, 2 * NUM_JOINTS, 1)
        assert self.heatmap.bias is not None
        nn.init.constant_(self.heatmap.bias, -math.log(1.0 / HEATMAP_PRIOR - 1.0))

    def encode_targets(self, sample: Sample) -> dict[str, np.ndarray] | None:
        """Targets for up to ``max_objects`` people (``M`` below), zero-padded:

        ``heatmap (1, h, w)``, ``indices (M,)`` int64 flat centre cells, ``mask (M,)``,
        ``size (M, 2)``, ``offset (M, 2)``, ``joints (M, 34)`` and ``joint_mask (M, 34)``.
        """
        if sample.keypoints is None:
            return None
        if (sample.height, sample.width) != self.input_size:
            raise ValueError(
                f"sample {sample.image_id!r} is {sample.height}x{sample.width}; the keypoint head "
                f"encodes letterboxed {self.input_size[0]}x{self.input_size[1]} samples"
            )
        assert sample.boxes is not None
        grid_h, grid_w = self.grid
        count = self.options.max_objects
        heatmap = np.zeros((1, grid_h, grid_w), dtype=np.float32)
        indices = np.zeros(count, dtype=np.int64)
        mask = np.zeros(count, dtype=np.float32)
        size = np.zeros((count, 2), dtype=np.float32)
        offset = np.zeros((count, 2), dtype=np.float32)
        joints = np.zeros((count, 2 * NUM_JOINTS), dtype=np.float32)
        joint_mask = np.zeros((count, 2 * NUM_JOINTS), dtype=np.float32)
        for slot, row in enumerate(labelled_people(sample)[:count]):
            x1, y1, x2, y2 = (float(v) / self.stride for v in sample.boxes[row])
            width, height = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
            centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
            cell_x = min(max(math.floor(centre[0]), 0), grid_w - 1)
            cell_y = min(max(math.floor(centre[1]), 0), grid_h - 1)
            radius = gaussian_radius(math.ceil(height), math.ceil(width))
            draw_gaussian(heatmap[0], cell_x, cell_y, max(0, int(radius)))
            indices[slot] = cell_y * grid_w + cell_x
            mask[slot] = 1.0
            size[slot] = (width, height)
            offset[slot] = centre - (cell_x, cell_y)
            keypoints = sample.keypoints[row]
            cells = (keypoints[:, :2] + 0.5) / self.stride - np.array([cell_x, cell_y])
            joints[slot] = cells.reshape(-1)
            joint_mask[slot] = np.repeat(keypoints[:, 2] > 0, 2)
        return {
            "heatmap": heatmap,
            "indices": indices,
            "mask": mask,
            "size": size,
            "offset": offset,
            "joints": joints,
            "joint_mask": joint_mask,
        }

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        feature = self.stem(features[self.level])
        return {
            "heatmap": self.heatmap(feature),
            "size": self.size(feature),
            "offset": self.offset(feature),
            "joints": self.joints(feature),
        }

    def loss(
        self,
        outputs: dict[str, torch.Tensor],
        targets: dict[str, torch.Tensor],
        labelled: torch.Tensor,
    ) -> torch.Tensor:
        """Focal heatmap loss + weighted L1 of size, offset (per person) and joints (per
        labelled joint coordinate), over labelled samples."""
        if "heatmap" not in targets or not bool(labelled.any()):
            return zero_loss(outputs)
        sample_weight = labelled.to(torch.float32)
        heatmap = outputs["heatmap"].float()
        loss = centernet_focal_loss(heatmap, targets["heatmap"].float(), sample_weight)
        grid_w = heatmap.shape[-1]
        indices = targets["indices"]
        ys = torch.div(indices, grid_w, rounding_mode="floor")
        xs = indices - ys * grid_w
        person_weight = targets["mask"].float() * sample_weight[:, None]  # (B, M)
        people = person_weight.sum().clamp(min=1.0)
        for name, weight in (
            ("size", self.options.size_weight),
            ("offset", self.options.offset_weight),
        ):
            predicted = gather_at(outputs[name].float(), ys, xs)  # (B, M, 2)
            error = (predicted - targets[name].float()).abs() * person_weight[..., None]
            loss = loss + weight * error.sum() / people
        joint_weight = targets["joint_mask"].float() * person_weight[..., None]  # (B, M, 34)
        predicted_joints = gather_at(outputs["joints"].float(), ys, xs)
        joint_error = (predicted_joints - targets["joints"].float()).abs() * joint_weight
        coordinates = joint_weight.sum().clamp(min=1.0)
        return loss + self.options.joint_weight * joint_error.sum() / coordinates

    def decode(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``boxes (B, K, 4)`` xyxy, ``scores (B, K)`` and ``keypoints (B, K, 17, 3)`` (x, y,
        score) in input pixels, ``K = max_detections``, strongest first."""
        heat = torch.sigmoid(outputs["heatmap"])
        scores, _, ys, xs = topk_peaks(heat, self.options.max_detections)
        stride = float(self.stride)
        cell = torch.stack([xs, ys], dim=-1).to(heat.dtype)  # (B, K, 2)
        centre = (cell + gather_at(outputs["offset"], ys, xs)) * stride
        half = gather_at(outputs["size"], ys, xs) * (stride / 2)
        boxes = torch.cat([centre - half, centre + half], dim=-1)
        batch, count = scores.shape
        displacement = gather_at(outputs["joints"], ys, xs).reshape(batch, count, NUM_JOINTS, 2)
        positions = (cell[:, :, None, :] + displacement) * stride - 0.5
        joint_scores = scores[:, :, None, None].expand(batch, count, NUM_JOINTS, 1)
        return {
            "boxes": boxes,
            "scores": scores,
            "keypoints": torch.cat([positions, joint_scores], dim=-1),
        }

    def evaluator(self) -> TaskEvaluator:
        return KeypointEvaluator(self.input_size)

    def metric_directions(self) -> dict[str, str]:
        return dict(KEYPOINT_METRIC_DIRECTIONS)

    def draw(
        self, image: np.ndarray, decoded: dict[str, np.ndarray], score_threshold: float
    ) -> None:
        """Box and skeleton of every person scoring at least ``score_threshold``."""
        box_colour = CATEGORY_COLOURS["pedestrian"]
        for box, score, joints in zip(
            decoded["boxes"], decoded["scores"], decoded["keypoints"], strict=True
        ):
            if score < score_threshold:
                continue
            x1, y1, x2, y2 = (round(float(v)) for v in box)
            cv2.rectangle(image, (x1, y1), (x2, y2), box_colour, 1)
            points = [(round(float(x)), round(float(y))) for x, y, _ in joints]
            for a, b in SKELETON:
                cv2.line(image, points[a], points[b], VISIBLE_KEYPOINT, 1, cv2.LINE_AA)
            for point in points:
                cv2.circle(image, point, 2, VISIBLE_KEYPOINT, cv2.FILLED, cv2.LINE_AA)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "keypoints",
            "outputs": {
                "boxes": "(B, K, 4) x1, y1, x2, y2 input pixels",
                "scores": "(B, K) person score",
                "keypoints": "(B, K, 17, 3) x, y, score (COCO order)",
            },
            "max_detections": self.options.max_detections,
            "keypoint_names": list(KEYPOINT_NAMES),
            "skeleton": [list(edge) for edge in SKELETON],
        }


def build_pedestrian_keypoints(
    feature_spec: FeatureSpec, input_size: tuple[int, int], **options: Any
) -> PedestrianKeypointHead:
    """The ``pedestrian_keypoints`` head factory; ``options`` are
    :class:`PedestrianKeypointOptions` fields."""
    where = "head 'pedestrian_keypoints'"
    parsed = build_dataclass(
        PedestrianKeypointOptions,
        options,
        key_path="model.head_options.pedestrian_keypoints",
        origin=where,
    )
    size = (int(input_size[0]), int(input_size[1]))
    stride = feature_spec.finest.stride
    if size[0] % stride or size[1] % stride:
        raise ConfigError(
            f"{where}: input size {size[0]}x{size[1]} is not a multiple of its feature stride "
            f"{stride}"
        )
    cells = (size[0] // stride) * (size[1] // stride)
    for name in ("head_channels", "max_objects", "max_detections"):
        if getattr(parsed, name) <= 0:
            raise ConfigError(f"{where}: {name} must be positive, got {getattr(parsed, name)}")
    if parsed.max_detections > cells:
        raise ConfigError(
            f"{where}: max_detections={parsed.max_detections} exceeds the {cells} heatmap cells "
            f"of a {size[0]}x{size[1]} input at stride {stride}"
        )
    for name in ("size_weight", "offset_weight", "joint_weight"):
        if getattr(parsed, name) < 0:
            raise ConfigError(f"{where}: {name} must be >= 0, got {getattr(parsed, name)}")
    return PedestrianKeypointHead(feature_spec, size, parsed)
