"""The feature spec: what a backbone (or neck) hands to the heads, level by level.

Heads are built from a :class:`FeatureSpec`, never from a hard-coded channel count, so any
registered backbone can feed any registered head.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureLevel:
    """One output level: its ``name`` (e.g. ``"p2"``), ``channels`` and ``stride`` in pixels."""

    name: str
    channels: int
    stride: int


@dataclass(frozen=True)
class FeatureSpec:
    """Ordered levels, finest (smallest stride) first.

    A feature dict produced under this spec maps ``level.name`` to a tensor of shape
    ``(B, level.channels, H // level.stride, W // level.stride)`` for an input ``(B, 3, H, W)``
    whose sides are multiples of :attr:`max_stride`.
    """

    levels: tuple[FeatureLevel, ...]

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("a feature spec needs at least one level")
        strides = [level.stride for level in self.levels]
        if strides != sorted(strides) or len(set(strides)) != len(strides):
            raise ValueError(f"feature levels must have increasing strides, got {strides}")
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"feature level names must be unique, got {names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    @property
    def max_stride(self) -> int:
        return self.levels[-1].stride

    @property
    def finest(self) -> FeatureLevel:
        """The level with the smallest stride (the one dense and CenterNet heads read)."""
        return self.levels[0]

    def level(self, name: str) -> FeatureLevel:
        """The level called ``name``; ``KeyError`` naming the known levels otherwise."""
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(f"no feature level {name!r}; this spec has {list(self.names)}")
