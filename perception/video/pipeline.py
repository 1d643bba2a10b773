"""The video pipeline: keep the engine busy while frames are decoded, drawn and encoded.

::

    reader thread ──► frame queue ──► main thread: batch ─► engine ─► decode
    (decode, letterbox) (bounded)                                       │
                                                          result queue ▼
    writer thread ◄── output queue ◄── render thread (draw, JSON line) ◄┘
      (encode video, append JSON lines)

The frame queue is lossless for files (the reader waits) and keeps only the newest frames for
live sources (the oldest queued frame is dropped and counted). An exception in any thread stops
every thread and is raised in the main thread. Ctrl-C stops reading, lets the frames already
through the engine be drawn and written, and closes both outputs, so the video plays and the
JSON lines are complete up to the last processed frame.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from perception.atomic import atomic_path
from perception.data.letterbox import LetterboxWindow, letterbox_image
from perception.errors import PerceptionError
from perception.inference.engine import InferenceEngine
from perception.video.prediction_json import frame_record
from perception.video.render import FrameRenderer
from perception.video.sources import FrameSource
from perception.video.thread_priority import lower_this_thread

STAGES = ("decode", "preprocess", "inference", "postprocess", "render", "encode")
"""The pipeline stages whose time the summary reports."""

CPU_TIMED_STAGES = ("decode", "preprocess", "postprocess", "render", "encode")
"""The stages whose CPU time the summary reports: each runs in one thread, which does all its
work. Inference is not among them: the engine's own threads (ONNX Runtime's, torch's) do most of
it."""

QUIET_THREADS = {"session.intra_op.allow_spinning": "0"}
"""ONNX Runtime session config for engines inside the pipeline: idle intra-op threads sleep
instead of spinning on the cores that decoding, drawing and encoding need
(benchmarks/video.md)."""

WORKER_NICENESS = 10
"""Nice value added to the pipeline's reader and render threads (Linux): the engine's threads win
contested CPU time (benchmarks/video.md)."""

WRITER_NICENESS = 5
"""Nice value added to the writer thread (Linux). Less than :data:`WORKER_NICENESS`: encoding is
the slowest of the other stages and runs in one thread, and at nice 10 it fell behind while the
engine ran, so its backlog (up to the output queue) was encoded after the engine's last frame
with a core idle: on 2 cores, 720p, batch 1, a drain of 67, 170, 74 and 104 ms against 12, 13, 10
and 9 ms at nice 5 in four runs (benchmarks/video.md)."""

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".avi": "MJPG"}
"""Annotated video containers and their codecs (OpenCV's wheels cannot encode H.264)."""

_END = object()
"""Queue marker: no more items."""

_POLL_SECONDS = 0.1

READER_GRACE_SECONDS = 1.0
"""How long a stopped run waits for its reader thread to end (see :meth:`_Run._drain`)."""


@dataclass
class PipelineSummary:
    """What a run did. ``stage_seconds`` are the summed busy (wall) times of each stage, waits
    for a core included; stages overlap in threads, so they add up to more than ``seconds``.
    ``stage_cpu_seconds`` are the CPU times the threads spent in each of
    :data:`CPU_TIMED_STAGES`. ``drain_seconds`` is the part of ``seconds`` after the engine's
    last batch: drawing and encoding what it left behind."""

    source: str
    frames_read: int = 0
    frames_processed: int = 0
    frames_skipped: int = 0
    frames_dropped: int = 0
    seconds: float = 0.0
    drain_seconds: float = 0.0
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_cpu_seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(CPU_TIMED_STAGES, 0.0)
    )

    @property
    def fps(self) -> float:
        """Processed frames per second of wall time."""
        return self.frames_processed / self.seconds if self.seconds > 0 else 0.0

    def stage_fps(self) -> dict[str, float]:
        """Frames per second each stage could sustain on its own (processed frames over its
        busy time; decode counts every frame read)."""
        return {
            stage: self._frames(stage) / seconds if seconds > 0 else float("inf")
            for stage, seconds in self.stage_seconds.items()
        }

    def stage_cpu_ms(self) -> dict[str, float]:
        """CPU milliseconds per frame of each of :data:`CPU_TIMED_STAGES` (decode per frame
        read, the others per frame processed; 0 before any frame)."""
        return {
            stage: 1000 * seconds / max(self._frames(stage), 1)
            for stage, seconds in self.stage_cpu_seconds.items()
        }

    def _frames(self, stage: str) -> int:
        """The frames ``stage`` handled: every frame read for decode, else those processed."""
        return self.frames_read if stage == "decode" else self.frames_processed


