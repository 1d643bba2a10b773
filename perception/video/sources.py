"""Where frames come from: a video file, a folder of images, one image, a camera or a stream.

:func:`open_source` decides from the SOURCE argument and fails at once, naming it, when the source
cannot be opened or yields no decodable first frame. :meth:`FrameSource.frames` then yields
:class:`SourceFrame` ``(index, image, seconds)`` with ``image`` ``(H, W, 3)`` uint8 BGR, or
``None`` for a frame that could not be decoded (the caller skips and counts it).

A URL is a stream (live) when it has no known length (RTSP, an MJPEG camera, live HLS) and is
read like a video file when it has one (an MP4 over HTTP, HLS video on demand).

``seconds`` is when the frame is shown: a video file's own timestamp (so variable-frame-rate
files are timed right), ``index / fps`` where the file has none; for a camera or stream, the time
from reading its first frame to reading this one; ``index / IMAGE_FPS`` for image files.
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np

from perception.errors import InputFileError, MissingFileError

# FFmpeg's own log ("moov atom not found", "No JPEG data found") would interleave with ours; the
# sources report unreadable files and frames themselves. Read when the first capture opens.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
"""Files a folder source reads, by suffix (case-insensitive)."""

IMAGE_FPS = 10.0
"""The frame rate given to a folder of images (they have none of their own)."""

MAX_CONSECUTIVE_FAILURES = 30
"""A video stops after this many undecodable frames in a row (a broken tail), a camera or stream
after this many failed reads in a row (it closed or broke)."""

URL_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

CaptureKind = Literal["file", "camera", "url"]
"""What a :class:`CaptureSource` reads: a local video file, a camera, or a URL (stream or file)."""


@dataclass(frozen=True)
class SourceInfo:
    """What a source is: ``name`` (for messages and output names), frame size, ``fps``, the
    number of frames when known, and whether it is ``live`` (a camera or stream, where frames
    that cannot be processed in time are dropped rather than queued)."""

    name: str
    width: int
    height: int
    fps: float
    frame_count: int | None
    live: bool


class SourceFrame(NamedTuple):
    """Frame ``index`` of a source: ``image`` ``(H, W, 3)`` uint8 BGR, or ``None`` when it could
    not be decoded, shown at ``seconds`` (see the module docstring)."""

    index: int
    image: np.ndarray | None
    seconds: float


class FrameSource(ABC):
    """An opened source of frames. ``end_note`` says why :meth:`frames` ended early, once it
    has (a stalled or closed stream, a file whose tail cannot be decoded); the caller reports
    it."""

    info: SourceInfo
    end_note: str | None = None

    @abstractmethod
    def frames(self) -> Iterator[SourceFrame]:
        """The frames in order, undecodable ones included (as ``image=None``)."""

    def close(self) -> None:  # noqa: B027 (image files hold nothing open)
        """Release the underlying device or file."""

    def frames_named(self, first: int, last: int) -> str:
        """Frames ``first`` to ``last`` (the same for one frame) in words, for messages:
        ``frame 4 of drive.mp4``, ``frames 4-5 of drive.mp4``."""
        if first == last:
            return f"frame {first} of {self.info.name}"
        return f"frames {first}-{last} of {self.info.name}"


DECODE_THREADS = 1
"""FFmpeg decoder threads for files and streams. The reader thread already decodes beside the
engine; frame-threaded decoding cost a 1280x720 H.264 frame 5 ms of CPU against 3 ms on one
thread (a one-off timing of the highway clip), CPU taken from the engine on a small machine."""


STREAM_TIMEOUT_SECONDS = 10.0
"""How long opening a URL, or waiting for its next frame, may take. A camera or URL that sends no
frame for this long has ended. (OpenCV's FFmpeg default is 30 s per read; after a stall its
reads either fail at once or each wait out the timeout again, so a stalled stream used to end as
30 "undecodable" frames, after up to 15 minutes.)"""


def _open_capture(target: str | int, timeout_seconds: float | None) -> cv2.VideoCapture:
    """``cv2.VideoCapture`` of a camera index as is; of a file or URL with
    :data:`DECODE_THREADS` decoder threads and, given ``timeout_seconds``, that limit on opening
    and on each read; without those settings when no backend opens it with them."""
    if isinstance(target, str):
        params = [cv2.CAP_PROP_N_THREADS, DECODE_THREADS]
        if timeout_seconds is not None:
            milliseconds = round(1000 * timeout_seconds)
            params += [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                milliseconds,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                milliseconds,
            ]
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(target)


class CaptureSource(FrameSource):
    """A video file, camera or URL read with ``cv2.VideoCapture``.

    A camera is live; a URL is live when it has no known frame count (a stream) and is read like
    a file when it has one (see the module docstring). A failed read before the known end of a
    file is an undecodable frame (``None``); reading stops at the end, after
    :data:`MAX_CONSECUTIVE_FAILURES` failures in a row (before a file's known end, the
    :attr:`end_note` names the frames not read), or, for a camera or URL, at a failed read that
    waited out ``timeout_seconds`` or follows a read that did (the source stalled; see
    :attr:`end_note`). ``timeout_seconds`` also limits opening a URL.
    """

    def __init__(
        self,
        target: str | int,
        name: str,
        kind: CaptureKind,
        timeout_seconds: float = STREAM_TIMEOUT_SECONDS,
    ) -> None:
        self._timeout_seconds = timeout_seconds
        self._watch_stalls = kind != "file"
        self._capture = _open_capture(target, timeout_seconds if kind == "url" else None)
        if not self._capture.isOpened():
            what = f"video file {name}" if kind == "file" else name
            raise InputFileError(f"cannot open {what} (OpenCV could not read it)")
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise InputFileError(f"{name}: no frame could be decoded from the start of it")
        self._first_read = time.monotonic()
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        live = kind == "camera" or (kind == "url" and count <= 0)
        self.info = SourceInfo(
            name=name,
            width=first.shape[1],
            height=first.shape[0],
            fps=fps if 0 < fps < 1000 else 30.0,
            frame_count=None if live or count <= 0 else count,
            live=live,
        )
        self._first: SourceFrame | None = SourceFrame(0, first, self._seconds(0))

    @property
    def decoder_threads(self) -> int:
        """The decoder's thread count as OpenCV reports it (-1 where the backend cannot tell)."""
        return int(self._capture.get(cv2.CAP_PROP_N_THREADS))

    def _seconds(self, index: int) -> float:
        """When frame ``index``, just read, is shown: for a file its presentation timestamp
        (``index / fps`` where the file has none: OpenCV reports 0 after the first frame); for a
        camera or stream the time since its first frame was read."""
        if self.info.live:
            return time.monotonic() - self._first_read
        timestamp = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        return timestamp if timestamp > 0 or index == 0 else index / self.info.fps

    def frames(self) -> Iterator[SourceFrame]:
        if self._first is None:
            raise RuntimeError(f"{self.info.name}: frames() can be iterated once")
        first, self._first = self._first, None
        yield first
        index, failures, stalled = 1, 0, False
        known_end = self.info.frame_count
        while failures < MAX_CONSECUTIVE_FAILURES:
            if known_end is not None and index >= known_end:
                return
            started = time.monotonic()
            ok, frame = self._capture.read()
            # a read that waited out the timeout: the camera or URL stalled, and FFmpeg's reads
            # fail from then on, even when this one still decoded a frame it had buffered
            waited_out = self._watch_stalls and time.monotonic() - started >= self._timeout_seconds
            if ok and frame is not None:
                failures, stalled = 0, waited_out
                yield SourceFrame(index, frame, self._seconds(index))
            else:
                if known_end is None and not self.info.live:
                    return
                if stalled or waited_out:
                    self.end_note = (
                        f"{self.info.name} sent no frame for {self._timeout_seconds:g} s; "
                        "treated as ended"
                    )
                    return
                failures += 1
                if self.info.live:
                    continue  # a stream's failed read is no frame to skip: it has no index
                yield SourceFrame(index, None, index / self.info.fps)
            index += 1
        if self.info.live:
            self.end_note = (
                f"{self.info.name} stopped sending frames ({MAX_CONSECUTIVE_FAILURES} reads in "
                "a row failed); treated as ended"
            )
        elif known_end is not None and index < known_end:
            self.end_note = (
                f"{self.info.name}: {MAX_CONSECUTIVE_FAILURES} frames in a row cannot be "
                f"decoded; treated as ended, frames {index}-{known_end - 1} not read"
            )

    def close(self) -> None:
        self._capture.release()


