"""What a run is built from, resolved from the config: device, datasets, balancer, optimizer."""

from __future__ import annotations

import inspect

import torch
from torch import nn
from torch.utils.data import Dataset

from perception.balancing.balancer import Balancer
from perception.config.schema import RunConfig
from perception.data.sample import Sample
from perception.data.task_label_fraction import TaskLabelFraction
from perception.errors import ConfigError
from perception.model.cross_stitch import CrossStitch
from perception.plugins import get_plugin_manager


def resolve_device(name: str, key: str = "train.device") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; anything else is a torch device string.
    ``key`` names the setting in error messages."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"{key}: '{name}' is not a device (use auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key} is '{name}' but CUDA is not available on this machine")
    return device


def build_dataset(config: RunConfig, split: str) -> Dataset[Sample]:
    """The ``data.dataset`` plugin's dataset for ``split``; the training split keeps each task
    of ``data.label_fraction`` labelled on that fraction of its images only."""
    record = get_plugin_manager().datasets.get(config.data.dataset)
    dataset = record.factory(config, split)
    fractions = config.data.label_fraction
    if split == config.data.split and fractions:
        unknown = sorted(set(fractions) - set(config.model.heads))
        if unknown:
            raise ConfigError(
                f"data.label_fraction names {unknown}, which are not in model.heads "
                f"{config.model.heads}"
            )
        bad = {task: value for task, value in fractions.items() if not 0.0 <= value <= 1.0}
        if bad:
            raise ConfigError(f"data.label_fraction values must be in [0, 1], got {bad}")
        dataset = TaskLabelFraction(dataset, fractions, config.seed)
    return dataset


def build_balancer(config: RunConfig, task_names: list[str]) -> Balancer:
    """The ``balancer.type`` plugin for these tasks."""
    record = get_plugin_manager().balancers.get(config.balancer.type)
    options = dict(config.balancer.options)
    try:
        inspect.signature(record.factory).bind(task_names, **options)
    except TypeError as exc:
        raise ConfigError(f"balancer '{config.balancer.type}': {exc}") from None
    balancer = record.factory(task_names, **options)
    if not isinstance(balancer, Balancer):
        raise ConfigError(
            f"balancer '{config.balancer.type}': factory returned {type(balancer).__name__}, "
            "not a Balancer"
        )
    return balancer


def build_optimizer(model: nn.Module, balancer: Balancer, config: RunConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on conv and linear weights only (not on norms, biases, cross-stitch
    mixing weights or the balancer's own parameters). Decay would pull a cross-stitch unit's
    ``alpha`` towards zero, shrinking every task's features, rather than towards the identity."""
    mixing = {
        id(parameter)
        for module in model.modules()
        if isinstance(module, CrossStitch)
        for parameter in module.parameters()
    }
    decay, no_decay = [], []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        decayed = parameter.ndim > 1 and id(parameter) not in mixing
        (decay if decayed else no_decay).append(parameter)
    no_decay.extend(p for p in balancer.parameters() if p.requires_grad)
    groups = [
        {"params": decay, "weight_decay": config.train.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.train.lr)
