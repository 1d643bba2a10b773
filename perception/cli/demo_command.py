"""``perception demo``: run everything that exists end to end on the synthetic world.

Write a synthetic dataset and driving video (as ``perception synth`` does), draw augmented
training batches, train the configured multi-task model, evaluate it on the validation split
beside the trivial baselines, write a report (markdown with PNG plots), and export the trained
model, every head in one graph, to ``deploy/model.onnx`` (checked against PyTorch), and run that
file over the synthetic driving video and the real highway clip a checkout ships in
``tests/fixtures/udacity_highway/`` (annotated videos and JSON lines under ``infer/``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from perception.cli.config_arguments import add_config_arguments, config_from_arguments
from perception.cli.synth_command import write_synthetic_dataset
from perception.config.loader import save_config
from perception.config.schema import RunConfig
from perception.data.contact_sheet import write_contact_sheet
from perception.data.letterbox import letterbox
from perception.data.loader import make_loader
from perception.data.sample import Sample
from perception.eval.evaluate import EvalResult, evaluate
from perception.eval.results_table import markdown_table, write_results
from perception.export.onnx_export import export_onnx
from perception.inference.onnx_engine import OnnxEngine
from perception.model.build import build_model
from perception.report.prediction_sheet import write_prediction_sheet
from perception.report.run_report import ReportInputs, write_report
from perception.report.training_plots import write_training_plots
from perception.train.components import build_dataset, resolve_device
from perception.train.trainer import TrainResult, train
from perception.video.pipeline import QUIET_THREADS, VideoPipeline
from perception.video.render import FrameRenderer
from perception.video.sources import open_source

HIGHWAY_CLIP = Path(__file__).resolve().parents[2] / "tests/fixtures/udacity_highway/test_video.mp4"
"""The real highway clip the demo also runs on (a copy of ``../shared/data/udacity_highway/``);
absent where the package is installed without its checkout."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on the synthetic world")
    add_config_arguments(parser)
    parser.add_argument("-o", "--out", metavar="DIR", help="output folder (default: output_dir)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_arguments(args)
    out = Path(args.out or config.output_dir)
    started = time.perf_counter()
    # Resolve the dataset before writing anything, so a bad name or setting fails at once.
    train_set = build_dataset(config, config.data.split)
    build_model(config)  # an unknown head or backbone fails here, before anything is written
    save_config(config, out / "config.yaml")
    outputs = write_synthetic_dataset(config, out / "data")
    batches_sheet = write_training_batches_sheet(config, train_set, out / "train_batches.png")
    trained = train(config, out, progress=True)
    device = resolve_device(config.train.device)
    evaluation = evaluate(trained.model, config, device)
    metrics_json, metrics_md = write_results(evaluation, out / "eval")
    train_images = len(train_set)  # type: ignore[arg-type]
    report = write_run_report(config, out, trained, evaluation, device, train_images)
    onnx_model = export_onnx(trained.model, config, out / "deploy" / "model.onnx")
    videos = run_video_inference(onnx_model, config, [outputs.video, HIGHWAY_CLIP], out / "infer")
    elapsed = time.perf_counter() - started
    print(markdown_table(evaluation), end="")
    for warning in trained.affinity.warnings() if trained.affinity else []:
        print(f"warning: {warning}")
    print(
        f"demo finished in {elapsed:.1f} s (training {trained.seconds:.1f} s); outputs under {out}:"
    )
    rows = [
        ("resolved config", out / "config.yaml"),
        *((f"{split} labels", path) for split, path in outputs.annotations.items()),
        ("driving video", outputs.video),
        ("video labels", outputs.video_labels),
        ("contact sheet", outputs.contact_sheet),
        ("augmented batches", batches_sheet),
        ("checkpoint", trained.checkpoint),
        ("training log", trained.log),
        ("metrics", metrics_json),
        ("metrics table", metrics_md),
        ("report", report),
        ("ONNX model", onnx_model),
        *((f"infer {video.stem}", video) for video in videos),
    ]
    for label, path in rows:
        print(f"  {label:<20}{path}")
    return 0


def run_video_inference(
    model: Path, config: RunConfig, videos: list[Path], out: Path
) -> list[Path]:
    """Run the exported ``model`` over each of ``videos`` that exists; return the annotated
    videos (JSON lines beside them)."""
    engine = OnnxEngine(model, providers=["cpu"], session_config=QUIET_THREADS)
    renderer = FrameRenderer(engine.heads, score_threshold=config.eval.score_threshold)
    written = []
    for video in videos:
        if not video.is_file():
            print(f"video inference: {video} is absent; skipped")
            continue
        pipeline = VideoPipeline(engine, renderer, score_threshold=config.eval.score_threshold)
        target = out / f"{video.stem}.mp4"
        summary = pipeline.run(open_source(str(video)), target, target.with_suffix(".jsonl"))
        print(
            f"video inference: {summary.frames_processed} frames of {video.name} at "
            f"{summary.fps:.1f} FPS (ONNX Runtime, {engine.device})"
        )
        written.append(target)
    return written


def write_run_report(
    config: RunConfig,
    out: Path,
    trained: TrainResult,
    evaluation: EvalResult,
    device: Any,
    train_images: int,
) -> Path:
    """Loss curves, convergence diagnostics, inter-task affinity (when measured), drawn
    validation predictions and the metric table in ``out/report.md``."""
    plots = write_training_plots(trained.log, out / "report", trained.affinity)
    val_set = build_dataset(config, config.data.val_split)
    height, width = config.data.input_height, config.data.input_width
    count = min(config.eval.draw_images, len(val_set))  # type: ignore[arg-type]
    shown = [letterbox(val_set[i], height, width) for i in range(count)]
    sheet = write_prediction_sheet(
        trained.model, shown, out / "report" / "predictions.png", config.eval.score_threshold
    )
    inputs = ReportInputs(
        title="perception demo report",
        config_path=out / "config.yaml",
        train_seconds=trained.seconds,
        train_steps=trained.steps,
        train_images=train_images,
        device=str(device),
        evaluation=evaluation,
        loss_plot=plots.losses,
        prediction_sheet=sheet,
        convergence_plot=plots.convergence,
        affinity_plot=plots.affinity,
        affinity_warnings=trained.affinity.warnings() if trained.affinity else [],
    )
    return write_report(inputs, out / "report.md")


def write_training_batches_sheet(config: RunConfig, train_set: Dataset[Sample], path: Path) -> Path:
    """Draw the first training samples as the model would see them (letterboxed, augmented)."""
    loader = make_loader(train_set, config.data, train=True, seed=config.seed)
    wanted = config.outputs.contact_sheet_samples
    shown: list[Sample] = []
    for batch in loader:
        shown.extend(batch.samples)
        if len(shown) >= wanted:
            break
    return write_contact_sheet(shown[:wanted], path)
