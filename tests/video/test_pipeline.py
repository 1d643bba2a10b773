"""The threaded video pipeline with stand-in engines and sources: failures in any thread reach
the caller, live sources drop old frames instead of queueing them, files lose nothing."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from perception.errors import PerceptionError
from perception.inference.engine import InferenceEngine
from perception.video.pipeline import WORKER_NICENESS, VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import (
    DECODE_THREADS,
    CaptureSource,
    FrameSource,
    SourceInfo,
    open_source,
)
from perception.video.thread_priority import MAX_NICE
from tests.video.video_files import read_jsonl, read_video, write_test_video

DEPTH = {"depth": {"kind": "depth", "max_depth": 10.0}}


class DepthEngine(InferenceEngine):
    """Predicts a constant depth map, taking ``seconds`` per batch."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__((32, 48), DEPTH)
        self.seconds = seconds
        self.batches: list[int] = []

    @property
    def device(self) -> str:
        return "stand-in"

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        time.sleep(self.seconds)
        self.batches.append(len(images))
        return {"depth.map": np.full((len(images), 1, 32, 48), 5.0, np.float32)}


class CountingSource(FrameSource):
    """``count`` frames whose pixels hold their index; live sources produce one per ``period``."""

    def __init__(self, count: int, live: bool = False, period: float = 0.0) -> None:
        self.count, self.period = count, period
        self.info = SourceInfo("counting", 48, 32, 10.0, None if live else count, live)

    def frames(self) -> Iterator[tuple[int, np.ndarray | None]]:
        for index in range(self.count):
            time.sleep(self.period)
            yield index, np.full((32, 48, 3), index % 256, np.uint8)


class BrokenRenderer(FrameRenderer):
    def render(
        self, frame: np.ndarray, predictions: dict, fps: float | None = None, in_place: bool = False
    ) -> np.ndarray:
        raise RuntimeError("paint ran out")


def test_a_file_source_loses_no_frame_and_batches_fully(tmp_path: Path) -> None:
    engine = DepthEngine()
    pipeline = VideoPipeline(engine, FrameRenderer(DEPTH), batch_size=4, warn=print)
    summary = pipeline.run(CountingSource(10), tmp_path / "v.avi", tmp_path / "p.jsonl", stride=2)
    assert engine.batches == [4, 1]
    assert summary.frames_read == 10 and summary.frames_processed == 5
    assert [record["frame"] for record in read_jsonl(tmp_path / "p.jsonl")] == [0, 2, 4, 6, 8]
    frames, fps = read_video(tmp_path / "v.avi")
    assert len(frames) == 5 and fps == pytest.approx(5.0), "stride 2 halves the frame rate"


def test_a_slow_engine_on_a_live_source_drops_old_frames(tmp_path: Path) -> None:
    engine = DepthEngine(seconds=0.05)
    pipeline = VideoPipeline(engine, FrameRenderer(DEPTH), batch_size=1, queue_frames=2)
    summary = pipeline.run(CountingSource(60, live=True, period=0.002), None, tmp_path / "p.jsonl")
    assert summary.frames_dropped > 0
    assert summary.frames_processed + summary.frames_dropped == 60
    processed = [record["frame"] for record in read_jsonl(tmp_path / "p.jsonl")]
    assert processed == sorted(processed) and processed[-1] == 59, "the newest frame is kept"


def test_an_error_in_a_thread_stops_the_run_and_leaves_no_output(tmp_path: Path) -> None:
    pipeline = VideoPipeline(DepthEngine(), BrokenRenderer(DEPTH), batch_size=2)
    with pytest.raises(PerceptionError, match="video renderer failed: RuntimeError: paint ran out"):
        pipeline.run(CountingSource(50), tmp_path / "v.mp4", tmp_path / "p.jsonl")
    assert list(tmp_path.iterdir()) == []


class ThreadCountingRenderer(FrameRenderer):
    """Records OpenCV's thread count and the rendering thread's nice value each time it renders
    (the nice value only on Linux)."""

    def __init__(self) -> None:
        super().__init__(DEPTH)
        self.opencv_threads: list[int] = []
        self.nice_values: list[int] = []

    def render(
        self, frame: np.ndarray, predictions: dict, fps: float | None = None, in_place: bool = False
    ) -> np.ndarray:
        self.opencv_threads.append(cv2.getNumThreads())
        if sys.platform == "linux":
            self.nice_values.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return super().render(frame, predictions, fps, in_place)


def test_opencv_runs_on_one_thread_during_a_run_and_is_restored_after(tmp_path: Path) -> None:
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        renderer = ThreadCountingRenderer()
        VideoPipeline(DepthEngine(), renderer).run(CountingSource(3), tmp_path / "v.avi", None)
        assert renderer.opencv_threads == [1, 1, 1]
        assert cv2.getNumThreads() == 2
        renderer = ThreadCountingRenderer()
        untouched = VideoPipeline(DepthEngine(), renderer, opencv_threads=None)
        untouched.run(CountingSource(2), tmp_path / "w.avi", None)
        assert renderer.opencv_threads == [2, 2]
    finally:
        cv2.setNumThreads(before)


@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice value on Linux")
def test_worker_threads_run_at_a_lower_priority_and_the_caller_keeps_its_own(
    tmp_path: Path,
) -> None:
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    renderer = ThreadCountingRenderer()
    VideoPipeline(DepthEngine(), renderer).run(CountingSource(2), tmp_path / "v.avi", None)
    assert WORKER_NICENESS > 0
    assert renderer.nice_values == [min(MAX_NICE, own + WORKER_NICENESS)] * 2
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    renderer = ThreadCountingRenderer()
    equal = VideoPipeline(DepthEngine(), renderer, worker_niceness=0)
    equal.run(CountingSource(2), tmp_path / "w.avi", None)
    assert renderer.nice_values == [own, own]


def test_a_negative_worker_niceness_is_refused() -> None:
    with pytest.raises(PerceptionError, match="niceness must be at least 0, got -1"):
        VideoPipeline(DepthEngine(), FrameRenderer(DEPTH), worker_niceness=-1)


def test_video_files_are_decoded_on_one_thread(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    write_test_video(path, [np.full((32, 48, 3), 10 * i, np.uint8) for i in range(3)], fps=10.0)
    source = open_source(str(path))
    try:
        assert isinstance(source, CaptureSource)
        assert source.decoder_threads == DECODE_THREADS == 1
        assert len(list(source.frames())) == 3
    finally:
        source.close()
