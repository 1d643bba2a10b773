"""CAGrad: the update that most improves the worst task, within a ball around the mean gradient.

Liu, Liu, Jin, Stone & Liu (2021), "Conflict-Averse Gradient Descent for Multi-task Learning",
NeurIPS.

The update rule as implemented, with ``g_i`` (row ``i`` of the ``(T, P)`` matrix ``J``) the
gradient of task ``i``'s loss with respect to all shared parameters (``gradient_scope = "all"``),
``g0 = mean_i g_i`` and the Gram matrix ``G = J J^T``:

1. CAGrad seeks ``max_d min_i g_i . d`` subject to ``||d - g0|| <= c ||g0||``. Its dual is
   ``min_{w in simplex} F(w) = g_w . g0 + c ||g0|| ||g_w||`` with ``g_w = sum_i w_i g_i``, which
   needs only ``G``: ``g_w . g0 = w^T G 1 / T``, ``||g_w|| = sqrt(w^T G w)``,
   ``||g0|| = sqrt(mean(G))``.
2. ``F`` is convex; it is minimised by accelerated projected gradient descent on the simplex
   (FISTA with backtracking and restarts; Euclidean projection of Duchi et al. 2008) from
   ``w = 1/T``, for at most ``SOLVER_STEPS`` steps, in float64 on the CPU (``G`` is only
   ``T x T``: about 1 ms, at most a few ms). The official code calls SciPy's SLSQP instead;
   on 300 random problems of 2 to 7 tasks, a third of them with nearly cancelling gradients
   (where ``F`` has its kink), this solver's ``F`` came within 2e-7 of SLSQP's best of several
   starts, in units of the largest squared task-gradient norm.
3. ``d = g0 + (c ||g0|| / ||g_w||) g_w``, then divided by ``1 + c^2`` as in the official code's
   default (``rescale=1``), which keeps the step length comparable across values of ``c``.
   ``c = 0`` gives the mean gradient.
4. The shared parameters receive ``d``; every other parameter (the task heads) receives the
   gradient of ``sum_i L_i``, as in the official implementation.

``d`` is a linear combination of the task gradients, ``d = sum_i a_i g_i`` with
``a_i = (1/T + (c ||g0|| / ||g_w||) w_i) / (1 + c^2)``; these ``a_i`` are the weights returned.

Cost per step: T ``autograd.grad`` passes through the shared network, then one backward through
the heads; O(T^2 P) for ``G`` (see :mod:`perception.balancing.task_gradients`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from perception.balancing.balancer import Balancer
from perception.balancing.options import check_option_names, option_number
from perception.balancing.task_gradients import backward_combined

SUMMARY = "conflict-averse update that lifts the worst task's improvement (CAGrad, Liu et al. 2021)"

SOLVER_STEPS = 200
"""Most steps of the dual solver (it stops earlier once ``w`` settles)."""

SOLVER_TOLERANCE = 1e-10
"""The solver stops when a step moves ``w`` by less than this (Euclidean norm)."""


def project_to_simplex(vector: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``(T,)`` ``vector`` onto ``{w >= 0, sum w = 1}`` (Duchi et al.)."""
    descending = np.sort(vector)[::-1]
    cumulative = np.cumsum(descending) - 1.0
    ranks = np.arange(1, len(vector) + 1)
    last = ranks[descending - cumulative / ranks > 0][-1]
    return np.maximum(vector - cumulative[last - 1] / last, 0.0)


def cagrad_task_weights(gram: np.ndarray, c: float) -> np.ndarray:
    """The simplex weights ``w`` minimising CAGrad's dual ``F(w)`` for the ``(T, T)`` ``gram``.

    Accelerated projected gradient (FISTA with a backtracking step, restarted whenever ``F``
    rises) from ``w = 1/T``. ``F`` scales linearly with ``gram``, so ``gram`` is first divided by
    its largest diagonal entry; a zero ``gram`` (no task has a gradient) returns uniform weights.
    """
    count = gram.shape[0]
    weights = np.full(count, 1.0 / count)
    scale = float(np.max(np.diag(gram)))
    if scale <= 0.0:
        return weights
    gram = gram / scale
    radius = c * np.sqrt(max(float(gram.mean()), 0.0))
    towards_mean = gram.mean(axis=1)  # G 1 / T

    def objective(w: np.ndarray) -> float:
        return float(w @ towards_mean + radius * np.sqrt(max(float(w @ gram @ w), 0.0)))

    def gradient(w: np.ndarray) -> np.ndarray:
        norm = np.sqrt(max(float(w @ gram @ w), 1e-24))
        return towards_mean + radius * (gram @ w) / norm

    value = objective(weights)
    point, momentum, step = weights, 1.0, 1.0
    for _ in range(SOLVER_STEPS):
        point_value, slope = objective(point), gradient(point)
        while True:
            candidate = project_to_simplex(point - step * slope)
            move = candidate - point
            candidate_value = objective(candidate)
            sufficient = point_value + slope @ move + (move @ move) / (2 * step)
            if candidate_value <= sufficient or step < 1e-14:
                break
            step /= 2
        if candidate_value > value:  # momentum overshot: restart from the best point
            point, momentum = weights, 1.0
            continue
        next_momentum = (1 + np.sqrt(1 + 4 * momentum**2)) / 2
        point = candidate + (momentum - 1) / next_momentum * (candidate - weights)
        settled = np.linalg.norm(candidate - weights) < SOLVER_TOLERANCE
        weights, value, momentum = candidate, candidate_value, next_momentum
        if settled:
            break
        step *= 2
    return weights


def cagrad_direction(gradients: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """CAGrad's update for the ``(T, P)`` task gradients.

    Returns:
        ``d`` (``(P,)``, rescaled by ``1 / (1 + c^2)``) and the ``(T,)`` coefficients ``a`` with
        ``d = a @ gradients``.
    """
    count = gradients.shape[0]
    gram = (gradients @ gradients.T).double().cpu().numpy()
    weights = cagrad_task_weights(gram, c)
    mean_norm = np.sqrt(max(float(gram.mean()), 0.0))
    combined_norm = np.sqrt(max(float(weights @ gram @ weights), 0.0))
    reach = c * mean_norm / combined_norm if combined_norm > 0 else 0.0
    coefficients = (1.0 / count + reach * weights) / (1.0 + c**2)
    coefficients_tensor = torch.as_tensor(coefficients, dtype=gradients.dtype).to(gradients.device)
    return coefficients_tensor @ gradients, coefficients_tensor


class CAGrad(Balancer):
    """CAGrad over all shared parameters.

    Args:
        task_names: the tasks in a fixed order.
        c: radius of the ball around the mean gradient, relative to its norm.
    """

    needs_task_gradients = True
    gradient_scope = "all"

    def __init__(self, task_names: list[str], c: float = 0.4) -> None:
        super().__init__(task_names)
        self.c = c

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        shared_parameters: list[nn.Parameter] | None = None,
    ) -> dict[str, float]:
        ordered = [losses[name] for name in self.task_names]
        combine = partial(cagrad_direction, c=self.c)
        coefficients = backward_combined(ordered, shared_parameters or [], combine)
        return dict(zip(self.task_names, coefficients.tolist(), strict=True))

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "c": self.c}


def build_cagrad(task_names: list[str], **options: object) -> CAGrad:
    """Options: ``c`` (>= 0, default 0.4)."""
    check_option_names("cagrad", options, ("c",))
    return CAGrad(task_names, c=option_number("cagrad", "c", options.get("c", 0.4), positive=False))
