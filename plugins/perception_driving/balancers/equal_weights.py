"""Equal weights: the plain sum of the task losses (the baseline every balancer is held to)."""

from __future__ import annotations

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.options import check_option_names

SUMMARY = "sum of the task losses, every weight 1"


class EqualWeights(Balancer):
    """``L = sum_i L_i``; every weight is 1."""

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        total = sum(losses[name] for name in self.task_names)
        assert isinstance(total, torch.Tensor)
        total.backward()
        return dict.fromkeys(self.task_names, 1.0)


def build_equal(task_names: list[str], **options: object) -> EqualWeights:
    check_option_names("equal", options, ())
    return EqualWeights(task_names)
