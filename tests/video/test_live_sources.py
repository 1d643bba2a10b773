"""Live sources: frames are timed by arrival, and a stream that stops sending ends.

The stalled stream is real: a local HTTP server sends about half of an MJPG video and then
holds the connection open, and OpenCV's FFmpeg reads it as it reads a camera stream. The stall
ends the source after the read timeout, with one note, not as a run of undecodable frames."""

from __future__ import annotations

import http.server
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
from perception.video.sources import CaptureSource
from tests.video.test_pipeline import DEPTH, DepthEngine
from tests.video.video_files import read_jsonl, write_test_video

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


@pytest.fixture(params=["cut after a frame", "cut inside a frame"])
def stalled_stream(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a stream that sends 20 and a half or 20 frames of a 40-frame MJPG video, then
    nothing. FFmpeg meets the two stalls differently: cut inside a frame, its read that waits
    out the timeout still returns the last whole frame and the reads after it fail at once; cut
    after one, every read waits out the timeout and fails."""
    noise = np.random.default_rng(0)
    frames = [noise.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in range(40)]
    data = write_test_video(tmp_path / "clip.avi", frames, fps=25.0).read_bytes()
    ends = frame_ends(data)
    cut = ends[19] if request.param == "cut after a frame" else (ends[19] + ends[20]) // 2
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/x-msvideo")
            self.end_headers()
            self.wfile.write(data[:cut])
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
