"""Write a sequence of samples as a video file plus per-frame COCO labels.

OpenCV's wheels cannot encode H.264, so the containers offered are ``.mp4`` (``mp4v``) and
``.avi`` (``MJPG``). The labels go to ``<video stem>.json`` next to the video, written with
:class:`~perception.data.coco_writer.CocoBuilder`: one image entry per frame, with
``file_name`` the video's name and ``frame_index`` the frame number (0-based). Depth is not
stored in the video (the entries' ``labels`` omit ``"depth"``).

Both files are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import cv2

from perception.atomic import atomic_path
from perception.data.coco_writer import CocoBuilder
from perception.data.sample import Sample

FOURCC_BY_SUFFIX: dict[str, str] = {".mp4": "mp4v", ".avi": "MJPG"}
"""The codec used for each supported container."""


def labels_path(video_path: Path) -> Path:
    """Where :func:`write_video` puts the labels of ``video_path``."""
    return Path(video_path).with_suffix(".json")


def write_video(samples: Iterable[Sample], path: Path, fps: float) -> tuple[Path, Path]:
    """Write ``samples`` (all ``(H, W, 3)`` RGB of one size) as frames of ``path``.

    Frames are streamed: the samples are not held in memory. Returns ``(video, labels)``.

    Raises:
        ValueError: unsupported suffix, ``fps <= 0``, no frames, or frames of different sizes.
        OSError: OpenCV could not open a writer for the file.
    """
    path = Path(path)
    fourcc = FOURCC_BY_SUFFIX.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{path}: video suffix must be one of {sorted(FOURCC_BY_SUFFIX)}")
    if fps <= 0:
        raise ValueError(f"{path}: fps must be positive, got {fps}")
    builder = CocoBuilder(description=f"frames of {path.name}")
    with atomic_path(path) as temporary:
        writer: cv2.VideoWriter | None = None
        size: tuple[int, int] | None = None
        try:
            for index, sample in enumerate(samples):
                if writer is None:
                    size = (sample.width, sample.height)
                    writer = cv2.VideoWriter(
                        str(temporary), cv2.VideoWriter.fourcc(*fourcc), float(fps), size
                    )
                    if not writer.isOpened():
                        raise OSError(
                            f"cv2.VideoWriter could not open {path} with fourcc {fourcc!r} "
                            f"at {size[0]}x{size[1]}, {fps} fps"
                        )
                if (sample.width, sample.height) != size:
                    raise ValueError(
                        f"{path}: frame {index} ({sample.image_id!r}) is "
                        f"{sample.width}x{sample.height}, expected {size[0]}x{size[1]}"
                    )
                writer.write(cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
                builder.add(
                    dataclasses.replace(sample, depth=None),
                    file_name=path.name,
                    extra={"frame_index": index},
                )
        finally:
            if writer is not None:
                writer.release()
        if writer is None:
            raise ValueError(f"{path}: no frames to write")
    return path, builder.write(labels_path(path))
