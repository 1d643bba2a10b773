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

from perception.data.letterbox import PAD_VALUE
from perception.errors import PerceptionError
from perception.inference.engine import InferenceEngine
from perception.video.pipeline import WORKER_NICENESS, WRITER_NICENESS, VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import (
    DECODE_THREADS,
    IMAGE_FPS,
    CaptureSource,
    FrameSource,
    SourceFrame,
    SourceInfo,
    open_source,
)
from perception.video.thread_priority import MAX_NICE
from tests.video.video_files import read_jsonl, read_video, retime_mp4, write_test_video

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

    def frames(self) -> Iterator[SourceFrame]:
        for index in range(self.count):
            time.sleep(self.period)
            yield SourceFrame(index, np.full((32, 48, 3), index % 256, np.uint8), index / 10.0)


class SlowRenderer(FrameRenderer):
    """Takes ``seconds`` per frame: asleep, or keeping its thread's core busy if ``spin``."""

    def __init__(self, seconds: float, spin: bool = False) -> None:
        super().__init__(DEPTH)
        self.seconds, self.spin = seconds, spin

    def render(
        self, frame: np.ndarray, predictions: dict, fps: float | None = None, in_place: bool = False
    ) -> np.ndarray:
        if self.spin:
            started = time.thread_time()
            while time.thread_time() - started < self.seconds:
                pass
        else:
            time.sleep(self.seconds)
        return super().render(frame, predictions, fps, in_place)


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


def nice_values_once_settled(expected: dict[str, int], seconds: float = 5.0) -> dict[str, int]:
    """The nice values of the live threads named in ``expected``, polled until they equal it or
    ``seconds`` pass (a worker lowers its priority first thing, but after it has started)."""
    deadline = time.monotonic() + seconds
    while True:
        observed = {
            thread.name: os.getpriority(os.PRIO_PROCESS, thread.native_id or 0)
            for thread in threading.enumerate()
            if thread.name in expected
        }
        if observed == expected or time.monotonic() > deadline:
            return observed
        time.sleep(0.01)


class ThreadCountingRenderer(FrameRenderer):
    """Records OpenCV's thread count each time it renders and, given the nice values expected of
    the pipeline's threads (Linux), the values it finds."""

    def __init__(self, expected_nice_values: dict[str, int] | None = None) -> None:
        super().__init__(DEPTH)
        self.opencv_threads: list[int] = []
        self.expected_nice_values = expected_nice_values
        self.nice_values: list[dict[str, int]] = []

    def render(
        self, frame: np.ndarray, predictions: dict, fps: float | None = None, in_place: bool = False
    ) -> np.ndarray:
        self.opencv_threads.append(cv2.getNumThreads())
        if self.expected_nice_values is not None:
            self.nice_values.append(nice_values_once_settled(self.expected_nice_values))
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
    assert 0 < WRITER_NICENESS < WORKER_NICENESS, "the writer, the slowest worker, keeps up"
    lowered = {
        "video-reader": min(MAX_NICE, own + WORKER_NICENESS),
        "video-renderer": min(MAX_NICE, own + WORKER_NICENESS),
        "video-writer": min(MAX_NICE, own + WRITER_NICENESS),
    }
    slow = CountingSource(3, period=0.2)  # the reader is still reading when frame 0 is drawn
    renderer = ThreadCountingRenderer(lowered)
    VideoPipeline(DepthEngine(), renderer).run(slow, tmp_path / "v.avi", None)
    assert renderer.nice_values[0] == lowered
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    renderer = ThreadCountingRenderer(dict.fromkeys(lowered, own))
    equal = VideoPipeline(DepthEngine(), renderer, worker_niceness=0, writer_niceness=0)
    equal.run(CountingSource(3, period=0.2), tmp_path / "w.avi", None)
    assert renderer.nice_values[0] == dict.fromkeys(lowered, own)


@pytest.mark.parametrize("setting", ["worker", "writer"])
def test_a_negative_niceness_is_refused(setting: str) -> None:
    with pytest.raises(PerceptionError, match=f"{setting} niceness must be at least 0, got -1"):
        VideoPipeline(DepthEngine(), FrameRenderer(DEPTH), **{f"{setting}_niceness": -1})


def test_the_drain_is_the_time_after_the_engine_s_last_batch(tmp_path: Path) -> None:
    pipeline = VideoPipeline(DepthEngine(), SlowRenderer(seconds=0.05), batch_size=4)
    summary = pipeline.run(CountingSource(4), tmp_path / "v.avi", None)
    # one batch: at most the first frame is drawn before the engine's loop ends
    assert 3 * 0.05 <= summary.drain_seconds < summary.seconds


def test_a_stage_s_cpu_time_is_its_thread_s_not_the_wall_clock(tmp_path: Path) -> None:
    frames = 6
    sleeping = VideoPipeline(DepthEngine(), SlowRenderer(0.03)).run(
        CountingSource(frames), tmp_path / "a.avi", None
    )
    assert sleeping.stage_seconds["render"] >= frames * 0.03
    assert sleeping.stage_cpu_ms()["render"] < 10, "sleeping costs no CPU"
    spinning = VideoPipeline(DepthEngine(), SlowRenderer(0.03, spin=True)).run(
        CountingSource(frames), tmp_path / "b.avi", None
    )
    assert spinning.stage_cpu_ms()["render"] == pytest.approx(30, abs=10)
    for summary in (sleeping, spinning):
        assert "inference" not in summary.stage_cpu_ms()
        for stage, cpu_seconds in summary.stage_cpu_seconds.items():
            assert 0 < cpu_seconds <= summary.stage_seconds[stage] + 1e-3, stage


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


