"""Per-task gradients of the shared parameters, for balancers that work on gradients.

A gradient-based balancer (``needs_task_gradients = True``) runs its backward in three steps,
which :func:`backward_combined` chains around the balancer's own combination rule:

1. :func:`task_gradients`: one ``torch.autograd.grad`` per task over the shared parameters
   (``retain_graph=True``), flattened into a ``(T, P)`` matrix, row ``i`` = ``dL_i/dtheta``.
2. the balancer combines the rows into one ``(P,)`` vector and :func:`write_gradient` adds it to
   ``.grad`` of the shared parameters that some loss reaches (one that none reaches keeps
   ``.grad = None``, as after a plain backward);
3. :func:`backward_except` runs one backward of a combined loss that reaches every other
   parameter the graph uses (the task heads; under ``gradient_scope="last"`` also the
   backbone), leaving the shared parameters alone.

Cost, with T tasks: step 1 is T reverse passes, each pruned by autograd to the paths from one
loss to the shared parameters (under ``gradient_scope="all"`` that is that task's head, the
neck and the whole backbone); step 3 is one more pass pruned to the non-shared parameters (the
heads). So one step costs about T backwards of the plain sum instead of one, and the graph stays
in memory until step 3. The ``(T, P)`` matrix holds T copies of the shared gradient (e.g. 6
tasks x 11 M backbone parameters = 264 MB in float32).

Limitation: step 3 finds the non-shared parameters by walking the autograd graph from the loss;
parameters hidden inside a reentrant ``torch.utils.checkpoint`` segment are not visible to that
walk (the non-reentrant checkpoint, PyTorch's default, is fine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch


class TaskGradients(NamedTuple):
    """Per-task gradients of the shared parameters."""

    matrix: torch.Tensor
    """``(T, P)`` float32, row ``i`` the flattened gradient of loss ``i``."""
    reached: list[bool]
    """Per shared parameter: whether any loss's graph reaches it."""


GradientCombiner = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""A balancer's rule: the ``(T, P)`` task gradients in; the ``(P,)`` gradient the shared
parameters receive and the ``(T,)`` weights the balancer reports out."""


def backward_combined(
    losses: Sequence[torch.Tensor], shared: Sequence[torch.Tensor], combine: GradientCombiner
) -> torch.Tensor:
    """The three steps of a gradient-based balancer's backward.

    Args:
        losses: T scalar losses on one graph.
        shared: the shared parameters, P elements in all.
        combine: maps the ``(T, P)`` :func:`task_gradients` matrix to the ``(P,)`` vector that
            :func:`write_gradient` adds to the shared parameters, and to ``(T,)`` weights.

    Returns:
        the ``(T,)`` weights from ``combine``. Every other parameter the losses reach receives
        the gradient of ``sum(losses)`` (:func:`backward_except`); the graph is freed.
    """
    gradients, reached = task_gradients(losses, shared)
    direction, weights = combine(gradients)
    write_gradient(direction, shared, reached)
    total = sum(losses)
    assert isinstance(total, torch.Tensor)
    backward_except(total, shared)
    return weights


def task_gradients(losses: Sequence[torch.Tensor], shared: Sequence[torch.Tensor]) -> TaskGradients:
    """Gradient of each loss with respect to the shared parameters, flattened.

    Args:
        losses: T scalar losses built on one graph that stays alive (``retain_graph=True``).
        shared: the shared parameters, P elements in all.

    Returns:
        the ``(T, P)`` matrix on the parameters' device and which parameters were reached. A
        loss that does not reach a parameter (or does not require grad at all, e.g. a task
        without labels in the batch) contributes zeros there.
    """
    sizes = [p.numel() for p in shared]
    device = shared[0].device if shared else torch.device("cpu")
    rows = torch.zeros(len(losses), sum(sizes), device=device)
    reached = [False] * len(shared)
    if not shared:
        return TaskGradients(rows, reached)
    for row, loss in zip(rows, losses, strict=True):
        if not loss.requires_grad:
            continue
        grads = torch.autograd.grad(loss, list(shared), retain_graph=True, allow_unused=True)
        for index, (chunk, grad) in enumerate(zip(row.split(sizes), grads, strict=True)):
            if grad is not None:
                chunk.copy_(grad.reshape(-1))
                reached[index] = True
    return TaskGradients(rows, reached)


def write_gradient(
    vector: torch.Tensor, shared: Sequence[torch.Tensor], reached: Sequence[bool]
) -> None:
    """Add the flat ``(P,)`` ``vector`` into ``.grad`` of the ``reached`` parameters of
    ``shared`` (as ``backward`` would; the others are left as they are)."""
    sizes = [p.numel() for p in shared]
    for param, chunk, used in zip(shared, vector.split(sizes), reached, strict=True):
        if not used:
            continue
        grad = chunk.view(param.shape).to(param.dtype)
        if param.grad is None:
            param.grad = torch.empty_like(param).copy_(grad)
        else:
            param.grad.add_(grad)


def backward_except(total: torch.Tensor, shared: Sequence[torch.Tensor]) -> None:
    """Backward of ``total`` into every leaf of its graph except ``shared``.

    Autograd prunes the pass to the paths that reach those leaves, so the shared part of the
    network is not traversed again. The graph is freed afterwards.
    """
    if not total.requires_grad:
        return
    excluded = {id(p) for p in shared}
    others = [leaf for leaf in graph_leaves(total) if id(leaf) not in excluded]
    if others:
        torch.autograd.backward(total, inputs=others)


def graph_leaves(root: torch.Tensor) -> list[torch.Tensor]:
    """The leaf tensors that require grad and that ``root``'s autograd graph reaches, in the
    order the walk meets them."""
    if root.grad_fn is None:
        return [root] if root.requires_grad else []
    leaves: list[torch.Tensor] = []
    seen = {root.grad_fn}
    pending = [root.grad_fn]
    while pending:
        node = pending.pop()
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.append(variable)
        for child, _ in node.next_functions:
            if child is not None and child not in seen:
                seen.add(child)
                pending.append(child)
    return leaves
