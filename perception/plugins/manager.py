"""The plugin manager: finds plugins through one entry-point group and fills the registries.

Built-in plugins (the ``perception-driving`` package in ``plugins/``) and third-party packages
are loaded the same way: every entry point in the ``perception`` group names a module (or object)
with :data:`~perception.plugins.hookspecs.hookimpl` functions. Each registration hook's records
are validated and filed in the registry of their kind, remembering which plugin and package
they came from. Every failure is a :class:`~perception.errors.PluginError` naming the plugin and
its package.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from perception.errors import PluginError
from perception.plugins import hookspecs
from perception.plugins.records import (
    BackboneRecord,
    BalancerRecord,
    DatasetRecord,
    HeadRecord,
    PluginRecord,
)
from perception.plugins.registry import PluginSource, Registry

RECORD_TYPE_BY_KIND: dict[str, type[PluginRecord]] = {
    "head": HeadRecord,
    "balancer": BalancerRecord,
    "backbone": BackboneRecord,
    "dataset": DatasetRecord,
}


class PluginManager:
    """Loads plugins and holds one :class:`Registry` per record kind."""

    def __init__(self) -> None:
        self._pluggy = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pluggy.add_hookspecs(hookspecs)
        self.heads: Registry[HeadRecord] = Registry("head")
        self.balancers: Registry[BalancerRecord] = Registry("balancer")
        self.backbones: Registry[BackboneRecord] = Registry("backbone")
        self.datasets: Registry[DatasetRecord] = Registry("dataset")
        self.sources: list[PluginSource] = []

    def registry(self, kind: str) -> Registry[Any]:
        """The registry for ``kind`` (``head``, ``balancer``, ``backbone`` or ``dataset``)."""
        return {
            "head": self.heads,
            "balancer": self.balancers,
            "backbone": self.backbones,
            "dataset": self.datasets,
        }[kind]

    def load_entry_points(self, group: str = hookspecs.PROJECT_NAME) -> None:
        """Load every plugin installed under the entry-point ``group``, in a stable order."""
        for entry_point in sorted(entry_points(group=group), key=lambda ep: ep.name):
            self.load_entry_point(entry_point)

    def load_entry_point(self, entry_point: EntryPoint) -> None:
        """Import one entry point's object and register it."""
        dist = entry_point.dist
        source = PluginSource(
            plugin=entry_point.name,
            package=dist.metadata["Name"] if dist is not None else "unknown",
            version=dist.version if dist is not None else "unknown",
        )
        try:
            plugin = entry_point.load()
        except Exception as exc:  # any import-time failure is the plugin's, so name it
            raise PluginError(
                f"{source.describe()} failed to import ({entry_point.value}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.register(plugin, source)

    def register(self, plugin: object, source: PluginSource) -> None:
        """Register a plugin object and file every record its registration hooks return."""
        try:
            self._pluggy.register(plugin, name=source.plugin)
            self._pluggy.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"{source.describe()} is invalid: {exc}") from exc
        self.sources.append(source)
        for kind, hook_name in hookspecs.REGISTRATION_HOOKS.items():
            for record in self._call_registration_hook(plugin, source, kind, hook_name):
                self.registry(kind).add(record, source)

    def _call_registration_hook(
        self, plugin: object, source: PluginSource, kind: str, hook_name: str
    ) -> list[PluginRecord]:
        caller = getattr(self._pluggy.hook, hook_name)
        impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
        records: list[PluginRecord] = []
        for impl in impls:
            try:
                returned = impl.function()
            except Exception as exc:
                raise PluginError(
                    f"{source.describe()} raised in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc
            records.extend(_validated_records(returned, source, kind, hook_name))
        return records


def _validated_records(
    returned: object, source: PluginSource, kind: str, hook_name: str
) -> list[PluginRecord]:
    """Normalise a hook's return value to a list of records of the right type, or raise."""
    if returned is None:
        return []
    items = [returned] if isinstance(returned, PluginRecord) else returned
    if not isinstance(items, list | tuple):
        raise PluginError(
            f"{source.describe()} returned {type(returned).__name__} from {hook_name}; "
            f"expected a list of {RECORD_TYPE_BY_KIND[kind].__name__}"
        )
    expected = RECORD_TYPE_BY_KIND[kind]
    for item in items:
        if not isinstance(item, expected):
            raise PluginError(
                f"{source.describe()} returned a malformed {kind} record from {hook_name}: "
                f"{item!r} is not a {expected.__name__}"
            )
        problems = item.problems()
        if problems:
            raise PluginError(
                f"{source.describe()} returned a malformed {kind} record: {'; '.join(problems)}"
            )
    return list(items)


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager with every installed plugin loaded (cached)."""
    manager = PluginManager()
    manager.load_entry_points()
    return manager
