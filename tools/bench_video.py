"""End-to-end video inference against the engine alone, on the same frames, in one process.

Usage: ``python tools/bench_video.py [--model model.onnx] [--video clip.mp4] [--frames 150]
[--batch 1 4] [--threads 2 1] [--niceness 10/5 10/10 0/0] [--providers cpu] [--rounds 3]
[--out benchmarks]``

The video is ``--video`` (default: the real highway clip shipped in
``tests/fixtures/udacity_highway/test_video.mp4``, 1280x720) looped to ``--frames`` frames. The
model is ``--model`` or the demo config's model with random weights (speed does not depend on
them), run by ONNX Runtime on the first of ``--providers`` that loads (default: the CPU; on a
GPU machine, ``--providers cuda`` measures the case where the engine leaves the CPU to the other
stages).

- engine only: the frames are decoded into memory first, then ``engine.predict`` runs on them in
  batches (letterbox, network, decoding to frame pixels): what the engine can do alone;
- end to end: :class:`~perception.video.pipeline.VideoPipeline` from the video file to the
  annotated mp4v video and the JSON lines (decode, engine, draw, encode, in threads);
- instant engine: the same pipeline with a :class:`ReplayEngine` whose network takes no time:
  what the other stages sustain, so the fastest engine for which the target can still be met.

Each round times the engine alone and the pipeline at every niceness setting (``WORKERS/WRITER``:
added to the nice value of the reader and render threads / of the writer thread), in an order
that reverses every other round. The report gives medians over rounds, end-to-end FPS as a share
of engine-only FPS (target: at least 85%) and the range of each round's own share. Writes
``video.json`` and ``video.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime
import torch
from machine_info import cpu_name  # tools/, beside this script

from perception.atomic import write_text_atomic
from perception.cli.demo_command import HIGHWAY_CLIP
from perception.config.loader import load_config
from perception.export.onnx_export import export_onnx
from perception.inference.engine import InferenceEngine
from perception.inference.onnx_engine import OnnxEngine
from perception.model.build import build_model
from perception.model.settle_batch_norm import settle_batch_norm
from perception.video.pipeline import (
    CPU_TIMED_STAGES,
    QUIET_THREADS,
    STAGES,
    WORKER_NICENESS,
    WRITER_NICENESS,
    PipelineSummary,
    VideoPipeline,
)
from perception.video.render import FrameRenderer
from perception.video.sources import open_source

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NICENESS = f"{WORKER_NICENESS}/{WRITER_NICENESS}"
"""The pipeline's own setting, as ``--niceness`` spells it."""
PIPELINE_ONLY_STAGES = ("decode", "render", "encode")
"""The stages the engine-only run does not have (it letterboxes and decodes to pixels too)."""
TARGET_SHARE = 0.85
"""End-to-end FPS must reach this share of engine-only FPS."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an exported .onnx file (default: the demo model)")
    parser.add_argument("--config", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument("--video", default=str(HIGHWAY_CLIP), help="the clip to loop")
    parser.add_argument("--frames", type=int, default=150, help="frames in the looped video")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4], help="batch sizes")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[os.cpu_count() or 1, 1],
        help="ONNX Runtime intra-op threads (default: all cores, then one)",
    )
    parser.add_argument(
        "--niceness",
        type=niceness_setting,
        nargs="+",
        default=[DEFAULT_NICENESS, f"{WORKER_NICENESS}/{WORKER_NICENESS}", "0/0"],
        help="WORKERS/WRITER nice values added to the reader and render threads / the writer "
        "thread (default: the pipeline's, the writer at the others' value, then 0/0)",
    )
    parser.add_argument(
        "--providers", nargs="+", default=["cpu"], help="ONNX Runtime preference (default: cpu)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "benchmarks"))
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_video_") as temp:
        work = Path(temp)
        model = Path(args.model) if args.model else export_demo_model(args.config, work)
        video, origin = looped_video(Path(args.video), args.frames, work / "clip.mp4")
        frames = decoded_frames(video)
        settings = (args.providers, args.niceness, args.rounds, work)
        rows = [
            row
            for threads in args.threads
            for batch in args.batch
            for row in measure(model, frames, video, batch, threads, *settings)
        ]
        quiet = OnnxEngine(model, args.providers, session_config=QUIET_THREADS, log=lambda m: None)
        replay = ReplayEngine(quiet, frames[0])
        instant = [
            instant_engine_row(replay, video, batch, args.rounds, work) for batch in args.batch
        ]
    report = {
        "command": "python tools/bench_video.py " + shlex.join(sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "model": str(args.model or f"{os.path.relpath(args.config, REPO)}, random weights"),
        "video": {"origin": origin, "frames": len(frames), "size": list(frames[0].shape[:2])},
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
        },
        "rounds": args.rounds,
        "target_share": TARGET_SHARE,
        "rows": rows,
        "instant_engine": instant,
        "wall_seconds": time.perf_counter() - started,
    }
    out = Path(args.out)
    write_text_atomic(out / "video.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "video.md", markdown(report))
    print(markdown(report))


def niceness_pair(setting: str) -> tuple[int, int]:
    """``(workers, writer)`` of a ``WORKERS/WRITER`` setting (two integers >= 0); a ValueError
    otherwise."""
    workers, writer = (int(part) for part in setting.split("/"))
    if workers < 0 or writer < 0:
        raise ValueError(f"nice values must be >= 0, got {setting}")
    return workers, writer


def niceness_setting(text: str) -> str:
    """``--niceness`` values normalised to ``WORKERS/WRITER``; argparse reports a ValueError."""
    workers, writer = niceness_pair(text)
    return f"{workers}/{writer}"


def measure(
    model: Path,
    frames: list[np.ndarray],
    video: Path,
    batch: int,
    threads: int,
    providers: list[str],
    nicenesses: list[str],
    rounds: int,
    work: Path,
) -> list[dict[str, Any]]:
    """One row per niceness setting for one batch size and thread count. Each round times the
    engine alone and the pipeline at every setting, in an order reversed every other round, so
    the rows share the engine-only runs and whatever drift the machine has."""
    engine = OnnxEngine(
        model, providers, threads=threads, session_config=QUIET_THREADS, log=lambda m: None
    )
    engine_fps: list[float] = []
    engine_cpu: list[float] = []
    runs: dict[str, dict[str, list[Any]]] = {
        niceness: {"fps": [], "cpu": [], "stages": [], "stage_cpu": [], "drain": []}
        for niceness in nicenesses
    }
    order: list[str | None] = [None, *nicenesses]  # None: the engine alone
    for round_index in range(rounds):
        for niceness in order if round_index % 2 == 0 else order[::-1]:
            if niceness is None:
                fps, cpu_ms = engine_only_fps(engine, frames, batch)
                engine_fps.append(fps)
                engine_cpu.append(cpu_ms)
            else:
                summary, cpu_ms = run_pipeline(engine, video, batch, niceness, work)
                runs[niceness]["fps"].append(summary.fps)
                runs[niceness]["cpu"].append(cpu_ms)
                runs[niceness]["stages"].append(summary.stage_fps())
                runs[niceness]["stage_cpu"].append(summary.stage_cpu_ms())
                runs[niceness]["drain"].append(summary.drain_seconds)
    cores = os.cpu_count() or 1
    rows = []
    for niceness, run in runs.items():
        row = {
            "batch": batch,
            "threads": threads,
            "niceness": niceness,
            "provider": engine.provider,
            "engine_fps": statistics.median(engine_fps),
            "pipeline_fps": statistics.median(run["fps"]),
            "engine_fps_rounds": engine_fps,
            "pipeline_fps_rounds": run["fps"],
            "stage_fps": median_per_stage(run["stages"]),
            "stage_cpu_ms": median_per_stage(run["stage_cpu"]),
            "engine_cpu_ms": statistics.median(engine_cpu),
            "pipeline_cpu_ms": statistics.median(run["cpu"]),
            "drain_ms": 1000 * statistics.median(run["drain"]),
        }
        row["share"] = row["pipeline_fps"] / row["engine_fps"]
        row["share_rounds"] = [
            pipeline / alone for pipeline, alone in zip(run["fps"], engine_fps, strict=True)
        ]
        row["engine_cores_busy"] = row["engine_cpu_ms"] * row["engine_fps"] / 1000
        row["cpu_ceiling"] = min(1.0, 1000 * cores / row["pipeline_cpu_ms"] / row["engine_fps"])
        rows.append(row)
    return rows


class ReplayEngine(InferenceEngine):
    """An engine whose network takes no time: ``run`` returns the outputs the real engine gave
    for one frame, repeated over the batch; letterboxing and decoding are the real ones. Through
    the pipeline it shows what the other stages sustain: the most any engine could reach."""

    def __init__(self, engine: OnnxEngine, frame: np.ndarray) -> None:
        super().__init__((engine.input_height, engine.input_width), engine.heads)
        self._outputs = engine.run(engine.preprocess([frame])[0])

    @property
    def device(self) -> str:
        return "replayed outputs"

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.repeat(out, len(images), axis=0) for name, out in self._outputs.items()}


def instant_engine_row(
    replay: ReplayEngine, video: Path, batch: int, rounds: int, work: Path
) -> dict[str, Any]:
    """End-to-end FPS of the pipeline (its default niceness) with ``replay``, and the
    engine-only FPS above which the target cannot be met on this CPU."""
    fps, stages = [], []
    for _ in range(rounds):
        summary, _ = run_pipeline(replay, video, batch, DEFAULT_NICENESS, work)
        fps.append(summary.fps)
        stages.append(summary.stage_fps())
    median_fps, median_stages = statistics.median(fps), median_per_stage(stages)
    slowest = min((stage for stage in STAGES if stage != "inference"), key=median_stages.get)
    return {
        "batch": batch,
        "fps": median_fps,
        "fps_rounds": fps,
        "stage_fps": median_stages,
        "slowest_stage": slowest,
        "engine_fps_limit": median_fps / TARGET_SHARE,
    }


def median_per_stage(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each stage's median over ``rounds`` of a per-stage figure
    (:meth:`PipelineSummary.stage_fps`, :meth:`PipelineSummary.stage_cpu_ms`)."""
    return {stage: statistics.median(values[stage] for values in rounds) for stage in rounds[0]}


