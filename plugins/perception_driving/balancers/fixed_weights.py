"""Fixed weights: ``L = sum_i w_i L_i`` with hand-chosen weights from the config.

The classic hand-tuned scalarisation every adaptive balancer tries to replace: option
``weights`` maps task names to numbers >= 0; tasks it leaves out keep weight 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.options import check_option_names, option_per_task

SUMMARY = "weighted sum of the task losses with fixed weights from the config (default 1)"


class FixedWeights(Balancer):
    """``L = sum_i w_i L_i`` with ``w_i`` fixed for the whole run.

    Args:
        task_names: the tasks in a fixed order.
        weights: ``{task: weight >= 0}``; a task left out gets 1.
    """

    def __init__(self, task_names: list[str], weights: Mapping[str, float] | None = None) -> None:
        super().__init__(task_names)
        given = dict(weights or {})
        self.weights = {name: float(given.get(name, 1.0)) for name in self.task_names}

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        total = sum(self.weights[name] * losses[name] for name in self.task_names)
        assert isinstance(total, torch.Tensor)
        total.backward()
        return dict(self.weights)

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "weights": dict(self.weights)}


def build_fixed(task_names: list[str], **options: object) -> FixedWeights:
    """Options: ``weights`` (``{task: number >= 0}``, default 1 for every task)."""
    check_option_names("fixed", options, ("weights",))
    weights = option_per_task("fixed", "weights", options.get("weights", {}), task_names)
    return FixedWeights(task_names, weights)
