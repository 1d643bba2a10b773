"""Torchvision classification networks cut into a four-level feature trunk.

The trunk keeps the torchvision module hierarchy (``conv1``, ``layer1.0``, ``features.3``, ...),
so its state dict keys are the torchvision model's keys minus the classifier; weights exported
from ``torchvision.models.<name>(weights=...)`` load as they are. Models are always built with
``weights=None``: nothing is downloaded.

The trunk is the model's feature children run in order, a ``nn.Sequential`` child counted
element by element. A dry run at construction measures every step's output stride and
channels; the level at stride ``s`` is the output of the last step at that stride, named
``c{log2 s}`` (``c2`` at stride 4 .. ``c5`` at stride 32). The steps after level ``i - 1`` up
to level ``i`` form stage ``i``, which :meth:`TorchvisionBackbone.forward_stage` runs alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torchvision import models

from perception.model.backbones.staged_backbone import StagedBackbone
from perception.model.feature_spec import FeatureLevel, FeatureSpec

LEVEL_STRIDES = (4, 8, 16, 32)
"""The strides the backbone reports, finest first."""

DRY_RUN_SIZE = 64
"""Side of the square input of the construction dry run (a multiple of the largest stride)."""

RESNET_TRUNK = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
FEATURES_TRUNK = ("features",)

ARCHITECTURES: dict[str, tuple[Callable[..., nn.Module], tuple[str, ...]]] = {
    "resnet18": (models.resnet18, RESNET_TRUNK),
    "resnet34": (models.resnet34, RESNET_TRUNK),
    "resnet50": (models.resnet50, RESNET_TRUNK),
    "mobilenet_v3_large": (models.mobilenet_v3_large, FEATURES_TRUNK),
    "mobilenet_v3_small": (models.mobilenet_v3_small, FEATURES_TRUNK),
    "efficientnet_b0": (models.efficientnet_b0, FEATURES_TRUNK),
}
"""Torchvision model name -> (its builder, the names of the children that form the trunk)."""

TORCHVISION_ARCHITECTURES = tuple(ARCHITECTURES)


class TorchvisionBackbone(StagedBackbone):
    """A torchvision network's trunk returning levels ``c2`` .. ``c5`` (strides 4 .. 32).

    Args:
        architecture: one of :data:`TORCHVISION_ARCHITECTURES`, e.g. ``"resnet18"``.

    Attributes:
        feature_spec: the levels with their true channels (e.g. 64, 128, 256, 512 for resnet18).
        ignored_weight_prefixes: key prefixes of the torchvision classifier the trunk dropped
            (``fc.``, ``classifier.``, ...), skipped when loading a torchvision state dict.
    """

    def __init__(self, architecture: str) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown torchvision architecture {architecture!r}; "
                f"use one of {list(TORCHVISION_ARCHITECTURES)}"
            )
        build, trunk = ARCHITECTURES[architecture]
        network = build(weights=None)
        children = dict(network.named_children())
        for name in trunk:
            self.add_module(name, children[name])
        self.architecture = architecture
        self.ignored_weight_prefixes = tuple(f"{name}." for name in children if name not in trunk)
        self._stages, self.feature_spec = self._tap_levels(_step_paths(self, trunk))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Stage ``index``: the trunk's steps between level ``index - 1`` and level ``index``."""
        if index == 0:
            self.check_images(x)
        for path in self._stages[index]:
            x = self.get_submodule(path)(x)
        return x

    def _tap_levels(self, paths: list[str]) -> tuple[tuple[tuple[str, ...], ...], FeatureSpec]:
        """Dry-run ``paths`` to find the last step at each stride; return the steps up to the
        coarsest level grouped into stages (stage ``i`` ends with the step that produces level
        ``i``) and the feature spec."""
        was_training = self.training
        self.eval()
        last_step_at: dict[int, tuple[int, int]] = {}
        with torch.no_grad():
            x = torch.zeros(1, 3, DRY_RUN_SIZE, DRY_RUN_SIZE)
            for index, path in enumerate(paths):
                x = self.get_submodule(path)(x)
                stride = DRY_RUN_SIZE // x.shape[-1]
                if stride in LEVEL_STRIDES:
                    last_step_at[stride] = (index, x.shape[1])
        self.train(was_training)
        missing = [stride for stride in LEVEL_STRIDES if stride not in last_step_at]
        if missing:
            raise ValueError(f"{self.architecture} has no output at strides {missing}")
        levels = []
        stages = []
        start = 0
        for stride in LEVEL_STRIDES:
            index, channels = last_step_at[stride]
            levels.append(FeatureLevel(f"c{int(math.log2(stride))}", channels, stride))
            stages.append(tuple(paths[start : index + 1]))
            start = index + 1
        return tuple(stages), FeatureSpec(tuple(levels))


def _step_paths(module: nn.Module, trunk: tuple[str, ...]) -> list[str]:
    """Dotted paths of the trunk's steps in order: a ``nn.Sequential`` child element-wise."""
    paths = []
    for name in trunk:
        child = module.get_submodule(name)
        if isinstance(child, nn.Sequential):
            paths.extend(f"{name}.{index}" for index in range(len(child)))
        else:
            paths.append(name)
    return paths
