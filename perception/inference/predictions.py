"""What an engine returns for one frame: a prediction per head, in source-image coordinates.

The head's ``describe()["kind"]`` (carried in an exported file's metadata) picks the type, so
the ONNX engine builds the same objects as the torch engine without any plugin code:

- ``"boxes"`` -> :class:`Detections` (with per-detection attributes such as a lamp state),
- ``"keypoints"`` -> :class:`PoseDetections`,
- ``"depth"`` -> :class:`DepthMap`,
- any other kind -> :class:`RawOutputs` (the frame's rows of the head's outputs, unmapped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np


@dataclass(frozen=True)
class AttributeValues:
    """One attribute of every detection: ``values (N,)`` int64 indices into ``names`` and
    ``scores (N, V)`` float32 probabilities over the ``V`` values."""

    names: tuple[str, ...]
    values: np.ndarray
    scores: np.ndarray

    def labels(self) -> list[str]:
        """The predicted value's name per detection."""
        return [self.names[int(value)] for value in self.values]


@dataclass(frozen=True)
class Detections:
    """Boxes of one head on one frame, strongest first.

    ``boxes (N, 4)`` float32 ``x1, y1, x2, y2`` in source pixels (edge coordinates), ``scores
    (N,)`` float32, ``classes (N,)`` int64 indices into ``class_names``, ``attributes`` by name.
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    class_names: tuple[str, ...]
    attributes: dict[str, AttributeValues] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)

    def labels(self) -> list[str]:
        """The class name per detection."""
        return [self.class_names[int(index)] for index in self.classes]


@dataclass(frozen=True)
class PoseDetections:
    """People with joints on one frame, strongest first.

    ``boxes (N, 4)`` float32 source pixels, ``scores (N,)``, ``keypoints (N, J, 3)`` float32 ``x,
    y, score`` in source pixels (pixel-centre coordinates); ``keypoint_names`` has ``J`` names and
    ``skeleton`` lists joint index pairs to draw as lines.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    keypoint_names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class DepthMap:
    """Dense depth of one frame, the letterbox padding cropped away.

    ``network_metres (h, w)`` float32 is the map at the network's resolution (the frame's
    window in the letterboxed input); ``source_size`` is the frame's ``(height, width)`` (``None``:
    the map is already at the frame's size); ``max_depth`` is the head's upper clamp (for colour
    scales). :attr:`metres` resizes to the frame only when asked: summaries and small insets
    read the network-resolution map and skip the full-size resize.
    """

    network_metres: np.ndarray
    max_depth: float
    source_size: tuple[int, int] | None = None

    @cached_property
    def metres(self) -> np.ndarray:
        """``(source_height, source_width)`` float32 metres (bilinear from the network map)."""
        if self.source_size is None or self.source_size == self.network_metres.shape:
            return self.network_metres
        height, width = self.source_size
        return cv2.resize(self.network_metres, (width, height), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class RawOutputs:
    """A head of a kind this toolkit does not interpret: ``arrays`` holds the frame's rows of its
    outputs, in network-input coordinates, keyed by output name (``"boxes"``, not ``"x.boxes"``)."""

    arrays: dict[str, np.ndarray]


HeadPrediction = Detections | PoseDetections | DepthMap | RawOutputs
"""One head's predictions on one frame."""

FramePredictions = dict[str, HeadPrediction]
"""Every head's predictions on one frame, keyed by head name, in the model's head order."""
