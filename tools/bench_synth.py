"""Measure synthetic-world throughput (images/s per core) and write benchmarks/synth.{json,md}.

Usage: ``python tools/bench_synth.py [--images 200] [--workers 2] [--out benchmarks]``

One process renders ``--images`` seeds after a warm-up (OpenCV held to one thread, so the
number is per core); then ``--workers`` processes render the same seeds split between them, to
show how generation scales across cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from perception.atomic import write_text_atomic
from perception.config.schema import SynthConfig
from perception.synth.world import render_scene

WARMUP = 10


def _time_seeds(args: tuple[int, int, list[int]]) -> list[float]:
    """Render each seed once (after a warm-up) in this process; per-image seconds."""
    height, width, seeds = args
    cv2.setNumThreads(1)
    config = SynthConfig(height=height, width=width)
    for seed in range(WARMUP):
        render_scene(config, 10**6 + seed)
    times = []
    for seed in seeds:
        start = time.perf_counter()
        render_scene(config, seed)
        times.append(time.perf_counter() - start)
    return times


def _parallel(height: int, width: int, seeds: list[int], workers: int) -> dict[str, float]:
    """Wall-clock throughput of ``workers`` processes sharing ``seeds``."""
    chunks = [(height, width, seeds[k::workers]) for k in range(workers)]
    with mp.get_context("spawn").Pool(workers) as pool:
        pool.map(_time_seeds, [(height, width, [0])] * workers)  # start and import everywhere
        start = time.perf_counter()
        per_worker = pool.map(_time_seeds, chunks)
        wall = time.perf_counter() - start
    busy = [sum(t) for t in per_worker]
    return {
        "workers": workers,
        "images": len(seeds),
        "wall_s": wall,
        "images_per_s": len(seeds) / max(busy),
        "images_per_s_per_core": len(seeds) / max(busy) / workers,
    }


def _markdown(report: dict) -> str:
    single, multi, machine = report["single"], report["parallel"], report["machine"]
    lines = [
        "# Synthetic world throughput",
        "",
        f"Image size {report['height']}x{report['width']}, default `SynthConfig`, "
        f"{single['images']} seeds, OpenCV limited to one thread per process.",
        "",
        "| run | median ms / image | p90 ms | images/s | images/s per core |",
        "|---|---:|---:|---:|---:|",
        f"| 1 process | {single['median_ms']:.2f} | {single['p90_ms']:.2f} | "
        f"{single['images_per_s']:.1f} | {single['images_per_s']:.1f} |",
        f"| {multi['workers']} processes | - | - | {multi['images_per_s']:.1f} | "
        f"{multi['images_per_s_per_core']:.1f} |",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in machine.items()),
        "",
        f"Command: `{report['command']}`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--out", type=Path, default=Path("benchmarks"))
    args = parser.parse_args(argv)
    seeds = list(range(args.images))
    times = np.array(_time_seeds((args.height, args.width, seeds)))
    single = {
        "images": len(seeds),
        "median_ms": 1e3 * float(np.median(times)),
        "mean_ms": 1e3 * float(times.mean()),
        "p90_ms": 1e3 * float(np.percentile(times, 90)),
        "images_per_s": len(seeds) / float(times.sum()),
    }
    report = {
        "height": args.height,
        "width": args.width,
        "single": single,
        "parallel": _parallel(args.height, args.width, seeds, args.workers),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
    }
    write_text_atomic(args.out / "synth.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(args.out / "synth.md", _markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
