"""Build the multi-task model a config describes, from the plugin registries."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from perception.config.schema import RunConfig
from perception.errors import ConfigError, PluginError
from perception.model.multitask import MultiTaskModel
from perception.model.neck import FPNNeck
from perception.model.task_head import TaskHead
from perception.plugins import get_plugin_manager


def build_model(config: RunConfig) -> MultiTaskModel:
    """Backbone ``model.backbone`` + FPN neck + the heads ``model.heads``, in that order.

    Raises :class:`PluginError` for an unknown backbone or head name and :class:`ConfigError`
    for head options that do not belong to any enabled head.
    """
    model_config = config.model
    manager = get_plugin_manager()
    if not model_config.heads:
        raise ConfigError("model.heads is empty; name at least one head (see `perception plugins`)")
    duplicates = sorted({h for h in model_config.heads if model_config.heads.count(h) > 1})
    if duplicates:
        raise ConfigError(f"model.heads names {duplicates} more than once")
    stray = sorted(set(model_config.head_options) - set(model_config.heads))
    if stray:
        raise ConfigError(
            f"model.head_options has options for {stray}, which are not in model.heads "
            f"{model_config.heads}"
        )
    head_records = {name: manager.heads.get(name) for name in model_config.heads}
    backbone_record = manager.backbones.get(model_config.backbone)
    backbone = _call_factory(
        backbone_record.factory,
        f"backbone '{model_config.backbone}'",
        pretrained=model_config.pretrained,
        **model_config.backbone_options,
    )
    neck = FPNNeck(backbone.feature_spec, model_config.neck_channels)
    input_size = (config.data.input_height, config.data.input_width)
    if input_size[0] % neck.feature_spec.max_stride or input_size[1] % neck.feature_spec.max_stride:
        raise ConfigError(
            f"data.input_height x data.input_width = {input_size[0]}x{input_size[1]} must be "
            f"multiples of the backbone's largest stride {neck.feature_spec.max_stride}"
        )
    heads: dict[str, TaskHead] = {}
    for name, record in head_records.items():
        head = _call_factory(
            record.factory,
            f"head '{name}'",
            feature_spec=neck.feature_spec,
            input_size=input_size,
            **model_config.head_options.get(name, {}),
        )
        if not isinstance(head, TaskHead):
            raise PluginError(
                f"head '{name}': its factory returned {type(head).__name__}, not a TaskHead"
            )
        head.name = name
        heads[name] = head
    model = MultiTaskModel(backbone, neck, heads)
    if model_config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _call_factory(factory: Any, what: str, **kwargs: Any) -> nn.Module:
    """Call a plugin factory; a ``TypeError`` from a bad keyword becomes a clear ConfigError."""
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    return factory(**kwargs)
