"""Helpers for the video tests: writing test videos, reading outputs back, reading JSON lines."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from perception.inference.predictions import AttributeValues, Detections, PoseDetections


def write_test_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write BGR ``frames`` (one size) with OpenCV: mp4v for .mp4, MJPG for .avi."""
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
"""MP4 boxes on the way from the file to a track's time-to-sample table (``stts``)."""


def retime_mp4(path: Path, periods: list[float]) -> Path:
    """Show the frames of the constant-rate, one-track MP4 ``path`` (laid out as OpenCV's writer
    does: the ``moov`` box after the media data) for ``periods`` (one per frame, in frame
    periods of the original rate) by rewriting its time-to-sample (``stts``) table: a
    variable-frame-rate file. Keep their sum at the frame count so the stated duration holds."""
    data = bytearray(path.read_bytes())

    def retimed(box: bytes) -> bytes:
        entries, count, delta = struct.unpack(">III", box[12:24])
        assert entries == 1 and count == len(periods), "one constant-rate run of every frame"
        table = struct.pack(">II", 0, len(periods))
        for period in periods:
            table += struct.pack(">II", 1, round(period * delta))
        return struct.pack(">I4s", 8 + len(table), b"stts") + table

    def rewrite(start: int, end: int) -> int | None:
        """Replace the ``stts`` box within ``data[start:end]``; how many bytes it grew by."""
        position = start
        while position < end:
            size, kind = struct.unpack(">I4s", data[position : position + 8])
            if kind == b"stts":
                box = retimed(bytes(data[position : position + size]))
                data[position : position + size] = box
                return len(box) - size
            if kind in _CONTAINERS:
                growth = rewrite(position + 8, position + size)
                if growth is not None:
                    data[position : position + 4] = struct.pack(">I", size + growth)
                    return growth
            position += size
        return None

    assert rewrite(0, len(data)) is not None, f"{path}: no stts box"
    path.write_bytes(bytes(data))
    return path


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame OpenCV decodes from ``path`` and its frame rate."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` parsed (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def detections_from_json(
    entries: list[dict[str, Any]],
    class_names: tuple[str, ...],
    attribute_values: dict[str, tuple[str, ...]] | None = None,
) -> Detections:
    """A JSON-lines box head entry back as :class:`Detections` (for set-wise comparison);
    ``attribute_values`` names each attribute's values, in order."""
    attributes = {
        name: AttributeValues(
            names=values,
            values=np.array([values.index(e["attributes"][name]) for e in entries], np.int64),
            scores=np.array([e["attribute_scores"][name] for e in entries], np.float32).reshape(
                len(entries), len(values)
            ),
        )
        for name, values in (attribute_values or {}).items()
    }
    return Detections(
        boxes=np.array([entry["box"] for entry in entries], np.float32).reshape(-1, 4),
        scores=np.array([entry["score"] for entry in entries], np.float32),
        classes=np.array([class_names.index(entry["class"]) for entry in entries], np.int64),
        class_names=class_names,
        attributes=attributes,
    )


def people_from_json(entries: list[dict[str, Any]]) -> PoseDetections:
    """A JSON-lines keypoint head entry back as :class:`PoseDetections`."""
    keypoints = np.array([entry["keypoints"] for entry in entries], np.float32)
    return PoseDetections(
        boxes=np.array([entry["box"] for entry in entries], np.float32).reshape(-1, 4),
        scores=np.array([entry["score"] for entry in entries], np.float32),
        keypoints=keypoints.reshape(len(entries), -1, 3),
        keypoint_names=(),
        skeleton=(),
    )
