"""Batch-norm statistics for a randomly initialised model, measured on noise images.

With the initial running statistics (mean 0, variance 1) a deep random network's activations
drift layer by layer: they grow until the heads' sigmoid scores saturate at exactly 1.0, or
shrink until every score sits within float rounding of the heatmap prior. Either way the top-k
peaks tie, and two runtimes break the ties differently. Statistics measured on a few noise
batches keep the activations at the scale a trained network has, which is what benchmarks and
export tests of untrained models need; the speed is the same either way.
"""

from __future__ import annotations

import torch
from torch import nn


def settle_batch_norm(
    model: nn.Module, input_size: tuple[int, int], passes: int = 4, batch: int = 4, seed: int = 0
) -> nn.Module:
    """Set every batch norm's running statistics to the plain average over ``passes`` forward
    passes of ``(batch, 3, H, W)`` noise images in ``[0, 255]`` (``input_size`` is ``(H, W)``;
    the rest of the model in eval mode); returns ``model`` in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the passes
        norm.train()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(passes):
            model(torch.rand((batch, 3, *input_size), generator=generator) * 255.0)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return model.eval()
