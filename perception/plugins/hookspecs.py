"""Hook specifications: what a plugin may implement.

A plugin is a module (or object) exposed through the ``perception`` entry-point group; it
implements any of these hooks with the :data:`hookimpl` marker. Each registration hook returns a
list of typed records (a single record is accepted too). The built-in plugins in ``plugins/``
register exactly the same way as a third-party package. Example::

    from perception.plugins import DatasetRecord, hookimpl

    @hookimpl
    def perception_register_datasets() -> list[DatasetRecord]:
        return [DatasetRecord("my_data", MyDataset, "frames from my fleet")]
"""

from __future__ import annotations

import pluggy

from perception.plugins.records import BackboneRecord, BalancerRecord, DatasetRecord, HeadRecord

PROJECT_NAME = "perception"
"""The pluggy project name, which is also the entry-point group plugins are found through."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -- registration: called once when the plugin manager loads ---------------------------------


@hookspec
def perception_register_heads() -> list[HeadRecord]:
    """Return the task heads this plugin provides.

    A head's factory builds its module from the backbone's feature spec; the head owns target
    encoding, loss, tensor-only decode, metrics and drawing for its task.
    """


@hookspec
def perception_register_balancers() -> list[BalancerRecord]:
    """Return the loss balancers this plugin provides.

    A balancer receives the per-task losses, performs the backward pass and returns the weights
    it used; it declares whether it needs per-task gradients of the shared parameters.
    """


@hookspec
def perception_register_backbones() -> list[BackboneRecord]:
    """Return the backbones this plugin provides.

    A backbone reports, per output level, its channels and stride (the feature spec that heads
    are built from).
    """


@hookspec
def perception_register_datasets() -> list[DatasetRecord]:
    """Return the datasets this plugin provides.

    A dataset factory is called as ``factory(config: RunConfig, split: str)`` and returns a
    map-style ``torch.utils.data.Dataset`` of :class:`~perception.data.sample.Sample`.
    """


REGISTRATION_HOOKS: dict[str, str] = {
    "head": "perception_register_heads",
    "balancer": "perception_register_balancers",
    "backbone": "perception_register_backbones",
    "dataset": "perception_register_datasets",
}
"""Record kind -> the hook that registers records of that kind."""
