"""Real third-party plugin packages, built in a temporary folder and installed into the venv."""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from perception.plugins import PluginManager

PERCEPTION = Path(sys.executable).with_name("perception")


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def installed_plugin_package(
    folder: Path, dist: str, module: str, source: str, version: str = "0.3.1"
) -> Iterator[None]:
    """Write a one-module package with a ``perception`` entry point, install it, then remove it."""
    folder.mkdir(parents=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "{version}"

            [project.entry-points.perception]
            {module} = "{module}"

            [tool.setuptools]
            py-modules = ["{module}"]
            """
        )
    )
    pip("install", "--no-deps", "--no-build-isolation", str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        pip("uninstall", "-y", dist)
        sys.modules.pop(module, None)
        importlib.invalidate_caches()


LANE_PLUGIN = """
    from perception.plugins import HeadRecord, hookimpl

    def build_lane_head(feature_spec, **options):
        return ("lane head", feature_spec, options)

    @hookimpl
    def perception_register_heads():
        return [HeadRecord("lane_lines", build_lane_head, "lane line polylines")]
"""


def test_installed_package_registers_its_head(tmp_path: Path) -> None:
    with installed_plugin_package(tmp_path / "acme", "acme-lanes", "acme_lanes", LANE_PLUGIN):
        manager = PluginManager()
        manager.load_entry_points()
        entry = manager.heads.entry("lane_lines")
        assert entry.source.package == "acme-lanes"
        assert entry.source.version == "0.3.1"
        assert entry.record.factory("spec") == ("lane head", "spec", {})
        # The built-in plugins arrive through the very same group.
        assert manager.datasets.entry("synthetic").source.package == "perception-driving"

        listing = subprocess.run(
            [str(PERCEPTION), "plugins"], capture_output=True, text=True, check=True
        ).stdout
        line = next(row for row in listing.splitlines() if "lane_lines" in row)
        assert "acme-lanes 0.3.1" in line
        assert "lane line polylines" in line
    manager = PluginManager()
    manager.load_entry_points()
    assert "lane_lines" not in manager.heads


BROKEN_PLUGIN = """
    import module_that_does_not_exist_anywhere
"""


def test_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    with installed_plugin_package(tmp_path / "bad", "acme-broken", "acme_broken", BROKEN_PLUGIN):
        result = subprocess.run([str(PERCEPTION), "plugins"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "plugin 'acme_broken' from package 'acme-broken' 0.3.1 failed to import" in lines[0]
    assert "module_that_does_not_exist_anywhere" in lines[0]
