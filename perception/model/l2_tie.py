"""The L2 tie between task networks (Duong, Cohn, Bird & Cook 2015, "Low Resource Dependency
Parsing: Cross-lingual Parameter Sharing in a Neural Network Parser", ACL).

Duong et al. tie two parsers by adding the squared L2 distance between their corresponding
weights to the training loss. With T task networks this module takes the sum over all task pairs:

    penalty = sum_{i < j} sum_k ||theta_i[k] - theta_j[k]||^2

over corresponding parameters ``k``. It equals ``T * sum_i ||theta_i - theta_mean||^2``, the
distance to the mean network, so the pairwise form pulls every network towards the mean with
strength growing with T; it is written pairwise so that identical networks give exactly 0.
The gradient for network ``i`` is ``2 * sum_j (theta_i - theta_j)``: it moves every network
towards the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def pairwise_squared_distance(modules: Sequence[nn.Module]) -> torch.Tensor:
    """``sum_{i<j} ||theta_i - theta_j||^2`` over the trainable parameters of ``modules``.

    Args:
        modules: T modules of the same architecture (parameters matched by name).

    Returns:
        a float32 scalar on the parameters' device, differentiable in every trainable parameter
        (frozen ones are not tied); ``0`` for fewer than two modules.

    Raises:
        ValueError: when the modules' parameter names or shapes differ.
    """
    named = [dict(module.named_parameters()) for module in modules]
    if not named or not named[0]:
        return torch.zeros(())
    reference = named[0]
    for other in named[1:]:
        if other.keys() != reference.keys() or any(
            other[name].shape != reference[name].shape for name in reference
        ):
            raise ValueError("tied modules must have the same parameter names and shapes")
    total = torch.zeros((), device=next(iter(reference.values())).device)
    for name, first in reference.items():
        if not first.requires_grad:
            continue
        for i in range(len(named)):
            for j in range(i + 1, len(named)):
                total = total + (named[i][name].float() - named[j][name].float()).square().sum()
    return total
