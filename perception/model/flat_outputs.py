"""A multi-task model's decoded predictions as one flat, named set of tensors
(``"<head>.<output>"``), the form both an exported graph and the inference engines use."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class FlatOutputs(nn.Module):
    """Wraps a multi-task model so its eval forward returns a flat tuple of tensors.

    Args:
        model: a hard- or soft-sharing multi-task model; its eval forward maps ``(B, 3, H, W)``
            RGB to ``{head: {output: tensor}}``.
        heads: the heads to keep, in output order.
        half: ``model`` holds float16 weights: cast the float32 images to float16 on the way in
            and floating-point outputs back to float32 on the way out.
    """

    def __init__(self, model: nn.Module, heads: Sequence[str], half: bool = False) -> None:
        super().__init__()
        self.model = model
        self.heads = list(heads)
        self.half_precision = half

    def named(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"<head>.<output>": tensor}`` for float32 ``images`` ``(B, 3, H, W)``, in output
        order; floating-point outputs are float32."""
        decoded = self.model(images.half() if self.half_precision else images)
        return {
            f"{head}.{output}": value.float() if value.is_floating_point() else value
            for head in self.heads
            for output, value in decoded[head].items()
        }

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The values of :meth:`named`, in the same order."""
        return tuple(self.named(images).values())
