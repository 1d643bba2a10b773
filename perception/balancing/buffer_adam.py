"""Adam for a balancer's own small state vector, kept in buffers.

Some balancers step a ``(T,)`` vector of their own inside ``backward`` (FAMO its task logits,
GradNorm its task weights). That vector is not an ``nn.Parameter``, so the trainer's optimizer,
weight decay and learning-rate schedule never touch it; :class:`BufferAdam` holds its Adam moments
and step count as buffers, so the balancer's ``state_dict`` holds all of it and a resumed run
continues exactly.

The rule (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", ICLR), for the gradient
``g`` at step ``t = 1, 2, ...`` with betas ``(b1, b2) = ADAM_BETAS`` and ``eps = ADAM_EPS``:

    m <- b1 m + (1 - b1) g,    v <- b2 v + (1 - b2) g^2
    step = lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

and the caller subtracts ``step`` from its vector (all of it, or only some entries).
"""

from __future__ import annotations

import torch
from torch import nn

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class BufferAdam(nn.Module):
    """Adam moments for a ``(N,)`` vector that the caller owns and updates.

    Args:
        size: ``N``, the length of the vector.
        lr: the learning rate.

    Attributes:
        first: ``(N,)`` buffer, the first moment ``m``.
        second: ``(N,)`` buffer, the second moment ``v``.
        steps: ``()`` long buffer, the steps taken so far.
    """

    def __init__(self, size: int, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.register_buffer("first", torch.zeros(size))
        self.register_buffer("second", torch.zeros(size))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.first: torch.Tensor
        self.second: torch.Tensor
        self.steps: torch.Tensor

    def step(self, gradient: torch.Tensor) -> torch.Tensor:
        """Fold the ``(N,)`` ``gradient`` into the moments and return the ``(N,)`` step that
        the caller subtracts from its vector."""
        first_beta, second_beta = ADAM_BETAS
        self.steps += 1
        steps = int(self.steps)
        self.first.mul_(first_beta).add_((1 - first_beta) * gradient)
        self.second.mul_(second_beta).add_((1 - second_beta) * gradient.square())
        first = self.first / (1 - first_beta**steps)
        second = self.second / (1 - second_beta**steps)
        return self.lr * first / (second.sqrt() + ADAM_EPS)