def export_demo_model(config_path: str, work: Path) -> Path:
    """The config's model with random weights, exported to ``work``."""
    config = load_config(config_path, [f"output_dir={work / 'run'}", "model.pretrained=null"])
    torch.manual_seed(0)
    input_size = (config.data.input_height, config.data.input_width)
    model = settle_batch_norm(build_model(config), input_size)
    return export_onnx(model, config, work / "model.onnx")


def looped_video(clip: Path, frames: int, path: Path) -> tuple[Path, str]:
    """``frames`` frames of ``clip`` repeated, as an mp4v video at ``path``; and where they
    came from, for the report."""
    source = open_source(str(clip))  # a missing or unreadable clip fails here, naming it
    images = [frame.image for frame in source.frames() if frame.image is not None]
    fps, origin = source.info.fps, f"{clip.name}, looped"
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for index in range(frames):
        writer.write(images[index % len(images)])
    writer.release()
    return path, origin


def decoded_frames(video: Path) -> list[np.ndarray]:
    source = open_source(str(video))
    return [frame.image for frame in source.frames() if frame.image is not None]


def engine_only_fps(
    engine: OnnxEngine, frames: list[np.ndarray], batch: int
) -> tuple[float, float]:
    """Frames per second of ``engine.predict`` over in-memory ``frames``, and the process's
    CPU milliseconds per frame (every thread)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(frames), batch):
        engine.predict(frames[start : start + batch])
    cpu_ms = 1000 * (time.process_time() - cpu_started) / len(frames)
    return len(frames) / (time.perf_counter() - started), cpu_ms


def run_pipeline(
    engine: InferenceEngine, video: Path, batch: int, niceness: str, work: Path
) -> tuple[PipelineSummary, float]:
    """The pipeline's summary of a run from ``video`` to an annotated video and JSON lines, with
    the ``WORKERS/WRITER`` ``niceness``, and the process's CPU milliseconds per frame."""
    workers, writer = niceness_pair(niceness)
    pipeline = VideoPipeline(
        engine,
        FrameRenderer(engine.heads),
        batch_size=batch,
        warn=lambda message: None,
        worker_niceness=workers,
        writer_niceness=writer,
    )
    cpu_started = time.process_time()
    summary = pipeline.run(open_source(str(video)), work / "out.mp4", work / "out.jsonl")
    cpu_ms = 1000 * (time.process_time() - cpu_started) / summary.frames_processed
    return summary, cpu_ms


