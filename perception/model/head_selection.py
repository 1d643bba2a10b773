"""Choosing a subset of a model's heads by name (export, inference).

:func:`choose_heads` works on names alone and imports no torch, so the ONNX Runtime engine uses it
on the head names in a file's metadata; :func:`select_heads` applies it to a torch model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perception.errors import ConfigError, did_you_mean


def choose_heads(requested: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """The head names ``requested``, in that order (default: all ``available``, in order).

    Raises:
        ConfigError: ``requested`` is empty, repeats a head or names one not ``available`` (with
            a "did you mean" suggestion).
    """
    if requested is None:
        return list(available)
    if not requested:
        raise ConfigError(f"no heads chosen; choose from {list(available)}")
    repeated = sorted({name for name in requested if list(requested).count(name) > 1})
    if repeated:
        raise ConfigError(f"heads {repeated} are named more than once")
    for name in requested:
        if name not in available:
            raise ConfigError(
                f"no head '{name}': the model has heads {list(available)}"
                f"{did_you_mean(name, available)}"
            )
    return list(requested)


def select_heads(model: Any, heads: Sequence[str] | None) -> list[tuple[str, Any]]:
    """The ``(name, head)`` pairs of a multi-task ``model`` (anything with ``task_heads()``)
    named by ``heads``, in that order; see :func:`choose_heads`."""
    available = dict(model.task_heads())
    return [(name, available[name]) for name in choose_heads(heads, list(available))]
