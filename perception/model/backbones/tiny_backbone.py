"""A small, fast CNN backbone for tests and quick runs (random init, no pretrained weights)."""

from __future__ import annotations

import torch
from torch import nn

from perception.model.backbones.staged_backbone import StagedBackbone
from perception.model.feature_spec import FeatureLevel, FeatureSpec


def conv_bn_relu(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """3x3 convolution (padding 1, no bias), batch norm, ReLU: ``(B, C_in, H, W)`` to
    ``(B, C_out, H / stride, W / stride)``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class TinyBackbone(StagedBackbone):
    """A stride-2 stem and four stages of two conv-BN-ReLU layers (the first of stride 2).

    Levels ``c2`` .. ``c5`` at strides 4, 8, 16, 32 have ``width``, ``2 * width``,
    ``4 * width`` and ``8 * width`` channels.

    Args:
        width: channels of the stem and of the finest level; at least 1.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be at least 1, got {width}")
        self.stem = conv_bn_relu(3, width, stride=2)
        levels = []
        stages = []
        in_channels = width
        for index in range(4):
            out_channels = width * 2**index
            stages.append(
                nn.Sequential(
                    conv_bn_relu(in_channels, out_channels, stride=2),
                    conv_bn_relu(out_channels, out_channels, stride=1),
                )
            )
            levels.append(FeatureLevel(f"c{index + 2}", out_channels, stride=4 * 2**index))
            in_channels = out_channels
        self.stages = nn.ModuleList(stages)
        self.feature_spec = FeatureSpec(tuple(levels))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Stage ``index``: for 0 the stem and first stage on ``(B, 3, H, W)`` images."""
        if index == 0:
            self.check_images(x)
            x = self.stem(x)
        return self.stages[index](x)
