"""The hard-sharing multi-task model: one backbone and neck, N task heads.

A small orchestrator in the manner of torchvision's ``GeneralizedRCNN``: it only wires the
components it receives. In train mode ``forward`` returns the per-task losses; in eval mode it
returns each head's decoded predictions. Loss weighting is not the model's business (the
balancer does it).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from perception.model.feature_spec import FeatureSpec
from perception.model.task_head import TaskHead, zero_loss
from perception.model.task_model import TaskModel


class MultiTaskModel(TaskModel):
    """Backbone -> neck -> heads.

    Args:
        backbone: module with ``feature_spec`` mapping normalised ``(B, 3, H, W)`` images to
            ``{level: (B, C, H/s, W/s)}``.
        neck: module with ``feature_spec`` mapping the backbone's features to the heads'.
        heads: task heads by name, each built from ``neck.feature_spec``.
    """

    def __init__(self, backbone: nn.Module, neck: nn.Module, heads: Mapping[str, TaskHead]) -> None:
        super().__init__(heads)
        self.backbone = backbone
        self.neck = neck

    @property
    def feature_spec(self) -> FeatureSpec:
        return self.neck.feature_spec

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every task shares (backbone and neck), for gradient-based balancers."""
        return [
            p for p in (*self.backbone.parameters(), *self.neck.parameters()) if p.requires_grad
        ]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        """The last layer all heads share (the neck's output convolutions), where GradNorm
        measures per-task gradient norms."""
        return [p for p in self.neck.output_parameters() if p.requires_grad]

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Neck features ``{level: (B, C, H/s, W/s)}`` for RGB images ``(B, 3, H, W)``."""
        return self.neck(self.backbone(self.normalize(images)))

    def forward(
        self,
        images: torch.Tensor,
        targets: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
        labelled: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor] | dict[str, dict[str, torch.Tensor]]:
        """Train mode: ``{task: scalar loss}`` (needs ``targets`` and ``labelled`` per task).
        Eval mode: ``{task: decoded predictions}``."""
        features = self.features(images)
        if self.training:
            if targets is None or labelled is None:
                raise ValueError("training forward needs targets and labelled masks per task")
            return {
                name: task_loss(name, head, features, targets, labelled)
                for name, head in self.task_heads()
            }
        return {name: head.decode(head(features)) for name, head in self.task_heads()}


def task_loss(
    name: str,
    head: TaskHead,
    features: dict[str, torch.Tensor],
    targets: Mapping[str, Mapping[str, torch.Tensor]],
    labelled: Mapping[str, torch.Tensor],
) -> torch.Tensor:
    """Task ``name``'s scalar loss: its ``head`` run on ``features``, scored against
    ``targets[name]`` where the ``(B,)`` mask ``labelled[name]`` is set."""
    outputs = head(features)
    mask = labelled[name]
    # A batch with no labels for a task carries no targets for it at all.
    return head.loss(outputs, targets[name], mask) if bool(mask.any()) else zero_loss(outputs)