class ImageFilesSource(FrameSource):
    """Image files in name order (a folder, or one image); an unreadable file is an
    undecodable frame."""

    def __init__(self, files: list[Path], name: str) -> None:
        self._files = files
        first = None
        for path in files:
            first = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if first is not None:
                break
        if first is None:
            raise InputFileError(f"{name}: none of its {len(files)} images can be decoded")
        self.info = SourceInfo(
            name=name,
            width=first.shape[1],
            height=first.shape[0],
            fps=IMAGE_FPS,
            frame_count=len(files),
            live=False,
        )

    def frames(self) -> Iterator[SourceFrame]:
        for index, path in enumerate(self._files):
            yield SourceFrame(index, cv2.imread(str(path), cv2.IMREAD_COLOR), index / IMAGE_FPS)

    def frames_named(self, first: int, last: int) -> str:
        """As :meth:`FrameSource.frames_named`, with the files: ``frame 3 of shots (003.jpg)``."""
        files = self._files[first].name
        if last != first:
            files += f" to {self._files[last].name}"
        return f"{super().frames_named(first, last)} ({files})"


def open_source(spec: str) -> FrameSource:
    """Open SOURCE: a camera index (``0``), a stream URL (``rtsp://...``), a folder of images,
    one image file or a video file.

    Raises:
        MissingFileError: a path that does not exist, or a folder without images.
        InputFileError: the source cannot be opened or its first frame cannot be decoded.
    """
    if spec.isdigit():
        return CaptureSource(int(spec), f"camera {spec}", "camera")
    if URL_PATTERN.match(spec):
        return CaptureSource(spec, spec, "url")
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise MissingFileError(
                f"folder {path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return ImageFilesSource(files, str(path))
    if not path.is_file():
        raise MissingFileError(f"source {path} does not exist")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFilesSource([path], str(path))
    return CaptureSource(str(path), str(path), "file")