VARIABLE_PERIODS = [0.5, 1.5, 0.5, 1.5, 1.0, 1.0]
"""Frame periods (of 0.1 s) of the variable-frame-rate test video: shown at 0, 0.05, 0.2, 0.25,
0.4 and 0.5 s, where ``index / fps`` would say 0, 0.1, ..., 0.5."""


def variable_rate_video(path: Path) -> Path:
    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(len(VARIABLE_PERIODS))]
    return retime_mp4(write_test_video(path, frames, fps=10.0), VARIABLE_PERIODS)


def test_a_variable_rate_file_s_frames_carry_its_own_timestamps(tmp_path: Path) -> None:
    source = open_source(str(variable_rate_video(tmp_path / "vfr.mp4")))
    try:
        frames = list(source.frames())
    finally:
        source.close()
    assert [frame.index for frame in frames] == list(range(6))
    assert [frame.seconds for frame in frames] == pytest.approx([0, 0.05, 0.2, 0.25, 0.4, 0.5])
    assert [int(frame.image.mean()) for frame in frames] == pytest.approx(
        [40 * i for i in range(6)], abs=3
    ), "the frames themselves are untouched"


def test_the_json_lines_give_each_frame_s_timestamp_at_any_stride(tmp_path: Path) -> None:
    video = variable_rate_video(tmp_path / "vfr.mp4")
    pipeline = VideoPipeline(DepthEngine(), FrameRenderer(DEPTH), batch_size=2)
    pipeline.run(open_source(str(video)), None, tmp_path / "p.jsonl", stride=2)
    records = read_jsonl(tmp_path / "p.jsonl")
    assert [(record["frame"], record["time"]) for record in records] == [
        (0, 0.0), (2, 0.2), (4, 0.4)
    ]  # fmt: skip


def test_image_files_are_timed_at_the_folder_frame_rate(tmp_path: Path) -> None:
    for index in range(3):
        cv2.imwrite(str(tmp_path / f"{index}.png"), np.full((8, 8, 3), index, np.uint8))
    source = open_source(str(tmp_path))
    assert [frame.seconds for frame in source.frames()] == [0, 1 / IMAGE_FPS, 2 / IMAGE_FPS]


def test_warnings_name_the_images_in_frame_order_one_per_run(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, height in (("0.png", 32), ("3.png", 16), ("5.png", 32)):  # 3.png: another size
        cv2.imwrite(str(folder / name), np.full((height, 48, 3), 90, np.uint8))
    for name in ("1.jpg", "2.jpg", "4.jpg"):
        (folder / name).write_bytes(b"not an image")
    warnings: list[str] = []
    pipeline = VideoPipeline(DepthEngine(), FrameRenderer(DEPTH), warn=warnings.append)
    summary = pipeline.run(open_source(str(folder)), tmp_path / "v.avi", tmp_path / "p.jsonl")
    assert summary.frames_skipped == 3 and summary.frames_processed == 3
    assert warnings == [  # in frame order, though letterboxing happens in another thread
        f"warning: frames 1-2 of {folder} (1.jpg to 2.jpg) cannot be decoded; skipped (2 frames)",
        f"warning: frame 3 of {folder} (3.png): drawn at 48x16 but the video is 48x32 (the first "
        "frame's size); frames of other sizes are letterboxed into it",
        f"warning: frame 4 of {folder} (4.jpg) cannot be decoded; skipped",
    ]


def test_frames_of_another_size_are_letterboxed_into_the_video(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    sizes = [(32, 48), (48, 32), (32, 48), (16, 48)]  # (height, width); the first sets the video
    for index, (height, width) in enumerate(sizes):
        cv2.imwrite(str(folder / f"{index}.png"), np.full((height, width, 3), 200, np.uint8))
    warnings: list[str] = []
    pipeline = VideoPipeline(DepthEngine(), FrameRenderer(DEPTH, depth="off"), warn=warnings.append)
    summary = pipeline.run(open_source(str(folder)), tmp_path / "v.avi", tmp_path / "p.jsonl")
    assert summary.frames_processed == 4
    assert warnings == [
        f"warning: frame 1 of {folder} (1.png): drawn at 32x48 but the video is 48x32 (the first "
        "frame's size); frames of other sizes are letterboxed into it"
    ]
    frames, _ = read_video(tmp_path / "v.avi")
    assert [frame.shape for frame in frames] == [(32, 48, 3)] * 4, "no frame dropped"
    tall = frames[1].astype(int)  # 48x32 shrunk to 21x32, centred between grey bars
    assert abs(tall[16, 24] - 200).max() < 12 and abs(tall[16, 2] - PAD_VALUE).max() < 12
    depth_sizes = [
        (record["heads"]["depth"]["height"], record["heads"]["depth"]["width"])
        for record in read_jsonl(tmp_path / "p.jsonl")
    ]
    assert depth_sizes == sizes, "the JSON lines keep each frame's own size"
