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
from perception.model.soft_sharing import SoftSharingModel
from perception.model.task_head import TaskHead
from perception.plugins import get_plugin_manager

PerceptionModel = MultiTaskModel | SoftSharingModel
"""What :func:`build_model` returns: the hard- or the soft-sharing model (same interface)."""


def build_model(config: RunConfig) -> PerceptionModel:
    """Backbone ``model.backbone`` + FPN neck + the heads ``model.heads``, in that order; with
    ``model.sharing: soft``, one backbone and neck per head, all starting from the first
    backbone's weights, tied by ``model.soft_tie``.

    Raises :class:`PluginError` for an unknown backbone or head name and :class:`ConfigError`
    for head options that do not belong to any enabled head, or for a soft tie the backbone
    cannot support.
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
    if model_config.soft_l2_weight < 0:
        raise ConfigError(f"model.soft_l2_weight must be >= 0, got {model_config.soft_l2_weight}")
    head_records = {name: manager.heads.get(name) for name in model_config.heads}
    backbone = _build_backbone(config)
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
    model: PerceptionModel
    if model_config.sharing == "soft":
        model = _soft_sharing_model(config, backbone, heads)
    else:
        model = MultiTaskModel(backbone, neck, heads)
    if model_config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _build_backbone(config: RunConfig) -> nn.Module:
    """The backbone ``model.backbone`` with ``model.backbone_options`` and ``model.pretrained``."""
    model_config = config.model
    record = get_plugin_manager().backbones.get(model_config.backbone)
    return _call_factory(
        record.factory,
        f"backbone '{model_config.backbone}'",
        pretrained=model_config.pretrained,
        **model_config.backbone_options,
    )


def _soft_sharing_model(
    config: RunConfig, first_backbone: nn.Module, heads: dict[str, TaskHead]
) -> SoftSharingModel:
    """One backbone (a copy of ``first_backbone``'s weights) and one neck per head."""
    model_config = config.model
    if model_config.soft_tie == "cross_stitch" and not hasattr(first_backbone, "forward_stage"):
        raise ConfigError(
            f"model.soft_tie=cross_stitch stitches between backbone levels, which needs a "
            f"backbone with forward_stage(index, x); backbone '{model_config.backbone}' has "
            f"none. Use model.soft_tie=l2, or a built-in backbone"
        )
    backbones: dict[str, nn.Module] = {}
    for name in heads:
        if backbones:
            backbone = _build_backbone(config)
            backbone.load_state_dict(first_backbone.state_dict())
        else:
            backbone = first_backbone
        backbones[name] = backbone
    necks = {
        name: FPNNeck(first_backbone.feature_spec, model_config.neck_channels) for name in heads
    }
    return SoftSharingModel(
        backbones, necks, heads, tie=model_config.soft_tie, l2_weight=model_config.soft_l2_weight
    )


def _call_factory(factory: Any, what: str, **kwargs: Any) -> nn.Module:
    """Call a plugin factory; a ``TypeError`` from a bad keyword becomes a clear ConfigError."""
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    return factory(**kwargs)
