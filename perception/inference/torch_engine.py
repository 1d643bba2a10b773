"""The torch engine: a trained multi-task model (or checkpoint) behind ``predict(frames)``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from perception.inference.engine import InferenceEngine
from perception.model.flat_outputs import FlatOutputs
from perception.model.head_selection import select_heads
from perception.train.checkpoint import load_checkpoint, model_from_checkpoint
from perception.train.components import resolve_device


class TorchEngine(InferenceEngine):
    """Runs a multi-task model in eager PyTorch.

    Args:
        model: a hard- or soft-sharing multi-task model (eval forward ``(B, 3, H, W)`` RGB in
            ``[0, 255]`` -> ``{head: {output: tensor}}``); it is moved to ``device`` and put in
            eval mode.
        input_size: the model's ``(height, width)``.
        heads: the heads to predict, in this order (default: all).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"`` (CUDA when available).
    """

    def __init__(
        self,
        model: nn.Module,
        input_size: tuple[int, int],
        heads: Sequence[str] | None = None,
        device: str = "cpu",
    ) -> None:
        selected = select_heads(model, heads)
        super().__init__(input_size, {name: head.describe() for name, head in selected})
        self._device = resolve_device(device, key="device")
        self.model = model.to(self._device).eval()
        self._outputs = FlatOutputs(self.model, list(self.heads))

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, heads: Sequence[str] | None = None, device: str = "cpu"
    ) -> TorchEngine:
        """The engine for a checkpoint written by training (read with ``weights_only=True``)."""
        checkpoint = load_checkpoint(path)
        data = checkpoint.config.data
        model = model_from_checkpoint(checkpoint)
        return cls(model, (data.input_height, data.input_width), heads, device)

    @property
    def device(self) -> str:
        return f"torch {self._device}"

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            named = self._outputs.named(torch.from_numpy(images).to(self._device))
        return {name: value.cpu().numpy() for name, value in named.items()}
