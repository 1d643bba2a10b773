"""Typed records that plugins return from their registration hooks.

A record is a name plus a factory; the plugin manager validates it and files it in the registry
of its kind. What a factory receives and returns is the contract of that kind:

- :class:`DatasetRecord`: ``factory(config: RunConfig, split: str) -> Dataset[Sample]``.
- :class:`HeadRecord`: ``factory(feature_spec, **options) -> task head`` (the task-head contract).
- :class:`BackboneRecord`: ``factory(pretrained=None, **options) -> backbone`` reporting its
  feature spec; ``pretrained`` is a local weights file path.
- :class:`BalancerRecord`: ``factory(task_names, **options) -> balancer`` (losses in, backward
  done, weights out).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""Registered names are lower-case identifiers, so they work as config values and output keys."""


@dataclass(frozen=True)
class PluginRecord:
    """Base record: ``name`` (lower-case identifier), ``factory`` and a one-line ``summary``."""

    kind: ClassVar[str] = "record"

    name: str
    factory: Callable[..., Any]
    summary: str = ""

    def problems(self) -> list[str]:
        """Return what is malformed about this record (empty when it is valid)."""
        found = []
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            found.append(f"name {self.name!r} is not a lower-case identifier")
        if not callable(self.factory):
            found.append(f"factory of {self.name!r} is not callable")
        if not isinstance(self.summary, str):
            found.append(f"summary of {self.name!r} is not a string")
        return found


@dataclass(frozen=True)
class HeadRecord(PluginRecord):
    """A task head (cars, depth, keypoints, ...)."""

    kind: ClassVar[str] = "head"


@dataclass(frozen=True)
class BalancerRecord(PluginRecord):
    """A loss balancer (equal weights, GradNorm, ...)."""

    kind: ClassVar[str] = "balancer"


@dataclass(frozen=True)
class BackboneRecord(PluginRecord):
    """A feature extractor shared by the heads."""

    kind: ClassVar[str] = "backbone"


@dataclass(frozen=True)
class DatasetRecord(PluginRecord):
    """A source of :class:`~perception.data.sample.Sample` objects."""

    kind: ClassVar[str] = "dataset"