@dataclass(frozen=True)
class _Frame:
    """A decoded frame on its way to the engine, letterboxed by the reader thread (so that
    letterboxing overlaps the network's run): ``network_input (1, 3, H, W)`` float32."""

    index: int
    seconds: float
    frame: np.ndarray
    network_input: np.ndarray
    window: LetterboxWindow


class _Failure:
    """The first exception raised in any thread, with the thread's name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: tuple[str, BaseException] | None = None

    def record(self, where: str, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = (where, error)

    def raise_if_any(self) -> None:
        if self.error is None:
            return
        where, error = self.error
        if isinstance(error, PerceptionError):
            raise type(error)(str(error)) from error
        raise PerceptionError(f"video {where} failed: {type(error).__name__}: {error}") from error


class VideoPipeline:
    """Runs ``engine`` over a frame source, writing an annotated video and JSON lines.

    Args:
        engine: any :class:`InferenceEngine` (torch or ONNX Runtime).
        renderer: draws predictions on frames for the video.
        batch_size: frames per engine call (a live source sends what has arrived, up to this).
        score_threshold: detections below it are dropped (from the JSON lines too).
        queue_frames: capacity of the frame queue, in frames.
        warn: receives one line per skipped (undecodable) frame.
        opencv_threads: OpenCV's thread count while the pipeline runs (restored after); None
            leaves it alone. The default 1 keeps OpenCV's worker pool, whose idle workers
            busy-wait, off the cores the engine needs: the stages already run in parallel.
        worker_niceness: added to the nice value of the reader and render threads (on Linux; 0
            leaves them alone). They then take only the CPU time the engine's threads leave,
            instead of stalling the engine when the cores are all busy (benchmarks/video.md).
        writer_niceness: the same for the writer thread; see :data:`WRITER_NICENESS`.
    """

    def __init__(
        self,
        engine: InferenceEngine,
        renderer: FrameRenderer,
        batch_size: int = 1,
        score_threshold: float = 0.3,
        queue_frames: int = 32,
        warn: Callable[[str], None] = print,
        opencv_threads: int | None = 1,
        worker_niceness: int = WORKER_NICENESS,
        writer_niceness: int = WRITER_NICENESS,
    ) -> None:
        if batch_size < 1:
            raise PerceptionError(f"batch size must be at least 1, got {batch_size}")
        self.engine = engine
        self.renderer = renderer
        self.batch_size = batch_size
        self.score_threshold = score_threshold
        self.queue_frames = max(queue_frames, 2 * batch_size)
        self.warn = warn
        self.opencv_threads = opencv_threads
        for name, niceness in (("worker", worker_niceness), ("writer", writer_niceness)):
            if niceness < 0:
                raise PerceptionError(f"{name} niceness must be at least 0, got {niceness}")
        self.worker_niceness = worker_niceness
        self.writer_niceness = writer_niceness

    def run(
        self,
        source: FrameSource,
        video_path: Path | None,
        jsonl_path: Path | None,
        stride: int = 1,
        progress: Callable[[int], None] | None = None,
    ) -> PipelineSummary:
        """Process every ``stride``-th frame of ``source``; write ``video_path`` (``.mp4`` or
        ``.avi``, the source's size and frame rate divided by ``stride``) and ``jsonl_path``
        (either may be ``None``). Both are written under temporary names and renamed when the
        run ends, normally or by Ctrl-C; on an error neither is left behind.

        ``progress`` is called with the number of frames each processed batch added.
        """
        if stride < 1:
            raise PerceptionError(f"stride must be at least 1, got {stride}")
        summary = PipelineSummary(source.info.name)
        with contextlib.ExitStack() as outputs:
            if self.opencv_threads is not None:
                outputs.callback(cv2.setNumThreads, cv2.getNumThreads())
                cv2.setNumThreads(self.opencv_threads)
            video_temp = outputs.enter_context(atomic_path(video_path)) if video_path else None
            jsonl_temp = outputs.enter_context(atomic_path(jsonl_path)) if jsonl_path else None
            run = _Run(self, source, summary, stride, video_temp, jsonl_temp)
            run.execute(progress)
        return summary


class _Run:
    """One pipeline run: the queues, the threads and their shared state."""

    def __init__(
        self,
        pipeline: VideoPipeline,
        source: FrameSource,
        summary: PipelineSummary,
        stride: int,
        video_temp: Path | None,
        jsonl_temp: Path | None,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.summary = summary
        self.stride = stride
        self.video_temp = video_temp
        self.jsonl_temp = jsonl_temp
        self.frames: queue.Queue[Any] = queue.Queue(maxsize=pipeline.queue_frames)
        self.results: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.outputs: queue.Queue[Any] = queue.Queue(maxsize=2 * pipeline.queue_frames)
        self.stop = threading.Event()
        self.failure = _Failure()
        self.started = time.perf_counter()
        self.video_size = pipeline.renderer.output_size(source.info.height, source.info.width)
        self.resize_warned = False

    # -- main thread ----------------------------------------------------------------------------

    def execute(self, progress: Callable[[int], None] | None) -> None:
        workers, writer = self.pipeline.worker_niceness, self.pipeline.writer_niceness
        threads = [
            threading.Thread(
                target=self._guard, args=(name, work, niceness), name=f"video-{name}", daemon=True
            )
            for name, work, niceness in (
                ("reader", self._read, workers),
                ("renderer", self._render, workers),
                ("writer", self._write, writer),
            )
        ]
        for thread in threads:
            thread.start()
        try:
            self._infer(progress)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            self.stop.set()
        except BaseException as error:
            self.failure.record("inference", error)
            self.stop.set()
        finally:
            engine_done = time.perf_counter()
            self._drain(threads)
            finished = time.perf_counter()
            self.summary.seconds = finished - self.started
            self.summary.drain_seconds = finished - engine_done
        self.failure.raise_if_any()

    def _drain(self, threads: list[threading.Thread]) -> None:
        """Let the render and writer threads finish what the engine produced; a Ctrl-C while
        waiting marks the run interrupted but still waits, so the outputs stay complete.

        Once the run is stopped the reader gets :data:`READER_GRACE_SECONDS`: a reader blocked
        in a stalled stream's read would hold the stop up to the stream timeout. Left behind,
        it releases the source when that read returns (it is a daemon thread)."""
        reader, *outputs = threads
        while True:
            try:
                self._put(self.results, _END, until_end=True)
                for thread in outputs:
                    thread.join()
                reader.join(READER_GRACE_SECONDS if self.stop.is_set() else None)
                return
            except KeyboardInterrupt:
                self.summary.interrupted = True
                self.stop.set()

    def _infer(self, progress: Callable[[int], None] | None) -> None:
        engine = self.pipeline.engine
        while True:
            batch = self._next_batch()
            if not batch:
                return
            indices = [item.index for item in batch]
            shown_at = [item.seconds for item in batch]
            images = [item.frame for item in batch]
            with self._timed("inference"):
                inputs = (  # a single frame's input is the batch already: no copy
                    batch[0].network_input
                    if len(batch) == 1
                    else np.concatenate([item.network_input for item in batch])
                )
                outputs = engine.run(inputs)
            with self._timed("postprocess"):
                windows = [item.window for item in batch]
                predictions = engine.decode(outputs, windows, self.pipeline.score_threshold)
            self._put(self.results, (indices, shown_at, images, predictions))
            self.summary.frames_processed += len(batch)
            if progress is not None:
                progress(len(batch))

    def _next_batch(self) -> list[_Frame]:
        """Up to ``batch_size`` frames: a file's batch waits to be full (or the end); a live
        source's takes what has arrived once the first frame is there."""
        batch: list[_Frame] = []
        while len(batch) < self.pipeline.batch_size:
            if batch and self.source.info.live and self.frames.empty():
                break
            item = self._get(self.frames)
            if item is _END:
                self.frames.put_nowait(_END)  # the queue is empty now: keep the end visible
                break
            batch.append(item)
        return batch

    # -- worker threads -------------------------------------------------------------------------

    def _guard(self, where: str, work: Callable[[], None], niceness: int) -> None:
        try:
            if niceness:
                lower_this_thread(niceness)
            work()
        except BaseException as error:
            self.failure.record(where, error)
            self.stop.set()

    def _read(self) -> None:
        info, summary = self.source.info, self.summary
        frames = self.source.frames()
        undecodable: list[int] = []  # a run of consecutive undecodable frames: one warning
        try:
            while not self.stop.is_set():
                with self._timed("decode"):
                    item = next(frames, None)
                if item is None:
                    break
                index, frame, seconds = item
                summary.frames_read += 1
                if frame is None:
                    summary.frames_skipped += 1
                    undecodable.append(index)
                    continue
                self._warn_undecodable(undecodable)
                if index % self.stride:
                    continue
                if self.video_temp is not None:
                    self._warn_if_resized(frame, index)
                with self._timed("preprocess"):
                    network_input, windows = self.pipeline.engine.preprocess([frame])
                if info.live and self.frames.full():
                    with contextlib.suppress(queue.Empty):
                        self.frames.get_nowait()
                        summary.frames_dropped += 1
                self._put(self.frames, _Frame(index, seconds, frame, network_input, windows[0]))
            self._warn_undecodable(undecodable)
            if self.source.end_note:
                self.pipeline.warn(f"warning: {self.source.end_note}")
        finally:
            self.source.close()
            self._put(self.frames, _END)  # gives up when stopped: nobody reads frames then

    def _warn_undecodable(self, run: list[int]) -> None:
        """One warning for a run of consecutive skipped frames (``run``, emptied)."""
        if not run:
            return
        count = "" if len(run) == 1 else f" ({len(run)} frames)"
        frames = self.source.frames_named(run[0], run[-1])
        self.pipeline.warn(f"warning: {frames} cannot be decoded; skipped{count}")
        run.clear()

    def _render(self) -> None:
        renderer = self.pipeline.renderer
        while True:
            item = self._get(self.results, until_end=True)
            if item is _END:
                break
            for index, seconds, frame, predictions in zip(*item, strict=True):
                with self._timed("render"):
                    line = (
                        json.dumps(frame_record(index, seconds, predictions))
                        if self.jsonl_temp
                        else None
                    )
                    image = None
                    if self.video_temp is not None:
                        elapsed = time.perf_counter() - self.started
                        rate = self.summary.frames_processed / elapsed if elapsed > 0 else None
                        image = self._fit_to_video(
                            renderer.render(frame, predictions, rate, in_place=True)
                        )
                self._put(self.outputs, (line, image), until_end=True)
        self._put(self.outputs, _END, until_end=True)

    def _warn_if_resized(self, frame: np.ndarray, index: int) -> None:
        """Warn at the first frame ``(h, w, 3)`` whose drawing will not have the video's size
        (set by the source's first frame), so :meth:`_fit_to_video` will letterbox it. Called
        by the reader, so that the warning comes in frame order with the others."""
        if self.resize_warned:
            return
        drawn_height, drawn_width = self.pipeline.renderer.output_size(*frame.shape[:2])
        if (drawn_height, drawn_width) == self.video_size:
            return
        self.resize_warned = True
        height, width = self.video_size
        self.pipeline.warn(
            f"warning: {self.source.frames_named(index, index)}: drawn at "
            f"{drawn_width}x{drawn_height} but the video is {width}x{height} (the first "
            "frame's size); frames of other sizes are letterboxed into it"
        )

    def _fit_to_video(self, image: np.ndarray) -> np.ndarray:
        """``image`` ``(h, w, 3)`` as is when it has the video's size, else letterboxed into it:
        the frames of an image folder or a stream may change size, and OpenCV's writer drops a
        frame of another size."""
        height, width = self.video_size
        if image.shape[:2] == (height, width):
            return image
        return letterbox_image(image, height, width)[0]

    def _write(self) -> None:
        writer: cv2.VideoWriter | None = None
        jsonl = self.jsonl_temp.open("w", encoding="utf-8") if self.jsonl_temp else None
        frames_written = 0
        try:
            while True:
                item = self._get(self.outputs, until_end=True)
                if item is _END:
                    break
                line, image = item
                with self._timed("encode"):
                    if jsonl is not None:
                        jsonl.write(line + "\n")
                    if image is not None:
                        writer = writer or self._open_writer()
                        writer.write(image)
                        frames_written += 1
        finally:
            if jsonl is not None:
                jsonl.close()
            if writer is not None:
                writer.release()
        if writer is not None:
            self._check_written_video(frames_written)

    def _open_writer(self) -> cv2.VideoWriter:
        """The video writer at :attr:`video_size`, which :meth:`_fit_to_video` gives every
        frame."""
        assert self.video_temp is not None
        fourcc = FOURCC_BY_SUFFIX[self.video_temp.suffix.lower()]
        fps = self.source.info.fps / self.stride
        height, width = self.video_size
        writer = cv2.VideoWriter(
            str(self.video_temp), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height)
        )
        if not writer.isOpened():
            raise PerceptionError(f"OpenCV cannot write a {fourcc} video to {self.video_temp}")
        return writer

    def _check_written_video(self, frames_written: int) -> None:
        """Refuse a video that does not read back whole: OpenCV's writer reports no errors, so a
        full disk would otherwise leave an unplayable file (an MP4 without its index) behind."""
        assert self.video_temp is not None
        capture = cv2.VideoCapture(str(self.video_temp), cv2.CAP_FFMPEG)
        readable = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        capture.release()
        if readable != frames_written:
            raise PerceptionError(
                f"the video written into {self.video_temp.parent} reads back {readable} of its "
                f"{frames_written} frames (is the disk full?)"
            )

    @contextlib.contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time to ``stage``'s busy time and, for a stage in
        :data:`CPU_TIMED_STAGES`, this thread's CPU time to its CPU time."""
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.summary.stage_seconds[stage] += time.perf_counter() - started
            if stage in self.summary.stage_cpu_seconds:
                self.summary.stage_cpu_seconds[stage] += time.thread_time() - cpu_started

    # -- queue helpers that notice a stop or a failure ------------------------------------------

    def _get(self, source: queue.Queue[Any], until_end: bool = False) -> Any:
        """The next item; ``_END`` on a failure, or once the pipeline stops unless ``until_end``
        (downstream threads drain what was already produced and stop at the end marker)."""
        while not (self.failure.error or (self.stop.is_set() and not until_end)):
            with contextlib.suppress(queue.Empty):
                return source.get(timeout=_POLL_SECONDS)
        return _END

    def _put(self, target: queue.Queue[Any], item: Any, until_end: bool = False) -> None:
        """Put ``item``, waiting for room. Give up on a failure, or once the pipeline stops unless
        ``until_end`` (results already computed are still drawn and written)."""
        while True:
            with contextlib.suppress(queue.Full):
                target.put(item, timeout=_POLL_SECONDS)
                return
            if self.failure.error or (self.stop.is_set() and not until_end):
                return
