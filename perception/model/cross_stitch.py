"""The cross-stitch unit (Misra, Shrivastava, Gupta & Hebert 2016, "Cross-stitch Networks for
Multi-task Learning", CVPR).

Given the feature maps that T task networks produce at the same level, a cross-stitch unit
replaces each task's map by a learned linear combination of all tasks' maps:

    x~_i = sum_j alpha[i, j] * x_j

The paper writes the unit for two tasks as a 2x2 matrix of alphas applied at every location of
the activation maps. This unit generalises it to T tasks and learns one T x T matrix **per
channel** (``alpha`` has shape ``(T, T, C)``), which contains per-level mixing as the case where
every channel holds the same matrix. Like the paper's units it starts as a convex combination
``(alpha_S, alpha_D)``: ``self_weight`` on the diagonal and ``1 - self_weight`` spread evenly over
the other tasks, so every row sums to 1 and each task starts mostly on its own features.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_SELF_WEIGHT = 0.9
"""0.9 on the task itself and 0.1 spread over the others: a convex combination, as the paper
initialises its units."""


class CrossStitch(nn.Module):
    """Mix T tasks' feature maps of one level, channel by channel.

    Args:
        num_tasks: T, at least 1.
        channels: C, the channels of the level's feature maps.
        self_weight: initial ``alpha[i, i]``; the off-diagonal entries start at
            ``(1 - self_weight) / (T - 1)``. ``1.0`` makes the unit start as the identity (as
            does a single task, whatever ``self_weight``).

    Attributes:
        alpha: ``(T, T, C)`` mixing weights; ``alpha[i, j, c]`` is how much of task ``j``'s
            channel ``c`` goes into task ``i``'s channel ``c``.
    """

    def __init__(
        self, num_tasks: int, channels: int, self_weight: float = DEFAULT_SELF_WEIGHT
    ) -> None:
        super().__init__()
        if num_tasks < 1 or channels < 1:
            raise ValueError(f"need at least one task and channel, got {num_tasks}, {channels}")
        if not 0.0 <= self_weight <= 1.0:
            raise ValueError(f"self_weight must be in [0, 1], got {self_weight}")
        other_weight = (1.0 - self_weight) / (num_tasks - 1) if num_tasks > 1 else 0.0
        init = torch.full((num_tasks, num_tasks), other_weight)
        init.fill_diagonal_(self_weight if num_tasks > 1 else 1.0)
        self.alpha = nn.Parameter(init.unsqueeze(-1).repeat(1, 1, channels))

    @property
    def num_tasks(self) -> int:
        return self.alpha.shape[0]

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """Map T tensors ``(B, C, H, W)`` (one per task, in task order) to T mixed tensors of the
        same shape."""
        if len(features) != self.num_tasks:
            raise ValueError(f"expected {self.num_tasks} feature maps, got {len(features)}")
        stacked = torch.stack(features)
        mixed = torch.einsum("ijc,jbchw->ibchw", self.alpha.to(stacked.dtype), stacked)
        return list(mixed.unbind(0))
