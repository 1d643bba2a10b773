"""GradNorm: learn task weights that equalise the tasks' gradient norms on the last shared layer.

Chen, Badrinarayanan, Lee & Rabinovich (2018), "GradNorm: Gradient Normalization for Adaptive
Loss Balancing in Deep Multitask Networks", ICML.

The update rule as implemented, for T tasks with weights ``w_i`` (initialised to 1) and the last
shared layer ``W`` (``gradient_scope = "last"``: the neck's output convolutions):

1. ``L_i(0)``, each task's first positive loss, is stored in a buffer.
2. ``G_i = ||grad_W (w_i L_i)|| = w_i ||grad_W L_i||``; ``G_mean`` is their mean.
3. ``L~_i = L_i(t) / L_i(0)`` and the inverse training rate ``r_i = L~_i / mean_j L~_j``: a task
   whose loss falls slower than the others has ``r_i > 1``.
4. The GradNorm loss ``L_grad = sum_i |G_i - G_mean * r_i^alpha|``, with the target
   ``G_mean * r_i^alpha`` held constant, has the gradient
   ``dL_grad/dw_i = sign(G_i - target_i) * ||grad_W L_i||``; it is computed in closed form, so no
   second-order graph is built.
5. The model's step uses ``sum_i w_i(t) L_i`` (the weights before this step's update; they are
   the ones returned), backpropagated once through the whole network.
6. ``w`` takes one Adam step (:class:`~perception.balancing.buffer_adam.BufferAdam`, learning
   rate ``weight_lr``, default 0.025) on ``dL_grad/dw``, is floored at ``MIN_WEIGHT`` and
   renormalised so that ``sum_i w_i = T``.

Choice of optimiser: the paper updates ``w`` with the network's optimiser. Here the weights are
buffers stepped by the balancer's own Adam (its moments are buffers too), so ``state_dict`` holds
all of it and the trainer's optimizer, weight decay and learning-rate schedule never touch them.
Adam rather than SGD because ``dL_grad/dw_i`` is a raw gradient norm, whose scale varies by
orders of magnitude between networks and over training; Adam's step is about ``weight_lr``
whatever that scale, so the default suits any model.

A task whose loss is not positive this step (e.g. no labels in the batch) is left out of
``G_mean``, of ``mean_j L~_j`` and of the weight update; its weight still multiplies its loss.

Cost per step: T ``autograd.grad`` passes from each loss to ``W`` (pruned by autograd to that
task's head and ``W``, cheap next to the backbone) plus one full backward.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.buffer_adam import BufferAdam
from perception.balancing.options import check_option_names, option_number
from perception.balancing.task_gradients import task_gradients

SUMMARY = "learned weights equalise per-task gradient norms on the last shared layer (GradNorm)"

MIN_WEIGHT = 1e-3
"""Floor of a task weight before renormalisation, so a weight never turns negative."""


class GradNorm(Balancer):
    """GradNorm with weights stepped by the balancer's own Adam inside :meth:`backward`.

    Args:
        task_names: the tasks in a fixed order.
        alpha: strength of the pull towards equal training rates (the paper's asymmetry).
        weight_lr: Adam learning rate of the task weights.
    """

    needs_task_gradients = True
    gradient_scope = "last"

    def __init__(self, task_names: list[str], alpha: float = 1.5, weight_lr: float = 0.025) -> None:
        super().__init__(task_names)
        self.alpha = alpha
        count = len(self.task_names)
        self.register_buffer("weights", torch.ones(count))
        # L_i(0); 0 until the task's first positive loss.
        self.register_buffer("initial_losses", torch.zeros(count))
        self.adam = BufferAdam(count, lr=weight_lr)
        self.weights: torch.Tensor
        self.initial_losses: torch.Tensor

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        ordered = [losses[name] for name in self.task_names]
        current = torch.stack([loss.detach() for loss in ordered]).to(self.weights)
        unset = (self.initial_losses == 0) & (current > 0)
        self.initial_losses.copy_(torch.where(unset, current, self.initial_losses))
        # (T,) norms ||grad_W L_i|| of the unweighted losses.
        norms = task_gradients(ordered, shared_parameters or []).matrix.norm(dim=1).to(self.weights)

        used = self.weights.clone()
        total = sum(weight * loss for weight, loss in zip(used.tolist(), ordered, strict=True))
        assert isinstance(total, torch.Tensor)
        if total.requires_grad:
            total.backward()

        active = (current > 0) & (self.initial_losses > 0)
        if bool(active.any()):
            self._update_weights(self._gradnorm_gradient(current, norms, active), active)
        return dict(zip(self.task_names, used.tolist(), strict=True))

    def _gradnorm_gradient(
        self, current: torch.Tensor, norms: torch.Tensor, active: torch.Tensor
    ) -> torch.Tensor:
        """``dL_grad/dw`` (``(T,)``, zero outside ``active``) with the target held constant."""
        ratios = torch.where(active, current / self.initial_losses.clamp_min(1e-12), 0.0)
        inverse_rates = ratios / ratios[active].mean()
        grad_norms = self.weights * norms
        targets = grad_norms[active].mean() * inverse_rates.pow(self.alpha)
        return torch.where(active, torch.sign(grad_norms - targets) * norms, 0.0)

    def _update_weights(self, gradient: torch.Tensor, active: torch.Tensor) -> None:
        """One Adam step on the active tasks' weights, then floor and renormalise to sum T."""
        step = self.adam.step(gradient)
        updated = (self.weights - torch.where(active, step, 0.0)).clamp_min(MIN_WEIGHT)
        self.weights.copy_(updated * len(self.task_names) / updated.sum())

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "alpha": self.alpha, "weight_lr": self.adam.lr}


def build_gradnorm(task_names: list[str], **options: object) -> GradNorm:
    """Options: ``alpha`` (>= 0, default 1.5), ``weight_lr`` (> 0, default 0.025)."""
    check_option_names("gradnorm", options, ("alpha", "weight_lr"))
    return GradNorm(
        task_names,
        alpha=option_number("gradnorm", "alpha", options.get("alpha", 1.5), positive=False),
        weight_lr=option_number(
            "gradnorm", "weight_lr", options.get("weight_lr", 0.025), positive=True
        ),
    )
