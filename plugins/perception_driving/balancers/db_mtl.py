"""DB-MTL: balance loss scales with a log transform and gradient magnitudes by normalisation.

Lin, Ye, Xu, Shi & Zhang (2023), "Dual-Balancing for Multi-Task Learning", arXiv:2308.12029.

The update rule as implemented, for T tasks and all shared parameters
(``gradient_scope = "all"``), at step ``t = 1, 2, ...``:

1. Loss-scale balancing: each task is trained on ``log(L_i + eps)`` (``eps = 1e-8``) instead of
   ``L_i``; ``g_i`` is the gradient of ``log(L_i + eps)`` with respect to the shared parameters.
2. Each ``g_i`` feeds an exponential moving average kept in a buffer,
   ``m_i <- beta_t m_i + (1 - beta_t) g_i`` with ``m_i = 0`` at the start and
   ``beta_t = beta / t^beta_sigma`` (options ``beta``, default 0.9, and ``beta_sigma``, default
   0.5; the authors' implementation decays ``beta`` this way, ``beta_sigma = 0`` keeps it
   constant as in the paper's algorithm box).
3. Gradient-magnitude balancing: ``alpha_i = max_j ||m_j|| / ||m_i||``, so every scaled
   ``alpha_i m_i`` has the norm of the largest moving average (the paper's choice of the
   maximum, so that no task's update shrinks).
4. The shared parameters receive ``sum_i alpha_i m_i``; every other parameter (the task heads)
   receives the gradient of ``sum_i log(L_i + eps)``.

The weights returned are the ``alpha_i``: the scale each task's moving-average log-loss gradient
gets on the shared parameters (so with ``beta = 0``, task ``i``'s raw loss gradient is scaled by
``alpha_i / (L_i + eps)`` there).

A task whose loss is exactly zero had no labels in the batch: its moving average is left as it
was and it is left out of this step's sum (``alpha_i = 0``), so a stale direction is not
rescaled to the largest norm. A task whose moving average is still zero also gets
``alpha_i = 0``.

State: the step counter and the ``(T, P)`` moving averages are buffers, so a resumed run
continues exactly; the averages make the balancer's checkpoint entry T times the size of the
shared gradient (e.g. 6 tasks x 11 M parameters = 264 MB in float32).

Cost per step: T ``autograd.grad`` passes through the shared network, then one backward through
the heads (see :mod:`perception.balancing.task_gradients`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.loss_vector import loss_vector
from perception.balancing.options import check_option_names, option_number
from perception.balancing.task_gradients import backward_combined
from perception.errors import ConfigError

SUMMARY = "log-transformed losses and norm-equalised task gradients (DB-MTL, Lin et al. 2023)"

LOG_EPS = 1e-8
"""Added to each loss before its log."""


def balance_magnitudes(averages: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """DB-MTL's scales ``alpha_i = max_j ||m_j|| / ||m_i||`` over the ``present`` tasks.

    Args:
        averages: ``(T, P)`` moving-average gradients ``m_i``.
        present: ``(T,)`` bool, the tasks that take part in this step.

    Returns:
        ``(T,)`` scales; 0 for an absent task or one whose average is zero.
    """
    norms = averages.norm(dim=1)
    usable = present & (norms > 0)
    largest = torch.where(usable, norms, 0.0).max()
    return torch.where(usable, largest / norms.clamp_min(torch.finfo(norms.dtype).tiny), 0.0)


class DualBalancing(Balancer):
    """DB-MTL over all shared parameters.

    Args:
        task_names: the tasks in a fixed order.
        beta: moving-average factor of the task gradients at step 1.
        beta_sigma: decay exponent of the factor, ``beta_t = beta / t^beta_sigma``.
    """

    needs_task_gradients = True
    gradient_scope = "all"

    def __init__(self, task_names: list[str], beta: float = 0.9, beta_sigma: float = 0.5) -> None:
        super().__init__(task_names)
        self.beta = beta
        self.beta_sigma = beta_sigma
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        # (T, P) moving averages; P is known at the first call (or from a loaded state).
        self.register_buffer("gradient_averages", torch.zeros(len(self.task_names), 0))
        self.steps: torch.Tensor
        self.gradient_averages: torch.Tensor
        self.register_load_state_dict_pre_hook(_resize_averages)

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        labelled = loss_vector(losses, self.task_names).labelled
        log_losses = [torch.log(losses[name] + LOG_EPS) for name in self.task_names]
        combine = partial(self._balance, labelled)
        scales = backward_combined(log_losses, shared_parameters or [], combine)
        return dict(zip(self.task_names, scales.tolist(), strict=True))

    def _balance(
        self, labelled: torch.Tensor, gradients: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold the ``(T, P)`` log-loss ``gradients`` of the ``(T,)`` ``labelled`` tasks into
        the moving averages; return the ``(P,)`` balanced sum and the ``(T,)`` scales."""
        if self.gradient_averages.shape != gradients.shape:
            self.gradient_averages = torch.zeros_like(gradients)
        self.steps += 1
        beta = self.beta / float(self.steps) ** self.beta_sigma
        present = labelled.to(gradients.device)
        blended = torch.lerp(gradients, self.gradient_averages, beta)
        self.gradient_averages.copy_(torch.where(present[:, None], blended, self.gradient_averages))
        scales = balance_magnitudes(self.gradient_averages, present)
        return scales @ self.gradient_averages, scales

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "beta": self.beta, "beta_sigma": self.beta_sigma}


def _resize_averages(
    module: nn.Module, state_dict: Mapping[str, Any], prefix: str, *args: object
) -> None:
    """Give the moving-average buffer the shape of the one being loaded (P is set lazily)."""
    assert isinstance(module, DualBalancing)
    loaded = state_dict.get(prefix + "gradient_averages")
    if isinstance(loaded, torch.Tensor) and loaded.shape != module.gradient_averages.shape:
        module.gradient_averages = torch.zeros_like(loaded, device=module.gradient_averages.device)


def build_db_mtl(task_names: list[str], **options: object) -> DualBalancing:
    """Options: ``beta`` (in [0, 1), default 0.9), ``beta_sigma`` (>= 0, default 0.5)."""
    check_option_names("db_mtl", options, ("beta", "beta_sigma"))
    beta = option_number("db_mtl", "beta", options.get("beta", 0.9), positive=False)
    if beta >= 1:
        raise ConfigError(f"balancer 'db_mtl': option 'beta' must be below 1, got {beta!r}")
    beta_sigma = option_number(
        "db_mtl", "beta_sigma", options.get("beta_sigma", 0.5), positive=False
    )
    return DualBalancing(task_names, beta=beta, beta_sigma=beta_sigma)
