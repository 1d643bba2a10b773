"""The soft-sharing multi-task model: one backbone and neck per task, tied softly.

Where the hard-sharing :class:`~perception.model.multitask.MultiTaskModel` runs one backbone for
every head, this model gives each task its own copy of the backbone and FPN neck (all built from
the same config, all starting from the same weights) and ties the copies in one of two ways:

- ``"cross_stitch"`` (Misra et al. 2016, :mod:`perception.model.cross_stitch`): after every
  backbone level, each task's feature map becomes a learned per-channel linear combination of
  all tasks' maps at that level, and the *stitched* map feeds that task's next stage (and its
  neck). This needs stage-wise execution, so the backbone must offer
  ``forward_stage(index, x)`` (every built-in backbone does). Stitching only the finished
  backbone outputs would let tasks share nothing but a last linear mix; stitching between stages
  is what lets one task's early features shape another's later ones, as in the paper.
- ``"l2"`` (Duong et al. 2015, :mod:`perception.model.l2_tie`): the task networks run
  independently; :meth:`SoftSharingModel.regularization_loss` returns
  ``l2_weight * sum_{i<j} ||theta_i - theta_j||^2`` over corresponding backbone parameters
  (necks and heads stay untied), to be added to the training loss.

The interface is the hard model's (``normalize``, ``features``, ``forward``, ``task_heads``,
``head_names``, ``feature_spec``, ``shared_parameters``, ``last_shared_parameters``,
``regularization_loss``), so training, evaluation and checkpoints treat both alike. Two notions
differ and are defined here for the gradient-based balancers:

- :meth:`~SoftSharingModel.shared_parameters` is the trunk, everything between the image and the
  heads: all backbones, necks and stitch units, as for the hard model (its backbone and neck).
  Under cross-stitch every task's loss reaches every backbone through the stitches; under the L2
  tie each task's loss reaches only its own trunk, so per-task gradients have disjoint support
  (no conflicts; a cosine similarity of 0). The per-task gradient matrix of a gradient balancer is
  T times wider than for the hard model.
- :meth:`~SoftSharingModel.last_shared_parameters` is every task's neck output convolutions, the
  layer that plays the hard model's last-shared role. No single layer is shared after the last
  stitch, so task ``i``'s gradient there is its gradient at its own copy of that layer (what
  GradNorm needs: a comparable per-task gradient norm).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from torch import nn

from perception.model.cross_stitch import DEFAULT_SELF_WEIGHT, CrossStitch
from perception.model.feature_spec import FeatureSpec
from perception.model.l2_tie import pairwise_squared_distance
from perception.model.multitask import task_loss
from perception.model.task_head import TaskHead
from perception.model.task_model import TaskModel

SoftTie = Literal["cross_stitch", "l2"]
SOFT_TIES: tuple[SoftTie, ...] = ("cross_stitch", "l2")


class SoftSharingModel(TaskModel):
    """Per task: backbone -> (cross-stitch units between levels) -> neck -> head.

    Args:
        backbones: one backbone per task, keyed and ordered like ``heads``, all with the same
            ``feature_spec``; with ``tie="cross_stitch"`` each needs ``forward_stage``.
        necks: one neck per task, keyed like ``heads``, all with the same ``feature_spec``.
        heads: task heads by name, each built from the necks' feature spec.
        tie: ``"cross_stitch"`` or ``"l2"``.
        l2_weight: the L2 tie's weight (``>= 0``); unused by cross-stitch.
        stitch_self_weight: the cross-stitch units' initial weight of a task on itself.
    """

    def __init__(
        self,
        backbones: Mapping[str, nn.Module],
        necks: Mapping[str, nn.Module],
        heads: Mapping[str, TaskHead],
        tie: SoftTie,
        l2_weight: float = 1e-3,
        stitch_self_weight: float = DEFAULT_SELF_WEIGHT,
    ) -> None:
        super().__init__(heads)
        if list(backbones) != list(heads) or list(necks) != list(heads):
            raise ValueError(
                f"need one backbone and one neck per head, in head order {list(heads)}; got "
                f"backbones {list(backbones)} and necks {list(necks)}"
            )
        if tie not in SOFT_TIES:
            raise ValueError(f"tie must be one of {SOFT_TIES}, got {tie!r}")
        if l2_weight < 0:
            raise ValueError(f"l2_weight must be >= 0, got {l2_weight}")
        backbone_specs = {backbone.feature_spec for backbone in backbones.values()}
        neck_specs = {neck.feature_spec for neck in necks.values()}
        if len(backbone_specs) != 1 or len(neck_specs) != 1:
            raise ValueError("every task's backbone (and neck) must have the same feature spec")
        if tie == "cross_stitch":
            lacking = [name for name, b in backbones.items() if not hasattr(b, "forward_stage")]
            if lacking:
                raise ValueError(
                    f"cross-stitch needs backbones with forward_stage; {lacking} lack it"
                )
        self.backbones = nn.ModuleDict(dict(backbones))
        self.necks = nn.ModuleDict(dict(necks))
        self.tie = tie
        self.l2_weight = l2_weight
        self.backbone_spec: FeatureSpec = backbone_specs.pop()
        self.stitches = nn.ModuleDict(
            {
                level.name: CrossStitch(len(heads), level.channels, stitch_self_weight)
                for level in self.backbone_spec.levels
            }
            if tie == "cross_stitch"
            else {}
        )

    @property
    def feature_spec(self) -> FeatureSpec:
        """The necks' (common) feature spec, which the heads were built from."""
        return next(iter(self.necks.values())).feature_spec

    def shared_parameters(self) -> list[nn.Parameter]:
        """The trunk (every backbone, stitch unit and neck), for gradient-based balancers; see
        the module docstring for what each task's gradient reaches under each tie."""
        trunk = (
            *self.backbones.parameters(),
            *self.stitches.parameters(),
            *self.necks.parameters(),
        )
        return [p for p in trunk if p.requires_grad]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        """Every task's neck output convolutions (each task reaches only its own)."""
        return [
            p for neck in self.necks.values() for p in neck.output_parameters() if p.requires_grad
        ]

    def features(self, images: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
        """Per task, its neck features ``{level: (B, C, H/s, W/s)}`` for RGB images
        ``(B, 3, H, W)``."""
        normalized = self.normalize(images)
        if self.tie == "cross_stitch":
            trunk_features = self._stitched_backbone_features(normalized)
        else:
            trunk_features = {name: b(normalized) for name, b in self.backbones.items()}
        return {name: neck(trunk_features[name]) for name, neck in self.necks.items()}

    def _stitched_backbone_features(
        self, normalized: torch.Tensor
    ) -> dict[str, dict[str, torch.Tensor]]:
        """Run the backbones stage by stage, cross-stitching after every level; per task
        ``{level: (B, C_level, H/s, W/s)}`` of the stitched maps."""
        names = list(self.backbones)
        stitched: dict[str, dict[str, torch.Tensor]] = {name: {} for name in names}
        maps = [normalized] * len(names)
        for index, level in enumerate(self.backbone_spec.levels):
            maps = [
                backbone.forward_stage(index, x)
                for backbone, x in zip(self.backbones.values(), maps, strict=True)
            ]
            maps = self.stitches[level.name](maps)
            for name, x in zip(names, maps, strict=True):
                stitched[name][level.name] = x
        return stitched

    def forward(
        self,
        images: torch.Tensor,
        targets: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
        labelled: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor] | dict[str, dict[str, torch.Tensor]]:
        """Train mode: ``{task: scalar loss}`` (needs ``targets`` and ``labelled`` per task).
        Eval mode: ``{task: decoded predictions}``. The L2 tie is not in these losses; see
        :meth:`regularization_loss`."""
        features = self.features(images)
        if self.training:
            if targets is None or labelled is None:
                raise ValueError("training forward needs targets and labelled masks per task")
            return {
                name: task_loss(name, head, features[name], targets, labelled)
                for name, head in self.task_heads()
            }
        return {name: head.decode(head(features[name])) for name, head in self.task_heads()}

    def regularization_loss(self) -> torch.Tensor:
        """The tie as a loss term to add to the task losses: for ``"l2"``,
        ``l2_weight * sum_{i<j} ||theta_i - theta_j||^2`` over corresponding backbone
        parameters (a scalar with a gradient in every backbone); for ``"cross_stitch"``, whose
        tie lives in the forward, an exact zero not connected to any parameter."""
        if self.tie == "l2":
            distance = pairwise_squared_distance(list(self.backbones.values()))
            return self.l2_weight * distance.to(self.pixel_mean.device)
        return torch.zeros((), device=self.pixel_mean.device)
