"""Penalty-reduced pixel-wise focal loss for CenterNet heatmaps (Zhou et al. 2019, eq. 1).

Cells whose target is exactly 1 are object centres (positives); every other cell is a negative
whose penalty is reduced by ``(1 - target) ** beta`` near a centre, so the gaussian splat around
an object is not punished as hard as the background.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def centernet_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 4.0,
) -> torch.Tensor:
    """Focal loss summed over cells and divided by the number of positive cells.

    Args:
        logits: ``(B, C, h, w)`` raw heatmap scores (before the sigmoid).
        target: ``(B, C, h, w)`` gaussian heatmap in ``[0, 1]``; cells equal to 1 are centres.
        weight: ``(B,)`` per-sample float mask (1 = labelled, 0 = ignore the sample).
        alpha: focusing exponent on the prediction error.
        beta: exponent of the penalty reduction around centres.

    Returns:
        Scalar loss in float32 (whatever the input precision), normalised by the weighted count
        of positive cells (clamped to at least 1).
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    if weight.shape != logits.shape[:1]:
        raise ValueError(
            f"weight must be (B,) = {tuple(logits.shape[:1])}, got {tuple(weight.shape)}"
        )
    logits = logits.float()
    target = target.float()
    sample_weight = weight.float().reshape(-1, 1, 1, 1)
    positive = (target >= 1.0).float()
    probability = torch.sigmoid(logits)
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    positive_loss = positive * (1.0 - probability) ** alpha * log_p
    negative_loss = (1.0 - positive) * (1.0 - target) ** beta * probability**alpha * log_not_p
    total = -((positive_loss + negative_loss) * sample_weight).sum()
    count = (positive * sample_weight).sum().clamp(min=1.0)
    return total / count
