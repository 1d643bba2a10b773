"""A CenterNet-style anchor-free box head (Zhou et al. 2019, "Objects as Points").

Reads the finest feature level (stride ``s``) through one depthwise-separable 3x3 stem
(:func:`~perception.model.separable_conv.separable_conv_bn_relu`) and predicts, per cell, with a
1x1 conv per output (a per-output 3x3 tower, as in the paper, costs about as much as a ResNet-18
trunk at stride 4 when six heads share a backbone):

- ``heatmap (B, C, h, w)``: class-centre logits (bias -2.19, so the initial sigmoid is ~0.1);
- ``log_size (B, 2, h, w)``: ``log(w / s), log(h / s)`` of the box (log space keeps the L1
  loss on the same scale for a 6-pixel traffic light and a 300-pixel car);
- ``offset (B, 2, h, w)``: the centre's position inside its cell, x then y, in cells;
- ``attr_<name> (B, V, h, w)``: logits of each per-box attribute (e.g. a lamp's state).

Decode takes the ``K`` highest heatmap peaks (3x3 max-pool + top-k, no NMS) and reads the other
maps there, so it exports to ONNX with fixed shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception.data.draw import CATEGORY_COLOURS
from perception.data.draw_detections import draw_detections
from perception.data.sample import CATEGORIES, Sample
from perception.eval.detection_evaluator import DetectionEvaluator
from perception.model.centernet_targets import BoxAttribute, CenterNetTargetEncoder
from perception.model.feature_spec import FeatureSpec
from perception.model.focal_loss import centernet_focal_loss
from perception.model.peaks import gather_at, topk_peaks
from perception.model.separable_conv import separable_conv_bn_relu
from perception.model.task_head import TaskEvaluator, TaskHead, zero_loss

HEATMAP_PRIOR = 0.1
"""Initial centre probability everywhere; the heatmap bias is its logit (about -2.19)."""


class CenterNetHead(TaskHead):
    """Boxes (and optional per-box attributes) of the ``categories`` it detects.

    Args:
        name: the head name.
        feature_spec: the neck's levels; the head reads ``feature_spec.finest``.
        input_size: ``(H, W)`` of the network input (multiples of the finest stride).
        categories: names from :data:`~perception.data.sample.CATEGORIES`; decode's ``classes``
            index into this tuple.
        attributes: per-box classifications predicted at each centre.
        max_objects: target slots per image for size, offset and attributes.
        max_detections: ``K``, the boxes decode returns per image.
        min_box_size: boxes narrower or lower than this many pixels are not trained on.
        head_channels: width of the separable 3x3 stem.
        size_weight, offset_weight, attribute_weight: loss weights (the heatmap's is 1).
    """

    def __init__(
        self,
        name: str,
        feature_spec: FeatureSpec,
        input_size: tuple[int, int],
        categories: Sequence[str],
        attributes: Sequence[BoxAttribute] = (),
        *,
        max_objects: int = 64,
        max_detections: int = 50,
        min_box_size: float = 2.0,
        head_channels: int = 64,
        size_weight: float = 1.0,
        offset_weight: float = 1.0,
        attribute_weight: float = 1.0,
    ) -> None:
        super().__init__(name, feature_spec, input_size)
        unknown = [category for category in categories if category not in CATEGORIES]
        if not categories or unknown:
            raise ValueError(f"head {name!r}: categories must be among {CATEGORIES}, got {unknown}")
        names = [attribute.name for attribute in attributes]
        if len(set(names)) != len(names):
            raise ValueError(f"head {name!r}: attribute names {names} repeat")
        self.categories = tuple(categories)
        self.attributes = tuple(attributes)
        self.level = feature_spec.finest
        self.max_detections = max_detections
        self.size_weight = size_weight
        self.offset_weight = offset_weight
        self.attribute_weight = attribute_weight
        self.target_encoder = CenterNetTargetEncoder(
            [CATEGORIES.index(category) for category in self.categories],
            self.attributes,
            input_size,
            self.level.stride,
            max_objects,
            min_box_size,
        )
        grid_h, grid_w = self.target_encoder.grid
        self.max_log_size = math.log(max(grid_h, grid_w))
        self.stem = separable_conv_bn_relu(self.level.channels, head_channels)
        self.heatmap = nn.Conv2d(head_channels, len(self.categories), 1)
        self.size = nn.Conv2d(head_channels, 2, 1)
        self.offset = nn.Conv2d(head_channels, 2, 1)
        self.attribute_logits = nn.ModuleDict(
            {a.name: nn.Conv2d(head_channels, len(a.values), 1) for a in self.attributes}
        )
        assert self.heatmap.bias is not None
        nn.init.constant_(self.heatmap.bias, math.log(HEATMAP_PRIOR / (1 - HEATMAP_PRIOR)))

    # -- targets --------------------------------------------------------------------------------

    def encode_targets(self, sample: Sample) -> dict[str, np.ndarray] | None:
        """See :class:`~perception.model.centernet_targets.CenterNetTargetEncoder`."""
        return self.target_encoder(sample)

    # -- network ----------------------------------------------------------------------------------

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``heatmap (B, C, h, w)``, ``log_size (B, 2, h, w)``, ``offset (B, 2, h, w)`` and
        ``attr_<name> (B, V, h, w)`` from ``features[finest] (B, channels, h, w)``."""
        x = self.stem(features[self.level.name])
        outputs = {"heatmap": self.heatmap(x), "log_size": self.size(x), "offset": self.offset(x)}
        for name, conv in self.attribute_logits.items():
            outputs[f"attr_{name}"] = conv(x)
        return outputs

    def loss(
        self,
        outputs: dict[str, torch.Tensor],
        targets: dict[str, torch.Tensor],
        labelled: torch.Tensor,
    ) -> torch.Tensor:
        """Focal loss on the heatmap + weighted L1 on log-size and offset + cross-entropy on
        attributes, the last three at the labelled objects' centre cells only (float32)."""
        if not bool(labelled.any()):
            return zero_loss(outputs)
        outputs = {key: value.float() for key, value in outputs.items()}
        weight = labelled.float()
        total = centernet_focal_loss(outputs["heatmap"], targets["heatmap"], weight)
        indices = targets["indices"]
        slots = targets["mask"] * weight[:, None]
        count = slots.sum().clamp(min=1.0)
        for key, loss_weight in (("log_size", self.size_weight), ("offset", self.offset_weight)):
            predicted = _gather_slots(outputs[key], indices)
            error = (predicted - targets[key]).abs().sum(dim=2)
            total = total + loss_weight * (error * slots).sum() / count
        for attribute in self.attributes:
            key = f"attr_{attribute.name}"
            log_probs = F.log_softmax(_gather_slots(outputs[key], indices), dim=2)
            labels = targets[key]
            known = slots * (labels >= 0).to(slots.dtype)
            picked = log_probs.gather(2, labels.clamp(min=0).unsqueeze(2)).squeeze(2)
            cross_entropy = -(picked * known).sum() / known.sum().clamp(min=1.0)
            total = total + self.attribute_weight * cross_entropy
        return total

    def decode(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``boxes (B, K, 4)`` xyxy input pixels, ``scores (B, K)``, ``classes (B, K)`` int64
        (index into :attr:`categories`), and per attribute ``<name> (B, K)`` int64 and
        ``<name>_scores (B, K, V)`` probabilities; sorted by descending score."""
        heatmap = torch.sigmoid(outputs["heatmap"])
        _, channels, grid_h, grid_w = heatmap.shape
        k = min(self.max_detections, channels * grid_h * grid_w)
        scores, classes, ys, xs = topk_peaks(heatmap, k)
        stride = float(self.level.stride)
        offset = gather_at(outputs["offset"], ys, xs)
        log_size = gather_at(outputs["log_size"], ys, xs).clamp(max=self.max_log_size)
        size = torch.exp(log_size) * stride
        centre_x = (xs.to(offset.dtype) + offset[..., 0]) * stride
        centre_y = (ys.to(offset.dtype) + offset[..., 1]) * stride
        height, width = self.input_size
        boxes = torch.stack(
            [
                (centre_x - size[..., 0] / 2).clamp(0.0, float(width)),
                (centre_y - size[..., 1] / 2).clamp(0.0, float(height)),
                (centre_x + size[..., 0] / 2).clamp(0.0, float(width)),
                (centre_y + size[..., 1] / 2).clamp(0.0, float(height)),
            ],
            dim=2,
        )
        decoded = {"boxes": boxes, "scores": scores, "classes": classes}
        for attribute in self.attributes:
            probabilities = F.softmax(gather_at(outputs[f"attr_{attribute.name}"], ys, xs), dim=2)
            decoded[attribute.name] = probabilities.argmax(dim=2)
            decoded[f"{attribute.name}_scores"] = probabilities
        return decoded

    # -- evaluation and display -------------------------------------------------------------

    def evaluator(self) -> TaskEvaluator:
        return DetectionEvaluator(
            self.target_encoder.category_indices, self.attributes, max(100, self.max_detections)
        )

    def metric_directions(self) -> dict[str, str]:
        directions = {"AP": "higher", "AP50": "higher"}
        for attribute in self.attributes:
            directions[f"{attribute.name}_accuracy"] = "higher"
        return directions

    def draw(
        self, image: np.ndarray, decoded: dict[str, np.ndarray], score_threshold: float
    ) -> None:
        """Boxes scoring at least ``score_threshold``, labelled ``"<class> [<values>] <score>"``,
        in their class colour, or in the colour of their predicted attribute value when the
        attribute has colours (traffic lights by lamp state)."""
        keep = decoded["scores"] >= score_threshold
        labels, colours = [], []
        for index in np.flatnonzero(keep):
            category = self.categories[int(decoded["classes"][index])]
            words = [category]
            colour = CATEGORY_COLOURS.get(category, (255, 255, 255))
            for attribute in self.attributes:
                value = int(decoded[attribute.name][index])
                words.append(attribute.values[value])
                if attribute.colours is not None:
                    colour = attribute.colours[value]
            labels.append(" ".join(words))
            colours.append(colour)
        draw_detections(image, decoded["boxes"][keep], decoded["scores"][keep], labels, colours)

    def describe(self) -> dict[str, Any]:
        """Classes with their colours, attributes with values and colours, output names."""
        outputs = ["boxes", "scores", "classes"]
        for attribute in self.attributes:
            outputs += [attribute.name, f"{attribute.name}_scores"]
        return {
            "name": self.name,
            "kind": "boxes",
            "classes": list(self.categories),
            "class_colours": [
                list(CATEGORY_COLOURS.get(category, (255, 255, 255)))
                for category in self.categories
            ],
            "attributes": {
                attribute.name: {
                    "values": list(attribute.values),
                    "colours": None
                    if attribute.colours is None
                    else [list(colour) for colour in attribute.colours],
                }
                for attribute in self.attributes
            },
            "max_detections": self.max_detections,
            "outputs": outputs,
        }


def _gather_slots(output: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Values of ``output (B, C, h, w)`` at flattened cells ``indices (B, M)``: ``(B, M, C)``."""
    batch, channels = output.shape[:2]
    flat = output.reshape(batch, channels, -1)
    index = indices.long().unsqueeze(1).expand(batch, channels, indices.shape[1])
    return flat.gather(2, index).permute(0, 2, 1)
