"""URLs: a stream is live and timed by arrival, a video file over HTTP is read like a file, and
a URL that stops sending ends.

The servers are real local HTTP servers: a multipart MJPEG stream (what IP cameras send, no
length), and an MJPG AVI file, sent whole or cut off halfway with the connection held open. The
stall ends the source after the read timeout, with one note, not as a run of undecodable
frames."""

from __future__ import annotations

import contextlib
import http.server
import signal
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import pytest

from perception.video.pipeline import VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import STREAM_TIMEOUT_SECONDS, CaptureSource, open_source
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
def http_server(send: Callable[[BinaryIO], None], content_type: str) -> Iterator[str]:
    """The URL of a local HTTP server that answers every GET with ``content_type`` and whatever
    ``send(wfile)`` writes (the connection closes when it returns)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the reader may hang up first
                send(self.wfile)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def noise_frames(count: int) -> list[np.ndarray]:
    noise = np.random.default_rng(0)
    return [noise.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in range(count)]


@contextlib.contextmanager
def stalling_server(
    tmp_path: Path, cut_inside_a_frame: bool
) -> Iterator[tuple[str, threading.Event]]:
    """URL of a stream, and an event set once the stream has sent all it will: 20 and a half
    or 20 frames of a 40-frame MJPG video, then nothing. FFmpeg meets the two stalls
    differently: cut inside a frame, its read that waits out the timeout still returns the last
    whole frame and the reads after it fail at once; cut after one, every read waits out the
    timeout and fails."""
    data = write_test_video(tmp_path / "clip.avi", noise_frames(40), fps=25.0).read_bytes()
    ends = frame_ends(data)
    cut = (ends[19] + ends[20]) // 2 if cut_inside_a_frame else ends[19]
    sent, release = threading.Event(), threading.Event()

    def send_half(out: BinaryIO) -> None:
        out.write(data[:cut])
        out.flush()
        sent.set()
        release.wait(30)

    with http_server(send_half, "video/x-msvideo") as url:
        try:
            yield url + "clip.avi", sent
        finally:
            release.set()


@pytest.fixture(params=["cut after a frame", "cut inside a frame"])
def stalled_stream(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with stalling_server(tmp_path, request.param == "cut inside a frame") as (url, _):
        yield url


def test_a_stalled_stream_ends_after_the_timeout_with_a_note(stalled_stream: str) -> None:
    source = CaptureSource(stalled_stream, stalled_stream, "url", timeout_seconds=TIMEOUT)
    assert source.info.frame_count == 40, "the AVI's header gives its length"
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
    source = CaptureSource(stalled_stream, stalled_stream, "url", timeout_seconds=TIMEOUT)
    summary = pipeline.run(source, None, tmp_path / "p.jsonl")
    assert warnings == [f"warning: {stalled_stream} sent no frame for 1 s; treated as ended"]
    assert summary.frames_skipped == 0 and summary.frames_read > 5
    records = read_jsonl(tmp_path / "p.jsonl")
    assert len(records) == summary.frames_processed == summary.frames_read - summary.frames_dropped


def test_a_stream_without_a_length_is_live_and_timed_by_arrival() -> None:
    jpegs = [cv2.imencode(".jpg", frame)[1].tobytes() for frame in noise_frames(8)]
    period = 0.1

    def send_parts(out: BinaryIO) -> None:  # multipart MJPEG, as IP cameras send it
        for jpeg in jpegs:
            head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            out.write(head.encode() + jpeg + b"\r\n")
            out.flush()
            time.sleep(period)

    with http_server(send_parts, "multipart/x-mixed-replace; boundary=frame") as url:
        stream = url + "video.mjpg"
        source = open_source(stream)
        try:
            assert source.info.live and source.info.frame_count is None
            frames = list(source.frames())
        finally:
            source.close()
    assert [frame.index for frame in frames] == list(range(len(jpegs))), "no undecodable frames"
    seconds = [frame.seconds for frame in frames]
    assert seconds[0] < period / 2 and np.all(np.diff(seconds) > period / 2), "arrival times"
    assert source.end_note == (
        f"{stream} stopped sending frames (30 reads in a row failed); treated as ended"
    ), "the server closed the stream: its failed reads are its end, not skipped frames"


def test_a_video_file_over_http_is_read_like_a_file(tmp_path: Path) -> None:
    data = write_test_video(tmp_path / "clip.avi", noise_frames(40), fps=25.0).read_bytes()
    with http_server(lambda out: out.write(data), "video/x-msvideo") as url:
        source = open_source(url + "clip.avi")
        assert not source.info.live and source.info.frame_count == 40
        engine = DepthEngine(seconds=0.05)  # far slower than the reader: a live queue would drop
        summary = VideoPipeline(engine, FrameRenderer(DEPTH)).run(
            source, None, tmp_path / "p.jsonl"
        )
    assert summary.frames_processed == 40 and summary.frames_dropped == 0
    times = [record["time"] for record in read_jsonl(tmp_path / "p.jsonl")]
    assert times == pytest.approx([index / 25 for index in range(40)]), "the file's timestamps"


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
