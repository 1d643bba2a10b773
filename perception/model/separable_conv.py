"""The depthwise-separable 3x3 block that the task heads read the shared features through.

A 3x3 convolution factored into a per-channel (depthwise) 3x3 and a 1x1 (pointwise) mix, as in
MobileNets (Howard et al., 2017): with 64 channels at stride 4 it costs about an eighth of the
multiply-adds of a full 3x3, so each head adds little to the shared backbone's latency, which
is what hard parameter sharing is meant to buy.
"""

from __future__ import annotations

from torch import nn


def separable_conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """``(B, in_channels, h, w) -> (B, out_channels, h, w)``: depthwise 3x3, pointwise 1x1,
    batch norm, ReLU. Exporters fold the batch norm into the pointwise convolution."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )
