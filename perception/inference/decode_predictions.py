"""Turn a batch of graph outputs into :class:`~perception.inference.predictions.FramePredictions`.

The graph's outputs are ``{"<head>.<output>": (B, ...)}`` in network-input pixels; each head is
interpreted through its ``describe()`` dict (the same dict the exporter writes into the file's
metadata), then mapped back to the source frame through that frame's letterbox window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from perception.data.letterbox import LetterboxWindow, boxes_to_source, keypoints_to_source
from perception.inference.predictions import (
    AttributeValues,
    DepthMap,
    Detections,
    FramePredictions,
    HeadPrediction,
    PoseDetections,
    RawOutputs,
)


def decode_predictions(
    outputs: Mapping[str, np.ndarray],
    heads: Mapping[str, Mapping[str, Any]],
    windows: Sequence[LetterboxWindow],
    score_threshold: float,
) -> list[FramePredictions]:
    """One :data:`FramePredictions` per frame.

    Args:
        outputs: ``{"<head>.<output>": array (B, ...)}`` for every head in ``heads``.
        heads: ``{head: describe() dict}``, in the order predictions are returned.
        windows: the ``B`` frames' letterbox windows.
        score_threshold: detections (boxes and people) scoring below it are dropped.
    """
    frames: list[FramePredictions] = [{} for _ in windows]
    for head, description in heads.items():
        prefix = f"{head}."
        arrays = {
            name[len(prefix) :]: value for name, value in outputs.items() if name.startswith(prefix)
        }
        for index, window in enumerate(windows):
            rows = {name: value[index] for name, value in arrays.items()}
            frames[index][head] = _head_prediction(description, rows, window, score_threshold)
    return frames


def _head_prediction(
    description: Mapping[str, Any],
    rows: dict[str, np.ndarray],
    window: LetterboxWindow,
    score_threshold: float,
) -> HeadPrediction:
    """One head's prediction on one frame from its rows of the outputs."""
    kind = description.get("kind")
    if kind == "boxes":
        return _detections(description, rows, window, score_threshold)
    if kind == "keypoints":
        return _pose_detections(description, rows, window, score_threshold)
    if kind == "depth":
        return _depth_map(description, rows, window)
    return RawOutputs(rows)


def _detections(
    description: Mapping[str, Any],
    rows: dict[str, np.ndarray],
    window: LetterboxWindow,
    score_threshold: float,
) -> Detections:
    keep = rows["scores"] >= score_threshold
    attributes = {
        name: AttributeValues(
            names=tuple(entry["values"]),
            values=rows[name][keep].astype(np.int64),
            scores=rows[f"{name}_scores"][keep].astype(np.float32),
        )
        for name, entry in description.get("attributes", {}).items()
    }
    return Detections(
        boxes=boxes_to_frame(rows["boxes"][keep], window),
        scores=rows["scores"][keep].astype(np.float32),
        classes=rows["classes"][keep].astype(np.int64),
        class_names=tuple(description["classes"]),
        attributes=attributes,
    )


def _pose_detections(
    description: Mapping[str, Any],
    rows: dict[str, np.ndarray],
    window: LetterboxWindow,
    score_threshold: float,
) -> PoseDetections:
    keep = rows["scores"] >= score_threshold
    return PoseDetections(
        boxes=boxes_to_frame(rows["boxes"][keep], window),
        scores=rows["scores"][keep].astype(np.float32),
        keypoints=keypoints_to_source(rows["keypoints"][keep], window.mapping()),
        keypoint_names=tuple(description.get("keypoint_names", ())),
        skeleton=tuple((int(a), int(b)) for a, b in description.get("skeleton", ())),
    )


def _depth_map(
    description: Mapping[str, Any], rows: dict[str, np.ndarray], window: LetterboxWindow
) -> DepthMap:
    """The ``(1, H, W)`` input-size map cropped to the frame's window (resized to the frame
    lazily, by :attr:`DepthMap.metres`)."""
    cropped = np.ascontiguousarray(rows["map"][0][window.slices], dtype=np.float32)
    return DepthMap(
        network_metres=cropped,
        max_depth=float(description.get("max_depth", cropped.max())),
        source_size=(window.source_height, window.source_width),
    )


def boxes_to_frame(boxes: np.ndarray, window: LetterboxWindow) -> np.ndarray:
    """``(N, 4)`` input-pixel boxes -> source-frame pixels (edge coordinates), clipped to the
    frame; float32."""
    mapped = boxes_to_source(boxes.reshape(-1, 4), window.mapping())
    limits = np.array([window.source_width, window.source_height] * 2, dtype=np.float32)
    return np.clip(mapped, 0.0, limits)
