"""Validation of balancer options (``balancer.<option>`` in the config).

A balancer factory receives its options as ``**options``; these helpers turn a bad name or value
into a :class:`~perception.errors.ConfigError` naming the balancer and the option.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from perception.errors import ConfigError, did_you_mean


def check_option_names(
    balancer: str, options: Mapping[str, object], known: Collection[str]
) -> None:
    """Raise if ``options`` holds a name outside ``known``."""
    for key in options:
        if key not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ConfigError(
                f"balancer '{balancer}': unknown option '{key}'{did_you_mean(key, known)}; "
                f"known options: {listed}"
            )


def option_number(balancer: str, key: str, value: object, *, positive: bool) -> float:
    """``value`` as a finite float that is > 0 (``positive``) or >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(
            f"balancer '{balancer}': option '{key}' must be a number {bound}, got {value!r}"
        )
    return float(value)


def option_count(balancer: str, key: str, value: object) -> int:
    """``value`` as an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"balancer '{balancer}': option '{key}' must be an integer >= 1, got {value!r}"
        )
    return value


def option_per_task(
    balancer: str, key: str, value: object, task_names: Sequence[str]
) -> dict[str, float]:
    """``value`` as ``{task: number >= 0}``; every key must be one of ``task_names``."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"balancer '{balancer}': option '{key}' must map task names to numbers, got {value!r}"
        )
    unknown = [str(name) for name in value if name not in task_names]
    if unknown:
        hints = "".join(did_you_mean(name, task_names) for name in unknown)
        raise ConfigError(
            f"balancer '{balancer}': option '{key}' names unknown tasks {unknown}{hints}; "
            f"the tasks are {', '.join(task_names)}"
        )
    return {
        name: option_number(balancer, f"{key}.{name}", number, positive=False)
        for name, number in value.items()
    }
