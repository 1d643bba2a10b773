"""The task-head contract: everything about one task lives behind this interface.

A head plugin registers a :class:`~perception.plugins.HeadRecord` whose factory is called as
``factory(feature_spec, input_size=(H, W), **options)`` and returns a :class:`TaskHead`. The core
(model, trainer, evaluator, report, later the exporter) only ever talks to heads through the
members below, so it knows "tasks", never cars or depth.

Data flow for one head::

    Sample (letterboxed to H x W) --encode_targets--> dict of numpy arrays (or None: unlabelled)
        --collate (stack, mask)--> targets dict of tensors (B, ...) + labelled mask (B,)
    features {level: (B, C, H/s, W/s)} --forward--> raw outputs {name: tensor}
    raw outputs + targets + labelled --loss--> scalar
    raw outputs --decode--> fixed-shape tensors (exportable: no NMS, no data-dependent shapes)
    decoded (numpy) + samples --evaluator--> metrics
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from torch import nn

from perception.data.sample import Sample
from perception.model.feature_spec import FeatureSpec


class TaskEvaluator(ABC):
    """Accumulates one head's predictions over a split and computes its metrics.

    ``observe_training_sample`` is called on (a subset of) training samples first, so the
    evaluator can build its trivial baseline (e.g. the training set's mean depth per row).
    """

    def observe_training_sample(self, sample: Sample) -> None:  # noqa: B027 (optional hook)
        """Learn whatever the trivial baseline needs from one training sample."""

    @abstractmethod
    def update(self, decoded: dict[str, np.ndarray], samples: list[Sample]) -> None:
        """Add one batch: ``decoded`` is the head's :meth:`TaskHead.decode` output as numpy
        (leading dimension ``B``), ``samples`` the ``B`` letterboxed ground-truth samples
        (samples lacking this task's labels must be skipped)."""

    @abstractmethod
    def compute(self) -> dict[str, dict[str, float]]:
        """``{"model": {metric: value}, "baseline": {metric: value}}``; metric names are the
        same in both, and a metric's direction is given by :meth:`TaskHead.metric_directions`."""


class TaskHead(nn.Module, ABC):
    """One task: its module, target encoding, loss, decode, metrics and drawing.

    Attributes:
        name: the registered head name; keys of losses, outputs and metrics.
        feature_spec: the spec the head was built from.
        input_size: ``(H, W)`` of the letterboxed network input.
    """

    def __init__(self, name: str, feature_spec: FeatureSpec, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.name = name
        self.feature_spec = feature_spec
        self.input_size = input_size

    # -- targets --------------------------------------------------------------------------------

    @abstractmethod
    def encode_targets(self, sample: Sample) -> dict[str, np.ndarray] | None:
        """Targets for one letterboxed sample (``sample.height, sample.width == input_size``),
        or ``None`` when the sample carries no labels for this task. Every array of a head must
        have the same shape for every sample (pad to a fixed maximum count), so a batch
        stacks them. Runs inside DataLoader workers: must not touch module parameters."""

    # -- network ----------------------------------------------------------------------------------

    @abstractmethod
    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw outputs from the neck's features ``{level: (B, C, H/s, W/s)}``."""

    @abstractmethod
    def loss(
        self,
        outputs: dict[str, torch.Tensor],
        targets: dict[str, torch.Tensor],
        labelled: torch.Tensor,
    ) -> torch.Tensor:
        """Scalar loss. ``targets`` are the stacked :meth:`encode_targets` arrays ``(B, ...)``
        (zeros where a sample is unlabelled); ``labelled`` is ``(B,)`` bool. Unlabelled samples
        contribute nothing; with no labelled sample the loss is an exact zero that still
        depends on the outputs (``outputs[k].sum() * 0``), so backward works."""

    @abstractmethod
    def decode(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Predictions with fixed shapes (leading ``B``) in input-pixel coordinates, built from
        tensor ops only (max-pool peaks + top-k, no NMS), so decode can live in an exported
        graph. Output names are what the exporter will call ``<head>.<name>``."""

    # -- evaluation and display -------------------------------------------------------------

    @abstractmethod
    def evaluator(self) -> TaskEvaluator:
        """A fresh evaluator for this head."""

    @abstractmethod
    def metric_directions(self) -> dict[str, str]:
        """``{metric: "higher" | "lower"}``: which way is better, per metric name."""

    @abstractmethod
    def draw(
        self, image: np.ndarray, decoded: dict[str, np.ndarray], score_threshold: float
    ) -> None:
        """Draw one image's predictions in place. ``image`` is ``(H, W, 3)`` uint8 RGB at the input
        size; ``decoded`` holds this image's rows of :meth:`decode` (no leading ``B``)."""

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable facts about the head (classes, attributes, outputs) for reports and
        export metadata."""
        return {"name": self.name}


def zero_loss(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """An exact zero that depends on every output, so backward reaches all of them."""
    values = list(outputs.values())
    return sum((value.sum() * 0.0 for value in values[1:]), values[0].sum() * 0.0)
