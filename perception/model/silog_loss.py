"""Scale-invariant logarithmic (SILog) loss for dense depth.

Eigen, Puhrsch and Fergus, "Depth Map Prediction from a Single Image using a Multi-Scale Deep
Network" (NeurIPS 2014), eq. 4, with ``d_i = log y_i - log y*_i`` over the ``n`` valid pixels of
one image::

    D = 1/n sum d_i^2 - lambda / n^2 (sum d_i)^2

``lambda = 1`` makes ``D`` blind to a global scale of the prediction, ``lambda = 0`` is plain
log-space MSE. Following BTS (Lee et al., "From Big to Small: Multi-Scale Local Planar Guidance
for Monocular Depth Estimation", 2019) we use ``lambda = 0.85`` (mostly scale-invariant, with some
weight on getting the absolute scale right) and return ``10 * sqrt(D)``.

Unlike BTS, which pools the pixels of the whole batch, ``D`` is computed per image (Eigen's
definition: each image has its own unknown scale) and averaged over the images that have at
least one valid pixel.
"""

from __future__ import annotations

import math

import torch

_SQRT_EPS = 1e-12
"""Added under the square root so its gradient stays finite at a perfect prediction."""


def silog_loss(
    log_depth: torch.Tensor,
    target_depth: torch.Tensor,
    labelled: torch.Tensor,
    variance_focus: float = 0.85,
    scale: float = 10.0,
) -> torch.Tensor:
    """Scale-invariant log loss, averaged over images.

    Args:
        log_depth: ``(B, H, W)`` predicted natural-log depth (log metres).
        target_depth: ``(B, H, W)`` ground-truth depth in metres; ``0`` marks unknown pixels.
        labelled: ``(B,)`` bool, the image carries depth labels at all.
        variance_focus: ``lambda`` above, in ``[0, 1]``.
        scale: factor on the square root (10 as in BTS).

    Returns:
        Scalar loss. A pixel is valid when its target is ``> 0`` and its image is labelled. With
        no valid pixel anywhere the result is an exact zero that still depends on ``log_depth``.
    """
    if log_depth.shape != target_depth.shape or log_depth.dim() != 3:
        raise ValueError(
            f"log_depth {tuple(log_depth.shape)} and target_depth {tuple(target_depth.shape)} "
            "must both be (B, H, W)"
        )
    if labelled.shape != log_depth.shape[:1]:
        raise ValueError(
            f"labelled must be (B,) = {tuple(log_depth.shape[:1])}, got {tuple(labelled.shape)}"
        )
    if not 0.0 <= variance_focus <= 1.0:
        raise ValueError(f"variance_focus must be in [0, 1], got {variance_focus}")
    valid = (target_depth > 0) & labelled.to(torch.bool).reshape(-1, 1, 1)
    weight = valid.to(log_depth.dtype)
    safe_target = torch.where(valid, target_depth, torch.ones_like(target_depth))
    log_target = torch.log(safe_target).to(log_depth.dtype)
    difference = torch.where(valid, log_depth - log_target, torch.zeros_like(log_depth))
    count = weight.sum(dim=(1, 2))
    has_pixels = count > 0
    if not bool(has_pixels.any()):
        return log_depth.sum() * 0.0
    count = count.clamp(min=1.0)
    mean_square = (difference**2).sum(dim=(1, 2)) / count
    mean = difference.sum(dim=(1, 2)) / count
    # clamp: with lambda = 1 the two terms cancel exactly and rounding may go slightly negative.
    spread = (mean_square - variance_focus * mean**2).clamp(min=0.0)
    per_image = scale * (torch.sqrt(spread + _SQRT_EPS) - math.sqrt(_SQRT_EPS))
    return per_image[has_pixels].mean()
