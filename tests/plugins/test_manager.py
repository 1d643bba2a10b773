"""The plugin manager in-process: registration, duplicates, malformed records, bad hooks."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable

import pytest

from perception.errors import PluginError
from perception.plugins import (
    BalancerRecord,
    DatasetRecord,
    HeadRecord,
    PluginManager,
    PluginSource,
    hookimpl,
    hookspecs,
)
from tests.conftest import REPO_ROOT


def make_plugin(name: str, **hooks: Callable[[], object]) -> types.ModuleType:
    """A module object carrying the given hook implementations, as an entry point would load."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        function.__name__ = hook_name
        setattr(module, hook_name, hookimpl(function))
    return module


def source(plugin: str, package: str = "pkg-a") -> PluginSource:
    return PluginSource(plugin=plugin, package=package, version="1.2.3")


def factory() -> None:
    return None


def test_records_are_filed_by_kind_with_their_source() -> None:
    manager = PluginManager()
    plugin = make_plugin(
        "alpha",
        perception_register_heads=lambda: [HeadRecord("lanes", factory, "lane lines")],
        perception_register_balancers=lambda: BalancerRecord("mine", factory),
    )
    manager.register(plugin, source("alpha"))
    assert manager.heads.names() == ["lanes"]
    assert manager.balancers.names() == ["mine"]
    assert manager.heads.entry("lanes").source == source("alpha")
    assert manager.heads.get("lanes").summary == "lane lines"
    assert len(manager.datasets) == 0


def test_duplicate_name_names_both_plugins_and_packages() -> None:
    manager = PluginManager()
    make = lambda: [DatasetRecord("fleet", factory)]  # noqa: E731
    manager.register(make_plugin("one", perception_register_datasets=make), source("one", "pkg-a"))
    with pytest.raises(PluginError) as caught:
        manager.register(
            make_plugin("two", perception_register_datasets=make), source("two", "pkg-b")
        )
    message = str(caught.value)
    assert "duplicate dataset name 'fleet'" in message
    assert "plugin 'one' from package 'pkg-a'" in message
    assert "plugin 'two' from package 'pkg-b'" in message


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [
        (lambda: [HeadRecord("Bad Name", factory)], "not a lower-case identifier"),
        (lambda: [HeadRecord("ok", "not callable")], "not callable"),  # type: ignore[arg-type]
        (lambda: [DatasetRecord("wrong_kind", factory)], "is not a HeadRecord"),
        (lambda: {"name": "dict"}, "expected a list of HeadRecord"),
        (lambda: ["just a string"], "is not a HeadRecord"),
    ],
)
def test_malformed_records_name_the_plugin(returned: Callable[[], object], fragment: str) -> None:
    manager = PluginManager()
    plugin = make_plugin("gamma", perception_register_heads=returned)
    with pytest.raises(PluginError) as caught:
        manager.register(plugin, source("gamma", "gamma-pkg"))
    assert "plugin 'gamma' from package 'gamma-pkg'" in str(caught.value)
    assert fragment in str(caught.value)


def test_hook_that_raises_is_named() -> None:
    def broken() -> list[HeadRecord]:
        raise RuntimeError("boom")

    manager = PluginManager()
    with pytest.raises(PluginError, match=r"plugin 'delta'.*perception_register_heads.*boom"):
        manager.register(make_plugin("delta", perception_register_heads=broken), source("delta"))


def test_misspelled_hook_is_refused() -> None:
    manager = PluginManager()
    plugin = make_plugin("eps", perception_register_head=lambda: [])
    with pytest.raises(PluginError, match=r"plugin 'eps' from package 'pkg-a'.*invalid"):
        manager.register(plugin, source("eps"))


def test_unknown_name_suggests_the_closest() -> None:
    manager = PluginManager()
    records = lambda: [DatasetRecord("synthetic", factory)]  # noqa: E731
    manager.register(make_plugin("p", perception_register_datasets=records), source("p"))
    with pytest.raises(PluginError) as caught:
        manager.datasets.get("synthetc")
    assert "unknown dataset 'synthetc' (did you mean 'synthetic'?)" in str(caught.value)
    assert "registered datasets: synthetic" in str(caught.value)


def test_every_hook_is_documented_and_dispatched() -> None:
    specs = {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("perception_")
    }
    assert set(specs) == set(hookspecs.REGISTRATION_HOOKS.values())
    for name, function in specs.items():
        assert inspect.getdoc(function), f"hook {name} has no docstring"
        assert function.__annotations__.get("return"), f"hook {name} has no return type"


def test_core_never_imports_the_builtin_plugins() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "perception").rglob("*.py")
        if "perception_driving" in path.read_text()
    ]
    assert offenders == []
