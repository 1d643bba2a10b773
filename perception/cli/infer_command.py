"""``perception infer SOURCE --model MODEL``: run a model over a video, images, a camera or a
stream; write the annotated video and one JSON line of predictions per frame."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from perception.atomic import check_output_path
from perception.cli.engine_arguments import add_engine_arguments
from perception.cli.exit_status import INTERRUPTED
from perception.errors import ConfigError, InputFileError
from perception.inference.engine import DEFAULT_SCORE_THRESHOLD
from perception.inference.open_engine import open_engine
from perception.video.pipeline import (
    FOURCC_BY_SUFFIX,
    QUIET_THREADS,
    STAGES,
    PipelineSummary,
    VideoPipeline,
)
from perception.video.render import FrameRenderer
from perception.video.sources import open_source

DEFAULT_OUT_DIR = Path("runs") / "infer"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "infer", help="annotate a video, images, camera or stream; write JSON lines of predictions"
    )
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a video file, a folder of images, an image, a camera index (0) or a stream URL",
    )
    parser.add_argument(
        "--model", required=True, help="an exported .onnx file or a .pt training checkpoint"
    )
    parser.add_argument(
        "--out",
        metavar="OUT",
        help="annotated video, .mp4 (mp4v) or .avi (MJPG) (default: runs/infer/<source>.mp4)",
    )
    parser.add_argument(
        "--jsonl",
        metavar="PRED.jsonl",
        help="predictions, one JSON line per frame (default: OUT with the suffix .jsonl)",
    )
    parser.add_argument("--heads", nargs="+", metavar="HEAD", help="only these heads")
    parser.add_argument(
        "--conf",
        type=float,
        default=DEFAULT_SCORE_THRESHOLD,
        help=f"drop detections scoring below this (default {DEFAULT_SCORE_THRESHOLD})",
    )
    parser.add_argument("--stride", type=int, default=1, help="process every N-th frame")
    parser.add_argument("--batch", type=int, default=1, help="frames per engine call")
    parser.add_argument(
        "--depth",
        choices=("inset", "side", "off"),
        default="inset",
        help="depth drawn as an inset (default), a panel beside the frame, or not at all",
    )
    add_engine_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.batch < 1 or args.stride < 1:
        raise ConfigError("--batch and --stride must be at least 1")
    if not 0.0 <= args.conf <= 1.0:
        raise ConfigError(f"--conf is a score threshold in [0, 1], got {args.conf:g}")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        # our messages name the source, frame or stall; OpenCV's warnings about the same events
        # ("can't open camera by index", "Stream timeout triggered") would come on top of them
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    source = open_source(args.source)
    video_path, jsonl_path = output_paths(args.source, source.info.name, args.out, args.jsonl)
    for path in (video_path, jsonl_path):  # before the model loads, which takes a while
        check_output_path(path)
    engine = open_engine(
        args.model,
        heads=args.heads,
        providers=args.providers,
        device=args.device,
        session_config=QUIET_THREADS,
    )
    renderer = FrameRenderer(engine.heads, score_threshold=args.conf, depth=args.depth)
    pipeline = VideoPipeline(
        engine,
        renderer,
        batch_size=args.batch,
        score_threshold=args.conf,
        warn=lambda message: tqdm.write(message, file=sys.stderr),
    )
    count = source.info.frame_count
    total = None if count is None else len(range(0, count, args.stride))
    with tqdm(total=total, unit="frame", disable=args.no_progress, file=sys.stderr) as bar:
        summary = pipeline.run(source, video_path, jsonl_path, args.stride, bar.update)
    print(summary_text(summary, video_path, jsonl_path))
    return INTERRUPTED if summary.interrupted else 0


def output_paths(spec: str, name: str, out: str | None, jsonl: str | None) -> tuple[Path, Path]:
    """The video and JSON-lines paths; refuses anything that would overwrite the source."""
    stem = (
        Path(spec).stem
        if Path(spec).exists()
        else "".join(c if c.isalnum() else "_" for c in name).strip("_")
    )
    video = Path(out) if out else DEFAULT_OUT_DIR / f"{stem or 'source'}.mp4"
    if video.suffix.lower() not in FOURCC_BY_SUFFIX:
        raise ConfigError(f"--out {video}: use a .mp4 (mp4v) or .avi (MJPG) file name")
    predictions = Path(jsonl) if jsonl else video.with_suffix(".jsonl")
    if video.resolve() == predictions.resolve():
        raise ConfigError(f"--out and --jsonl are both {video}")
    source = Path(spec).resolve()
    for path in (video, predictions):
        if path.resolve() == source or (source.is_dir() and source in path.resolve().parents):
            raise InputFileError(f"{path} would overwrite or write into the input {spec}")
    return video, predictions


def summary_text(summary: PipelineSummary, video: Path, jsonl: Path) -> str:
    """The end-of-run report: frames, overall FPS, each stage's busy time, CPU time per frame
    (not for inference, which the engine's own threads do) and FPS, and the drain time."""
    lines = [
        f"{'interrupted' if summary.interrupted else 'processed'}: {summary.frames_processed} "
        f"frames of {summary.source} in {summary.seconds:.1f} s ({summary.fps:.1f} FPS); "
        f"{summary.frames_skipped} undecodable skipped, {summary.frames_dropped} dropped",
        f"{'stage':<12} {'busy s':>7} {'CPU ms/frame':>12} {'FPS':>9}",
    ]
    rates, cpu_ms = summary.stage_fps(), summary.stage_cpu_ms()
    for stage in STAGES:  # columns stay apart however large a number gets
        cpu = f"{cpu_ms[stage]:.2f}" if stage in cpu_ms else "-"
        lines.append(
            f"{stage:<12} {summary.stage_seconds[stage]:>7.2f} {cpu:>12} {rates[stage]:>9.1f}"
        )
    lines.append(
        f"drain: {summary.drain_seconds:.2f} s after the engine's last batch "
        "(drawing and encoding what it left)"
    )
    lines.append(f"video: {video}")
    lines.append(f"predictions: {jsonl}")
    return "\n".join(lines)
