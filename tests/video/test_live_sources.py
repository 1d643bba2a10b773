"""Live sources: frames are timed by arrival, and a stream that stops sending ends.

The stalled stream is real: a local HTTP server sends the first half of an MJPG video and then
holds the connection open, and OpenCV's FFmpeg reads it as it reads a camera stream. The stall
ends the source after the read timeout, with one note, not as a run of undecodable frames."""

from __future__ import annotations

import http.server
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from perception.video.pipeline import VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import CaptureSource
from tests.video.test_pipeline import DEPTH, DepthEngine
from tests.video.video_files import read_jsonl, write_test_video

TIMEOUT = 1.0
"""Read timeout for the stalled stream, seconds (the product's default is 10)."""


@pytest.fixture
def stalled_stream(tmp_path: Path) -> Iterator[str]:
    """URL of a stream that sends the first half of a 60-frame MJPG video, then nothing."""
    frames = [np.full((48, 64, 3), 4 * i, np.uint8) for i in range(60)]
    data = write_test_video(tmp_path / "clip.avi", frames, fps=25.0).read_bytes()
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/x-msvideo")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            release.wait(30)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/clip.avi"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_stalled_stream_ends_after_the_timeout_with_a_note(stalled_stream: str) -> None:
    source = CaptureSource(stalled_stream, stalled_stream, live=True, timeout_seconds=TIMEOUT)
    started = time.monotonic()
    try:
        frames = list(source.frames())
    finally:
        source.close()
    waited = time.monotonic() - started
    assert 5 < len(frames) < 60, "the frames sent before the stall"
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
