"""Live sources: frames are timed by arrival, and a stream that stops sending ends.

The stalled stream is real: a local HTTP server sends about half of an MJPG video and then
holds the connection open, and OpenCV's FFmpeg reads it as it reads a camera stream. The stall
ends the source after the read timeout, with one note, not as a run of undecodable frames."""

from __future__ import annotations

import contextlib
import http.server
import signal
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from perception.video.pipeline import VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import STREAM_TIMEOUT_SECONDS, CaptureSource
from tests.video.test_infer_cli import start_infer
from tests.video.test_pipeline import DEPTH, DepthEngine
from tests.video.video_files import read_jsonl, read_video, write_test_video

TIMEOUT = 1.0
"""Read timeout for the stalled stream, seconds (the product's default is 10)."""


def frame_ends(avi: bytes) -> list[int]:
    """Byte offsets just past each frame chunk (``00dc``) of an MJPG AVI's ``movi`` list."""
    ends, position = [], avi.index(b"00dc", avi.index(b"movi"))
    while avi[position : position + 4] == b"00dc":
        size = struct.unpack("<I", avi[position + 4 : position + 8])[0]
        position += 8 + size + size % 2
        ends.append(position)
    return ends


@contextlib.contextmanager
def stalling_server(
    tmp_path: Path, cut_inside_a_frame: bool
) -> Iterator[tuple[str, threading.Event]]:
    """URL of a stream, and an event set once the stream has sent all it will: 20 and a half
    or 20 frames of a 40-frame MJPG video, then nothing. FFmpeg meets the two stalls
    differently: cut inside a frame, its read that waits out the timeout still returns the last
    whole frame and the reads after it fail at once; cut after one, every read waits out the
    timeout and fails."""
    noise = np.random.default_rng(0)
    frames = [noise.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in range(40)]
    data = write_test_video(tmp_path / "clip.avi", frames, fps=25.0).read_bytes()
    ends = frame_ends(data)
    cut = (ends[19] + ends[20]) // 2 if cut_inside_a_frame else ends[19]
    sent, release = threading.Event(), threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/x-msvideo")
            self.end_headers()
            self.wfile.write(data[:cut])
            self.wfile.flush()
            sent.set()
            release.wait(30)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/clip.avi", sent
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["cut after a frame", "cut inside a frame"])
def stalled_stream(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with stalling_server(tmp_path, request.param == "cut inside a frame") as (url, _):
        yield url


def test_a_stalled_stream_ends_after_the_timeout_with_a_note(stalled_stream: str) -> None:
    source = CaptureSource(stalled_stream, stalled_stream, live=True, timeout_seconds=TIMEOUT)
    started = time.monotonic()
    try:
        frames = list(source.frames())
    finally:
        source.close()
    waited = time.monotonic() - started
    assert 10 < len(frames) <= 21, "the frames sent (the one cut short may decode, in part)"
    assert all(frame.image is not None for frame in frames), "no undecodable frames"
    assert [frame.index for frame in frames] == list(range(len(frames)))
    assert TIMEOUT <= waited < TIMEOUT + 10
    assert source.end_note == f"{stalled_stream} sent no frame for 1 s; treated as ended"


def test_the_pipeline_reports_the_stall_once_and_keeps_what_arrived(
    stalled_stream: str, tmp_path: Path
) -> None:
    warnings: list[str] = []
    pipeline = VideoPipeline(DepthEngine(), FrameRenderer(DEPTH), warn=warnings.append)
    source = CaptureSource(stalled_stream, stalled_stream, live=True, timeout_seconds=TIMEOUT)
    summary = pipeline.run(source, None, tmp_path / "p.jsonl")
    assert warnings == [f"warning: {stalled_stream} sent no frame for 1 s; treated as ended"]
    assert summary.frames_skipped == 0 and summary.frames_read > 5
    records = read_jsonl(tmp_path / "p.jsonl")
    assert len(records) == summary.frames_processed == summary.frames_read - summary.frames_dropped


def test_a_live_source_times_frames_from_its_first_read(tmp_path: Path) -> None:
    path = write_test_video(tmp_path / "clip.avi", [np.zeros((32, 48, 3), np.uint8)] * 4)
    source = CaptureSource(str(path), "camera stand-in", live=True)
    opened = time.monotonic()
    time.sleep(0.05)
    try:
        seconds = [frame.seconds for frame in source.frames()][:4]
    finally:
        source.close()
    assert seconds[0] < 0.05 <= seconds[1] <= time.monotonic() - opened + 0.05
    assert seconds == sorted(seconds), "arrival times only grow"


def test_ctrl_c_on_a_stalled_stream_does_not_wait_for_the_timeout(
    tiny_onnx: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "live.mp4"
    with stalling_server(tmp_path, cut_inside_a_frame=True) as (url, sent):
        process = start_infer(url, "--model", str(tiny_onnx), "--out", str(out))
        assert sent.wait(60), process.communicate()
        time.sleep(2)  # the frames sent are processed; the reader waits on the stalled stream
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    waited = time.monotonic() - interrupted
    assert process.returncode == 130, (stdout, stderr)
    assert waited < STREAM_TIMEOUT_SECONDS / 2, "the stalled read is not waited out"
    records = read_jsonl(out.with_suffix(".jsonl"))
    written, _ = read_video(out)
    assert 15 <= len(records) == len(written) <= 21
