"""Dynamic Weight Average (DWA): weigh each task by how slowly its loss has been falling.

Liu, Johns & Davison (2019), "End-to-End Multi-Task Learning with Attention", CVPR.

The update rule as implemented, with ``K`` tasks and temperature ``T`` (option
``temperature``, default 2 as in the paper):

    w_i(t) = K * exp(r_i(t-1) / T) / sum_j exp(r_j(t-1) / T),   r_i(t-1) = L_i(t-1) / L_i(t-2)

so the weights always sum to ``K``, and the task whose loss fell least (largest ratio) gets the
largest weight. The paper's ``L_i(t)`` is task ``i``'s loss averaged over epoch ``t``; the
trainer has no epoch callback, so here ``t`` counts windows of ``window`` consecutive steps
(option, default 50) instead, and ``L_i(t)`` is the mean loss over window ``t``. Until two windows
have been completed every ratio is taken as 1, which gives every weight 1 (the paper's
``w_i = 1`` for the first two epochs).

Steps in which a task's loss is exactly zero (no labels in the batch) are left out of that task's
window mean; a task with no labelled step in either of the last two windows keeps ratio 1.
The running sums and the last two window means are buffers, so a resumed run continues the same
schedule.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.loss_vector import loss_vector
from perception.balancing.options import check_option_names, option_count, option_number

SUMMARY = "weights from the ratio of each task's last two window-mean losses (Liu et al. 2019)"


class DynamicWeightAverage(Balancer):
    """DWA over windows of ``window`` steps.

    Args:
        task_names: the tasks in a fixed order.
        temperature: ``T``; larger values make the weights more even.
        window: steps averaged into one ``L_i(t)``.
    """

    def __init__(self, task_names: list[str], temperature: float = 2.0, window: int = 50) -> None:
        super().__init__(task_names)
        self.temperature = temperature
        self.window = window
        count = len(self.task_names)
        self.register_buffer("window_sums", torch.zeros(count, dtype=torch.float64))
        self.register_buffer("window_counts", torch.zeros(count, dtype=torch.long))
        self.register_buffer("window_steps", torch.zeros((), dtype=torch.long))
        # (2, K): the means of windows t-2 and t-1; NaN where a task had no labelled step.
        self.register_buffer(
            "recent_means", torch.full((2, count), float("nan"), dtype=torch.float64)
        )
        self.window_sums: torch.Tensor
        self.window_counts: torch.Tensor
        self.window_steps: torch.Tensor
        self.recent_means: torch.Tensor

    def current_weights(self) -> torch.Tensor:
        """``(K,)`` weights for the current window, in :attr:`task_names` order."""
        older, newer = self.recent_means
        known = torch.isfinite(older) & torch.isfinite(newer) & (older > 0)
        ratios = torch.where(known, newer / older.where(known, 1.0), 1.0)
        return len(self.task_names) * torch.softmax(ratios / self.temperature, dim=0)

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        stacked, labelled = loss_vector(losses, self.task_names)
        weights = self.current_weights()
        (weights.to(stacked.dtype) * stacked).sum().backward()
        self._accumulate(stacked.detach(), labelled)
        return dict(zip(self.task_names, weights.tolist(), strict=True))

    def _accumulate(self, values: torch.Tensor, labelled: torch.Tensor) -> None:
        """Add one step's ``(K,)`` losses of the ``(K,)`` ``labelled`` tasks to the window;
        close the window when it is full."""
        self.window_sums += torch.where(labelled, values, 0.0).to(self.window_sums)
        self.window_counts += labelled.to(self.window_counts)
        self.window_steps += 1
        if int(self.window_steps) < self.window:
            return
        counts = self.window_counts.to(self.window_sums)
        means = torch.where(
            self.window_counts > 0, self.window_sums / counts.clamp_min(1), torch.nan
        )
        self.recent_means.copy_(torch.stack([self.recent_means[1], means]))
        self.window_sums.zero_()
        self.window_counts.zero_()
        self.window_steps.zero_()

    def describe(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "temperature": self.temperature,
            "window": self.window,
        }


def build_dwa(task_names: list[str], **options: object) -> DynamicWeightAverage:
    """Options: ``temperature`` (> 0, default 2), ``window`` (steps per average, default 50)."""
    check_option_names("dwa", options, ("temperature", "window"))
    temperature = option_number(
        "dwa", "temperature", options.get("temperature", 2.0), positive=True
    )
    window = option_count("dwa", "window", options.get("window", 50))
    return DynamicWeightAverage(task_names, temperature=temperature, window=window)
