"""Training checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors and primitives (no pickled objects)::

    format, format_version, toolkit_version, config (the resolved RunConfig as a dict),
    heads (names, in model order), model (state dict), optimizer, scheduler, balancer,
    step (optimizer steps done), epoch, epoch_step (batches of ``epoch`` already consumed)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from perception import __version__
from perception.atomic import write_bytes_atomic
from perception.config.loader import build_dataclass, config_to_dict
from perception.config.schema import RunConfig
from perception.errors import ConfigError, MalformedFileError, MissingFileError
from perception.model.build import PerceptionModel, build_model

FORMAT = "perception-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "format_version", "config", "heads", "model", "step")
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Checkpoint:
    """A loaded checkpoint; ``config`` is rebuilt into a :class:`RunConfig`."""

    path: Path
    config: RunConfig
    heads: list[str]
    model: dict[str, torch.Tensor]
    step: int
    epoch: int
    epoch_step: int
    optimizer: dict[str, Any] | None
    scheduler: dict[str, Any] | None
    balancer: dict[str, Any] | None
    toolkit_version: str


def save_checkpoint(
    path: str | Path,
    config: RunConfig,
    heads: list[str],
    model_state: dict[str, torch.Tensor],
    step: int,
    epoch: int = 0,
    epoch_step: int = 0,
    optimizer_state: dict[str, Any] | None = None,
    scheduler_state: dict[str, Any] | None = None,
    balancer_state: dict[str, Any] | None = None,
) -> Path:
    """Serialise to memory, then write to a temporary name and rename onto ``path``."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "toolkit_version": __version__,
        "config": config_to_dict(config),
        "heads": list(heads),
        "model": {k: v.detach().cpu() for k, v in model_state.items()},
        "step": int(step),
        "epoch": int(epoch),
        "epoch_step": int(epoch_step),
        "optimizer": optimizer_state,
        "scheduler": scheduler_state,
        "balancer": balancer_state,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; a missing, corrupt or foreign file raises a one-line error naming it."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint {path} does not exist")
    with path.open("rb") as file:
        if file.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise MalformedFileError(
                f"checkpoint {path} is not a torch checkpoint (torch.save writes a zip archive); "
                "give a checkpoint written by `perception train` or an exported .onnx model"
            )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for truncated or foreign files
        raise MalformedFileError(unreadable_checkpoint_message(path, str(exc))) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MalformedFileError(f"checkpoint {path} is not a perception checkpoint")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise MalformedFileError(f"checkpoint {path} lacks {missing}")
    if payload["format_version"] > FORMAT_VERSION:
        raise MalformedFileError(
            f"checkpoint {path} has format version {payload['format_version']}; this toolkit "
            f"reads up to {FORMAT_VERSION}"
        )
    try:
        config = build_dataclass(RunConfig, payload["config"], "", f"checkpoint {path}")
    except ConfigError as exc:
        raise MalformedFileError(f"{exc} (the config stored in the checkpoint)") from None
    return Checkpoint(
        path=path,
        config=config,
        heads=list(payload["heads"]),
        model=payload["model"],
        step=int(payload["step"]),
        epoch=int(payload.get("epoch", 0)),
        epoch_step=int(payload.get("epoch_step", 0)),
        optimizer=payload.get("optimizer"),
        scheduler=payload.get("scheduler"),
        balancer=payload.get("balancer"),
        toolkit_version=str(payload.get("toolkit_version", "unknown")),
    )


def unreadable_checkpoint_message(path: Path, error: str) -> str:
    """One line for a zip checkpoint ``torch.load(weights_only=True)`` failed on: the Python
    class a weights-only load refused (another tool's pickled model), or torch's first line."""
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", error)
    if refused:
        return (
            f"checkpoint {path} holds a pickled Python object ({refused.group(1)}), which a "
            "weights-only load refuses: it is not a perception checkpoint"
        )
    reason = error.strip().splitlines()[0] if error.strip() else "no reason given"
    return (
        f"checkpoint {path} cannot be read (corrupt, truncated or not a perception checkpoint): "
        f"{reason[:200]}"
    )


def check_compatible(checkpoint: Checkpoint, config: RunConfig) -> None:
    """Refuse to load ``checkpoint`` into the model ``config`` describes when the head set, the
    backbone or the sharing differ (a clear message instead of a state-dict key dump)."""
    if checkpoint.heads != list(config.model.heads):
        raise ConfigError(
            f"checkpoint {checkpoint.path} was trained with heads {checkpoint.heads}, but the "
            f"config asks for {list(config.model.heads)}"
        )
    if checkpoint.config.model.backbone != config.model.backbone:
        raise ConfigError(
            f"checkpoint {checkpoint.path} was trained with backbone "
            f"'{checkpoint.config.model.backbone}', but the config asks for "
            f"'{config.model.backbone}'"
        )
    trained_sharing, asked_sharing = _sharing(checkpoint.config), _sharing(config)
    if trained_sharing != asked_sharing:
        raise ConfigError(
            f"checkpoint {checkpoint.path} was trained with {trained_sharing}, but the config "
            f"asks for {asked_sharing}"
        )


def _sharing(config: RunConfig) -> str:
    """``"hard sharing"`` or ``"soft sharing (<tie>)"``, for messages and comparison."""
    if config.model.sharing == "soft":
        return f"soft sharing ({config.model.soft_tie})"
    return "hard sharing"


def model_from_checkpoint(checkpoint: Checkpoint) -> PerceptionModel:
    """The model the checkpoint's own config describes, with the checkpoint's weights, in eval
    mode on the CPU."""
    model = build_model(checkpoint.config)
    check_compatible(checkpoint, checkpoint.config)
    try:
        model.load_state_dict(checkpoint.model)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise MalformedFileError(
            f"checkpoint {checkpoint.path} does not fit the model its config builds: {first}"
        ) from None
    return model.eval()
