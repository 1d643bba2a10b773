"""The interface every inference engine offers: ``predict(frames) -> predictions``.

An engine letterboxes frames to its input size, runs its network on the ``(B, 3, H, W)`` float32
RGB batch, and decodes the outputs into per-frame predictions in source-frame pixels. Engines
differ only in :meth:`InferenceEngine.run`, so the torch and ONNX Runtime engines letterbox and
decode identically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from perception.data.letterbox import LetterboxWindow, letterbox_image
from perception.errors import PerceptionError
from perception.inference.decode_predictions import decode_predictions
from perception.inference.predictions import FramePredictions

DEFAULT_SCORE_THRESHOLD = 0.3
"""Detections scoring below this are dropped unless ``predict`` is told otherwise."""

ColourOrder = Literal["BGR", "RGB"]


class InferenceEngine(ABC):
    """Letterbox, run, decode.

    Args:
        input_size: the network's ``(height, width)``.
        heads: ``{head: describe() dict}`` for the heads this engine predicts, in order.
    """

    def __init__(self, input_size: tuple[int, int], heads: Mapping[str, Mapping[str, Any]]):
        self.input_height, self.input_width = input_size
        self.heads: dict[str, Mapping[str, Any]] = dict(heads)

    @property
    @abstractmethod
    def device(self) -> str:
        """Where the network runs, in words (``"torch cpu"``, ``"CUDAExecutionProvider"``)."""

    @abstractmethod
    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """``images (B, 3, H, W)`` float32 RGB in ``[0, 255]`` at the input size ->
        ``{"<head>.<output>": array (B, ...)}`` for every head in :attr:`heads`, floating point as
        float32, in network-input pixels."""

    def preprocess(
        self, frames: Sequence[np.ndarray], colour_order: ColourOrder = "BGR"
    ) -> tuple[np.ndarray, list[LetterboxWindow]]:
        """Letterbox ``frames`` (each ``(h, w, 3)`` uint8, any size) into the network batch
        ``(B, 3, H, W)`` float32 RGB, and return each frame's window."""
        if not len(frames):
            raise PerceptionError("predict() needs at least one frame")
        batch = np.empty((len(frames), 3, self.input_height, self.input_width), np.float32)
        windows = []
        for index, frame in enumerate(frames):
            _check_frame(frame, index)
            image, window = letterbox_image(frame, self.input_height, self.input_width)
            if colour_order == "BGR":  # swap channels on the small letterboxed image
                image = image[..., ::-1]
            batch[index] = image.transpose(2, 0, 1)
            windows.append(window)
        return batch, windows

    def predict(
        self,
        frames: Sequence[np.ndarray],
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        colour_order: ColourOrder = "BGR",
    ) -> list[FramePredictions]:
        """Predictions for each of ``frames`` (``(h, w, 3)`` uint8, BGR as OpenCV reads them
        unless ``colour_order="RGB"``), in source-frame pixels."""
        batch, windows = self.preprocess(frames, colour_order)
        return self.decode(self.run(batch), windows, score_threshold)

    def decode(
        self,
        outputs: Mapping[str, np.ndarray],
        windows: Sequence[LetterboxWindow],
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    ) -> list[FramePredictions]:
        """:meth:`run`'s outputs for frames letterboxed into ``windows`` -> predictions."""
        return decode_predictions(outputs, self.heads, windows, score_threshold)


def _check_frame(frame: Any, index: int) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        kind = getattr(frame, "dtype", type(frame).__name__)
        raise PerceptionError(f"frame {index}: expected a uint8 numpy image, got {kind}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise PerceptionError(
            f"frame {index}: expected shape (height, width, 3), got {frame.shape}"
        )
