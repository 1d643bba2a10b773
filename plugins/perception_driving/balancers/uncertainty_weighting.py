"""Uncertainty weighting: each task's loss is scaled by a learned homoscedastic noise variance.

Kendall, Gal & Cipolla (2018), "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene
Geometry and Semantics", CVPR.

Each task owns a learnable log-variance ``s_i = log sigma_i^2`` (an ``nn.Parameter``, initialised
to 0, trained by the run's optimizer together with the model). The objective implemented is

    L = sum_i exp(-s_i) * L_i + s_i

and the weight reported for task ``i`` is ``exp(-s_i)``.

Choice of form: the paper writes ``1 / (2 sigma^2) * L + log sigma`` for a Gaussian (regression)
likelihood and ``1 / sigma^2 * L + log sigma`` for a softmax (classification) one. The core only
knows "tasks", not their likelihoods, so one form is used for all of them: the regression form
multiplied by 2, ``exp(-s) * L + s``. For a task whose loss is a mean squared error it is twice
the Gaussian negative log-likelihood, so its minimum over ``s`` lies at ``exp(s) = L``: the learned
variance settles at the task's residual variance. The factor 2 scales every task alike and so
does not change the balance between tasks, only the overall step size.

A task whose loss is exactly zero had no labels in the batch; it tells nothing about its noise,
so its ``s_i`` term is left out for that step (``exp(-s_i) * 0`` still carries the loss's
gradient path, and ``s_i`` gets a zero gradient instead of being pulled towards minus infinity).
"""

from __future__ import annotations

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.loss_vector import loss_vector
from perception.balancing.options import check_option_names

SUMMARY = "learned per-task noise variances weigh the losses (Kendall, Gal & Cipolla 2018)"


class UncertaintyWeighting(Balancer):
    """``L = sum_i exp(-s_i) L_i + s_i`` with learnable ``s_i = log sigma_i^2``.

    Attributes:
        log_variances: ``(T,)`` parameter, ``s_i`` in :attr:`task_names` order.
    """

    def __init__(self, task_names: list[str]) -> None:
        super().__init__(task_names)
        self.log_variances = nn.Parameter(torch.zeros(len(self.task_names)))

    def variances(self) -> dict[str, float]:
        """``{task: sigma_i^2}`` as learned so far."""
        values = self.log_variances.detach().exp().tolist()
        return dict(zip(self.task_names, values, strict=True))

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        stacked, labelled = loss_vector(losses, self.task_names)
        log_variances = self.log_variances.to(stacked.dtype)
        noise_terms = labelled.to(stacked.dtype) * log_variances
        total = (torch.exp(-log_variances) * stacked + noise_terms).sum()
        total.backward()
        weights = torch.exp(-log_variances.detach()).tolist()
        return dict(zip(self.task_names, weights, strict=True))


def build_uncertainty(task_names: list[str], **options: object) -> UncertaintyWeighting:
    """Takes no options: the log-variances start at 0 (every weight 1)."""
    check_option_names("uncertainty", options, ())
    return UncertaintyWeighting(task_names)