def markdown(report: dict[str, Any]) -> str:
    machine, video = report["machine"], report["video"]
    height, width = video["size"]
    lines = [
        "# Video inference: the pipeline against the engine alone",
        "",
        f"Command: `{report['command'].strip()}` ({report['date']}). Model: {report['model']}, "
        f"ONNX Runtime {machine['onnxruntime']} with {report['rows'][0]['provider']} "
        f"({machine['cpu']}, {machine['cores']} cores); OpenCV {machine['opencv']}. "
        f"Video: {video['origin']}, {video['frames']} frames of {width}x{height}. "
        "Engine only: `engine.predict` on the frames already decoded into memory (letterbox, "
        "network, decoding to frame pixels). "
        "End to end: `VideoPipeline` from the file to an annotated mp4v video and JSON lines "
        "(decoding, the engine, drawing and encoding in their own threads). Medians over "
        f"{report['rounds']} rounds; each round times the engine alone and the pipeline at "
        "every niceness setting, in an order reversed every other round, so the rows of one "
        "batch size and thread count share their engine-only runs; the run took "
        f"{report['wall_seconds'] / 60:.1f} min. ONNX Runtime runs with "
        "`session.intra_op.allow_spinning=0` in both, so its idle threads do not spin on cores "
        "the other stages need.",
        "",
        "Engine threads matter on a small CPU: with as many threads as cores the engine keeps "
        "every core busy, so decoding, drawing and encoding (priced in the stage tables below) "
        "can only take their time from it, and the pipeline cannot hide them. With one engine "
        "thread a core is left for them, as on a GPU machine, where the engine leaves the CPU "
        "free; there the slowest of the other stages (each runs in one thread) bounds the rate "
        "instead.",
        "",
        "`niceness` is added to the nice value of the pipeline's reader and render threads / of "
        "its writer thread (`VideoPipeline(worker_niceness=..., writer_niceness=...)`, default "
        f"{DEFAULT_NICENESS}): they then take the CPU time the engine's threads leave instead of "
        "stalling them; 0/0 runs them at the engine's priority. The writer gets less: encoding "
        "is the slowest of those stages and runs in one thread, and when it falls behind, its "
        "backlog is encoded after the engine's last frame with a core idle. `drain ms` is that "
        "time: from the engine's last batch to the end of the run.",
        "",
        "CPU time sets a ceiling. `CPU ms/frame` is the process's CPU time (every thread) per "
        "frame; `cores busy` is how many cores the engine alone keeps busy. However the stages "
        "overlap, the end-to-end rate cannot exceed the cores divided by the pipeline's CPU time "
        "per frame, so the share cannot exceed `ceiling` = cores / (end-to-end CPU ms per frame "
        "x engine-only FPS) (capped at 100%).",
        "",
        "`share` compares the medians; `share per round` is the range of each round's end-to-end "
        "FPS over that round's engine-only FPS. Where that range straddles the target, the "
        "verdict is within this machine's run-to-run noise.",
        "",
        "| engine threads | batch | niceness | engine only FPS | end to end FPS | share "
        "| share per round | target | drain ms "
        "| CPU ms/frame (engine / end to end) | cores busy | ceiling "
        "| rounds (engine / end to end) |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for row in report["rows"]:
        verdict = "PASS" if row["share"] >= report["target_share"] else "MISS"
        rounds = (
            ", ".join(f"{v:.1f}" for v in row["engine_fps_rounds"])
            + " / "
            + ", ".join(f"{v:.1f}" for v in row["pipeline_fps_rounds"])
        )
        lines.append(
            f"| {row['threads']} | {row['batch']} | {row['niceness']} | {row['engine_fps']:.1f} | "
            f"{row['pipeline_fps']:.1f} | "
            f"{row['share']:.1%} | "
            f"{min(row['share_rounds']):.1%}-{max(row['share_rounds']):.1%} | "
            f"{verdict} (>= {report['target_share']:.0%}) | "
            f"{row['drain_ms']:.0f} | "
            f"{row['engine_cpu_ms']:.1f} / {row['pipeline_cpu_ms']:.1f} | "
            f"{row['engine_cores_busy']:.2f} | {row['cpu_ceiling']:.1%} | {rounds} |"
        )
    lines += [
        "",
        "What each pipeline stage could sustain alone (frames over its busy time, medians; the "
        "stages overlap in threads, so the slowest bounds the end-to-end rate). Busy time is "
        "wall time inside the stage, waits for a core included: at a niceness above 0 on a busy "
        "CPU the worker stages wait for the engine, so their rates here read low:",
        "",
        "| engine threads | batch | niceness | " + " | ".join(STAGES) + " |",
        "|---:|---:|---:|" + "---:|" * len(STAGES),
    ]
    for row in report["rows"]:
        rates = " | ".join(f"{row['stage_fps'][stage]:.0f}" for stage in STAGES)
        lines.append(f"| {row['threads']} | {row['batch']} | {row['niceness']} | {rates} |")
    lines += [
        "",
        "What each stage costs: the CPU milliseconds per frame its thread spent in it (medians; "
        "waits for a core excluded). Inference is left out: the engine's own threads do most of "
        "it (its whole cost is `CPU ms/frame (engine)` above, letterboxing and decoding to "
        "pixels included). The last column sums the stages the engine alone does not run: "
        "the CPU time the pipeline adds to each frame.",
        "",
        "| engine threads | batch | niceness | "
        + " | ".join(CPU_TIMED_STAGES)
        + " | "
        + " + ".join(PIPELINE_ONLY_STAGES)
        + " |",
        "|---:|---:|---:|" + "---:|" * (len(CPU_TIMED_STAGES) + 1),
    ]
    for row in report["rows"]:
        costs = [row["stage_cpu_ms"][stage] for stage in CPU_TIMED_STAGES]
        added = sum(row["stage_cpu_ms"][stage] for stage in PIPELINE_ONLY_STAGES)
        cells = " | ".join(f"{cost:.2f}" for cost in [*costs, added])
        lines.append(f"| {row['threads']} | {row['batch']} | {row['niceness']} | {cells} |")
    lines += [
        "",
        "With an engine that takes no time (the real model's outputs for one frame, replayed; "
        "letterboxing and decoding are real), the pipeline runs at what its other stages "
        f"sustain on this CPU (niceness {DEFAULT_NICENESS}): the most any engine, however "
        "fast (a GPU's), can reach through it here. An engine faster than that rate divided by "
        f"{report['target_share']:.0%} cannot meet the target on this CPU.",
        "",
        "| batch | end to end FPS, instant engine | slowest other stage (its FPS) "
        "| engine-only FPS above which the target is out of reach | rounds |",
        "|---:|---:|---|---:|---|",
    ]
    for row in report["instant_engine"]:
        slowest = row["slowest_stage"]
        rounds = ", ".join(f"{v:.1f}" for v in row["fps_rounds"])
        lines.append(
            f"| {row['batch']} | {row['fps']:.1f} | {slowest} ({row['stage_fps'][slowest]:.0f}) "
            f"| {row['engine_fps_limit']:.0f} | {rounds} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
