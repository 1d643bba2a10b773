"""Backbone weights from a local file (nothing is ever downloaded).

A weights file is a state dict saved with ``torch.save`` (for torchvision backbones: the keys of
the torchvision classification model, e.g. ``torchvision.models.resnet18(weights=...)``), or a
checkpoint dict holding such a state dict under ``"state_dict"`` or ``"model"``. Files are read
with ``torch.load(weights_only=True)``, so a file cannot run code. A factory reads the file
before building its module (so a missing file fails fast), then loads it into the module::

    weights = WeightsFile.read(pretrained) if pretrained is not None else None
    backbone = MyBackbone()
    if weights is not None:
        weights.load_into(backbone, target="backbone 'mine'")
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from perception.errors import ConfigError, MalformedFileError, MissingFileError

CHECKPOINT_KEYS = ("state_dict", "model")
"""Keys under which a checkpoint dict may hold the state dict itself."""

EXAMPLES_SHOWN = 3
"""How many offending keys an error message lists."""


@dataclass(frozen=True)
class WeightsFile:
    """A state dict read from ``path`` (tensors on the CPU)."""

    path: Path
    state: dict[str, torch.Tensor]

    @classmethod
    def read(cls, path: str | Path) -> WeightsFile:
        """Read ``path``; :class:`MissingFileError` when it does not exist,
        :class:`MalformedFileError` when it is not a weights-only torch file holding tensors."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"pretrained weights file {path} does not exist")
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
            raise MalformedFileError(
                f"pretrained weights file {path} is not a weights-only torch file: {exc}"
            ) from exc
        if isinstance(loaded, dict):
            for key in CHECKPOINT_KEYS:
                if isinstance(loaded.get(key), dict):
                    loaded = loaded[key]
                    break
        if not isinstance(loaded, dict) or not all(
            isinstance(key, str) and isinstance(value, torch.Tensor)
            for key, value in loaded.items()
        ):
            raise MalformedFileError(
                f"pretrained weights file {path} holds no state dict (a dict of name -> tensor, "
                f"possibly under {' or '.join(repr(key) for key in CHECKPOINT_KEYS)})"
            )
        return cls(path, loaded)

    def load_into(
        self, module: nn.Module, target: str, ignored_prefixes: Iterable[str] = ()
    ) -> None:
        """Copy the weights into ``module``, requiring every key to fit.

        ``target`` names the module in error messages, e.g. ``"backbone 'resnet18'"``. File keys
        starting with one of ``ignored_prefixes`` (e.g. a classifier the backbone dropped) are
        skipped. Any other key the module lacks, any module key the file lacks, or a shape that
        differs raises :class:`ConfigError` naming the file and a few of the offending keys.
        """
        ignored = tuple(ignored_prefixes)
        state = {key: value for key, value in self.state.items() if not key.startswith(ignored)}
        expected = module.state_dict()
        problems = []
        missing = [key for key in expected if key not in state]
        if missing:
            problems.append(f"{len(missing)} missing keys, e.g. {_examples(missing)}")
        unexpected = [key for key in state if key not in expected]
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected keys, e.g. {_examples(unexpected)}")
        mismatched = [
            f"'{key}' {tuple(state[key].shape)} vs {tuple(value.shape)}"
            for key, value in expected.items()
            if key in state and state[key].shape != value.shape
        ]
        if mismatched:
            problems.append(
                f"{len(mismatched)} shapes differ (file vs model), e.g. "
                f"{', '.join(mismatched[:EXAMPLES_SHOWN])}"
            )
        if problems:
            raise ConfigError(
                f"pretrained weights file {self.path} does not fit {target}: {'; '.join(problems)}"
            )
        module.load_state_dict(state)


def _examples(keys: list[str]) -> str:
    return ", ".join(f"'{key}'" for key in keys[:EXAMPLES_SHOWN])
