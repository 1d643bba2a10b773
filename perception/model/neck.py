"""The multi-scale neck: a feature pyramid that gives every backbone level the same width.

Heads are built from the neck's :class:`FeatureSpec`, so they see the same channel count
whichever backbone runs underneath.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import FeaturePyramidNetwork

from perception.model.feature_spec import FeatureLevel, FeatureSpec


class FPNNeck(nn.Module):
    """A feature pyramid network (Lin et al., 2017) over the backbone's levels.

    Each input level gets a 1x1 lateral convolution to ``channels``, the coarser result is
    upsampled (nearest) and added, and a 3x3 convolution smooths the sum. The output level of
    stride ``s`` is named ``p{log2 s}`` (``c2`` at stride 4 becomes ``p2``).

    Args:
        in_spec: the backbone's feature spec; strides must be powers of two.
        channels: output channels of every level.

    Attributes:
        feature_spec: the output levels, ``channels`` wide, at the input strides.
    """

    def __init__(self, in_spec: FeatureSpec, channels: int) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"neck channels must be at least 1, got {channels}")
        for level in in_spec.levels:
            if level.stride < 1 or level.stride & (level.stride - 1):
                raise ValueError(f"level {level.name!r} has stride {level.stride}; need 2**k")
        self.in_spec = in_spec
        self.feature_spec = FeatureSpec(
            tuple(
                FeatureLevel(f"p{level.stride.bit_length() - 1}", channels, level.stride)
                for level in in_spec.levels
            )
        )
        self.pyramid = FeaturePyramidNetwork([level.channels for level in in_spec.levels], channels)

    def output_parameters(self) -> list[nn.Parameter]:
        """The parameters of the 3x3 output convolutions: the last layer every head shares."""
        return list(self.pyramid.layer_blocks.parameters())

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map ``{in_level: (B, C_in, H/s, W/s)}`` to ``{out_level: (B, channels, H/s, W/s)}``."""
        missing = [name for name in self.in_spec.names if name not in features]
        if missing:
            raise KeyError(f"neck input lacks levels {missing}; got {sorted(features)}")
        ordered = {name: features[name] for name in self.in_spec.names}
        pyramid = self.pyramid(ordered)
        return {
            out_name: pyramid[in_name]
            for in_name, out_name in zip(self.in_spec.names, self.feature_spec.names, strict=True)
        }
