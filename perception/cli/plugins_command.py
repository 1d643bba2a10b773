"""``perception plugins``: list every registered head, balancer, backbone and dataset."""

from __future__ import annotations

import argparse
from typing import Any

from perception.plugins.manager import PluginManager, get_plugin_manager

KINDS = ("head", "balancer", "backbone", "dataset")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plugins", help="list registered heads, balancers, backbones and datasets"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(format_plugins(get_plugin_manager()))
    return 0


def format_plugins(manager: PluginManager) -> str:
    """One section per kind: name, source package and version, plugin, summary."""
    lines: list[str] = []
    for kind in KINDS:
        registry = manager.registry(kind)
        lines.append(f"{kind}s ({len(registry)}):")
        rows = [
            (
                entry.record.name,
                f"{entry.source.package} {entry.source.version}",
                entry.source.plugin,
                entry.record.summary,
            )
            for entry in registry.entries()
        ]
        if not rows:
            lines.append("  (none registered)")
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append(f"  {'  '.join(cells)}  {row[3]}".rstrip())
        lines.append("")
    plugins = ", ".join(
        f"{source.plugin} ({source.package} {source.version})" for source in manager.sources
    )
    lines.append(f"plugins loaded: {plugins or 'none'}")
    return "\n".join(lines)
