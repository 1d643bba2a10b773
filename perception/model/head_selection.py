"""Choosing a subset of a multi-task model's heads by name (export, inference)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from perception.errors import ConfigError, did_you_mean
from perception.model.task_head import TaskHead


def select_heads(model: nn.Module, heads: Sequence[str] | None) -> list[tuple[str, TaskHead]]:
    """The model's ``(name, head)`` pairs named by ``heads``, in that order (default: all, in
    model order).

    Raises:
        ConfigError: ``heads`` is empty, repeats a head or names one the model lacks (with a
            "did you mean" suggestion).
    """
    available = dict(model.task_heads())
    if heads is None:
        return list(available.items())
    if not heads:
        raise ConfigError(f"no heads chosen; choose from {list(available)}")
    repeated = sorted({name for name in heads if list(heads).count(name) > 1})
    if repeated:
        raise ConfigError(f"heads {repeated} are named more than once")
    for name in heads:
        if name not in available:
            raise ConfigError(
                f"no head '{name}': the model has heads {list(available)}"
                f"{did_you_mean(name, available)}"
            )
    return [(name, available[name]) for name in heads]
