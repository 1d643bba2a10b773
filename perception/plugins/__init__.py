"""The plugin system: hook specifications, typed records, registries and the manager."""

from perception.plugins.hookspecs import hookimpl
from perception.plugins.manager import PluginManager, get_plugin_manager
from perception.plugins.records import BackboneRecord, BalancerRecord, DatasetRecord, HeadRecord
from perception.plugins.registry import PluginSource, Registry

__all__ = [
    "BackboneRecord",
    "BalancerRecord",
    "DatasetRecord",
    "HeadRecord",
    "PluginManager",
    "PluginSource",
    "Registry",
    "get_plugin_manager",
    "hookimpl",
]
