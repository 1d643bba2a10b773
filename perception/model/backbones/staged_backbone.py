"""A backbone run as a chain of stages, one per output level.

Subclasses set ``feature_spec`` and implement :meth:`StagedBackbone.forward_stage`; ``forward``
is those stages chained, so the two cannot drift apart (soft sharing's cross-stitch units call
the stages one by one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from perception.model.feature_spec import FeatureSpec


class StagedBackbone(nn.Module, ABC):
    """Maps normalised images ``(B, 3, H, W)`` to ``{level: (B, C_level, H/s, W/s)}``."""

    feature_spec: FeatureSpec

    @abstractmethod
    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run the layers between level ``index - 1`` and level ``index`` (for ``index`` 0: the
        normalised images ``(B, 3, H, W)`` to the first level), e.g. for stitching tasks'
        features between levels. Stage 0 should call :meth:`check_images`."""

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Map normalised images ``(B, 3, H, W)`` to ``{level: (B, C_level, H/s, W/s)}``."""
        features: dict[str, torch.Tensor] = {}
        x = images
        for index, level in enumerate(self.feature_spec.levels):
            x = self.forward_stage(index, x)
            features[level.name] = x
        return features

    @staticmethod
    def check_images(images: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``images`` is ``(B, 3, H, W)``."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
