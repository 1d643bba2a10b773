"""A registry of one kind of plugin record (heads, balancers, backbones or datasets)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from perception.errors import PluginError, did_you_mean
from perception.plugins.records import PluginRecord

RecordT = TypeVar("RecordT", bound=PluginRecord)


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin came from: its entry-point name and the package (distribution) holding it."""

    plugin: str
    package: str
    version: str

    def describe(self) -> str:
        return f"plugin '{self.plugin}' from package '{self.package}' {self.version}"


@dataclass(frozen=True)
class RegisteredEntry(Generic[RecordT]):
    """A record together with the plugin that registered it."""

    record: RecordT
    source: PluginSource


class Registry(Generic[RecordT]):
    """Name -> record for one kind; refuses duplicates and explains unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegisteredEntry[RecordT]] = {}

    def add(self, record: RecordT, source: PluginSource) -> None:
        """File ``record``; raise :class:`PluginError` naming both plugins on a duplicate name."""
        existing = self._entries.get(record.name)
        if existing is not None:
            raise PluginError(
                f"duplicate {self.kind} name '{record.name}': registered by "
                f"{existing.source.describe()} and by {source.describe()}"
            )
        self._entries[record.name] = RegisteredEntry(record, source)

    def get(self, name: str) -> RecordT:
        """Return the record called ``name``; an unknown name gets a "did you mean" error."""
        return self.entry(name).record

    def entry(self, name: str) -> RegisteredEntry[RecordT]:
        """Return the record called ``name`` with its source."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise PluginError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._entries)}; "
                f"registered {self.kind}s: {known} (see `perception plugins`)"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> Iterator[RegisteredEntry[RecordT]]:
        for name in self.names():
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
