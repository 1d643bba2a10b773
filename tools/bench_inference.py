"""Inference speed side by side, measured in one process. Writes benchmarks/inference.{json,md}.

Usage: ``python tools/bench_inference.py [--config configs/demo.yaml] [--rounds 30] [--warmup 3]
[--threads N] [--out-dir benchmarks]``

Measured with random weights (the speed of these networks does not depend on them; the batch
norms' statistics are set from noise images by
:func:`perception.model.settle_batch_norm.settle_batch_norm`):

- engines: torch eager against ONNX Runtime on the CPU at batch 1 and 8, for the config's model
  and a larger one (``--larger``, default ``model.backbone=resnet50``), plus ``predict()`` end
  to end (letterbox, network, decode) on one 1280x720 frame;
- sharing (ONNX Runtime, CPU): the merged model with every head, a single-head model, and one
  single-task model per head run one after another on the same batch;
- head cost (ONNX Runtime, CPU, batch 1): the merged model against the model without each head
  and the model with only that head;
- GPU, when there is one: torch eager on CUDA and ONNX Runtime's CUDA and TensorRT providers
  with float32 and float16 graphs, batch 1 and 8.

Latency is that of ``engine.run`` on a prepared ``(B, 3, H, W)`` float32 batch. Each group of
configurations is warmed up (``--warmup`` calls each), then timed over ``--rounds`` rounds that
visit every configuration of the group in turn, starting one further along each round. A visit
waits :data:`QUIET_GAP_S`, calls its configuration once untimed and times the second call, so
every runtime runs with its default threading (ONNX Runtime's and OpenMP's idle workers spin for
a while) without its spinning threads landing on the next configuration's timing. Medians and
90th percentiles are over the rounds; every ratio is of two medians from the same group.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch
from inference_report import markdown, model_label  # tools/, beside this script
from machine_info import cpu_name
from torch import nn

from perception.atomic import write_text_atomic
from perception.config.loader import load_config
from perception.config.schema import RunConfig
from perception.errors import PerceptionError
from perception.export.onnx_export import export_onnx
from perception.inference.engine import InferenceEngine
from perception.inference.onnx_engine import OnnxEngine
from perception.inference.torch_engine import TorchEngine
from perception.model.build import build_model
from perception.model.settle_batch_norm import settle_batch_norm

REPO = Path(__file__).resolve().parent.parent
BATCHES = (1, 8)
FRAME_SIZE = (720, 1280)
"""``(height, width)`` of the frame of the ``predict()`` rows."""
SINGLE_HEAD = "cars"
"""The head of the single-head model in the sharing group (the first head when it is absent)."""
SEED = 0
"""The random initialisation of every model (speed does not depend on the weights)."""
"""Batches of noise, and their size, that set the batch norms' running statistics."""
QUIET_GAP_S = 0.05
"""Seconds each visit waits first, so the idle threads of the runtime that ran before stop
spinning. Without it, on two cores, torch eager timed right after a spinning ONNX Runtime
session took a median 30 ms instead of 22 ms (a one-off timing script, 40 interleaved rounds;
not in the committed tables)."""
BACK_TO_BACK = {"session.intra_op.allow_spinning": "0"}
"""Session options of the six single-task models that run one after another: each model's idle
threads sleep instead of spinning on the cores the next model needs (spinning, the six took a
median 212 ms at batch 1 instead of about 70 ms in an uncommitted run of this tool), so the
alternative to sharing is measured in its best setting."""
TARGET_ORT_SPEEDUP = 1.5
TARGET_MERGED_VS_SINGLE = 1.3
TARGET_SEPARATE_VS_MERGED = 4.0


class ExportFailed(Exception):
    """No random initialisation of a model passed the export's check."""


@dataclass
class Variant:
    """One model built from the config with random weights and exported to ONNX."""

    heads: tuple[str, ...]
    config: RunConfig
    model: nn.Module
    onnx: Path
    seed: int
    onnx_half: Path | None = None


@dataclass
class Contestant:
    """One timed configuration: ``call`` runs it once; ``row`` describes it in the report."""

    key: str
    call: Callable[[], object]
    row: dict[str, Any]
    times: list[float] = field(default_factory=list)


class Models:
    """The variants of one base model (the config plus ``overrides``), each head tuple built,
    exported into ``work`` and opened in ONNX Runtime on the CPU once.

    Args:
        config_path: the YAML config.
        overrides: ``key=value`` overrides applied to every variant.
        work: folder for the ONNX files.
        name: ``base`` or ``larger``; names the files.
        threads: intra-op threads of the ONNX Runtime CPU sessions.
    """

    def __init__(
        self, config_path: str, overrides: Sequence[str], work: Path, name: str, threads: int
    ) -> None:
        self.config_path = config_path
        self.overrides = list(overrides)
        self.work = work
        self.name = name
        self.threads = threads
        self.variants: dict[tuple[str, ...], Variant] = {}
        self.engines: dict[tuple[tuple[str, ...], bool], OnnxEngine] = {}

    def variant(self, heads: Sequence[str]) -> Variant:
        """The variant with exactly ``heads``, in this order."""
        key = tuple(heads)
        if key not in self.variants:
            self.variants[key] = self._build(key)
        return self.variants[key]

    def ort_cpu(self, heads: Sequence[str], back_to_back: bool = False) -> OnnxEngine:
        """An ONNX Runtime CPU engine for the variant with ``heads``; ``back_to_back`` ones
        run with :data:`BACK_TO_BACK` for models that run one right after another."""
        key = (tuple(heads), back_to_back)
        if key not in self.engines:
            path = self.variant(key[0]).onnx
            self.engines[key] = OnnxEngine(
                path,
                ["cpu"],
                threads=self.threads,
                session_config=BACK_TO_BACK if back_to_back else None,
                log=progress,
            )
        return self.engines[key]

    def half(self, variant: Variant) -> Path:
        """``variant`` exported with float16 weights and arithmetic."""
        if variant.onnx_half is None:
            progress(f"exporting the {self.name} model in float16")
            path = variant.onnx.with_suffix(".fp16.onnx")
            variant.onnx_half = export_onnx(variant.model, variant.config, path, half=True)
        return variant.onnx_half

    def _build(self, heads: tuple[str, ...]) -> Variant:
        base = load_config(self.config_path, self.overrides)
        options = {head: value for head, value in base.model.head_options.items() if head in heads}
        config = load_config(
            self.config_path,
            [
                *self.overrides,
                f"model.heads={json.dumps(list(heads))}",
                f"model.head_options={json.dumps(options)}",
            ],
        )
        path = self.work / f"{self.name}-{'+'.join(heads)}.onnx"
        progress(f"exporting the {self.name} model with heads {', '.join(heads)}")
        torch.manual_seed(SEED)
        input_size = (config.data.input_height, config.data.input_width)
        model = settle_batch_norm(build_model(config), input_size)
        try:
            export_onnx(model, config, path)
        except PerceptionError as exc:
            raise ExportFailed(
                f"export_onnx refused the {self.name} model with heads {', '.join(heads)}: "
                f"{str(exc).replace(str(path), path.name)}"
            ) from None
        return Variant(heads, config, model, path, SEED)


def progress(message: str) -> None:
    """Print ``message`` with the time of day."""
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def random_images(rng: np.random.Generator, batch: int, config: RunConfig) -> np.ndarray:
    """``(batch, 3, H, W)`` float32 noise in ``[0, 255]`` at the config's input size."""
    shape = (batch, 3, config.data.input_height, config.data.input_width)
    return rng.uniform(0.0, 255.0, shape).astype(np.float32)


def run_contestant(key: str, engine: InferenceEngine, images: np.ndarray, **row: Any) -> Contestant:
    """The contestant timing ``engine.run(images)``; ``row`` adds to its description."""
    return Contestant(
        key,
        lambda: engine.run(images),
        {**row, "engine": engine.device, "batch": len(images), "mode": "run"},
    )


def time_interleaved(contestants: Sequence[Contestant], rounds: int, warmup: int) -> None:
    """Warm every contestant up, then fill each one's ``times`` (seconds) over ``rounds``
    rounds that visit them in turn, starting one further along each round; a visit waits
    :data:`QUIET_GAP_S`, calls its contestant once untimed and times the second call."""
    for contestant in contestants:
        for _ in range(warmup):
            contestant.call()
    for index in range(rounds):
        shift = index % len(contestants)
        for contestant in [*contestants[shift:], *contestants[:shift]]:
            time.sleep(QUIET_GAP_S)
            contestant.call()
            start = time.perf_counter()
            contestant.call()
            contestant.times.append(time.perf_counter() - start)


def summarise(contestant: Contestant) -> dict[str, Any]:
    """The report row: the description, median and 90th-percentile latency, throughput."""
    median = statistics.median(contestant.times)
    return {
        **contestant.row,
        "median_ms": 1000 * median,
        "p90_ms": 1000 * float(np.percentile(contestant.times, 90)),
        "images_per_s": contestant.row["batch"] / median,
        "samples": len(contestant.times),
    }


def engines_group(
    models: dict[str, Models], heads: Sequence[str], rng: np.random.Generator
) -> list[Contestant]:
    """Torch eager against ONNX Runtime on the CPU for every model and batch, and
    ``predict()`` on one frame for the base model."""
    contestants = []
    torch_engines: dict[str, TorchEngine] = {}
    row = {"group": "engines", "heads": list(heads), "precision": "fp32"}
    for name, group in models.items():
        variant = group.variant(heads)
        data = variant.config.data
        torch_engines[name] = TorchEngine(variant.model, (data.input_height, data.input_width))
        for batch in BATCHES:
            images = random_images(rng, batch, variant.config)
            for short, engine in (
                ("torch-cpu", torch_engines[name]),
                ("ort-cpu", group.ort_cpu(heads)),
            ):
                key = f"engines/{name}/{short}/b{batch}"
                contestants.append(run_contestant(key, engine, images, **row, model=name))
    frame = rng.integers(0, 256, (*FRAME_SIZE, 3), dtype=np.uint8)
    for short, engine in (
        ("torch-cpu", torch_engines["base"]),
        ("ort-cpu", models["base"].ort_cpu(heads)),
    ):
        contestants.append(
            Contestant(
                f"engines/base/{short}/predict",
                lambda engine=engine: engine.predict([frame]),
                {
                    **row,
                    "model": "base",
                    "engine": engine.device,
                    "batch": 1,
                    "mode": f"predict {FRAME_SIZE[1]}x{FRAME_SIZE[0]}",
                },
            )
        )
    return contestants


def ort_contestant(
    key: str, models: Models, heads: Sequence[str], images: np.ndarray, group: str
) -> Contestant:
    """The contestant timing the ONNX Runtime CPU engine of the variant of ``models`` with
    ``heads`` on ``images``."""
    return run_contestant(
        key,
        models.ort_cpu(heads),
        images,
        group=group,
        model=models.name,
        heads=list(heads),
        precision="fp32",
    )


def sharing_group(
    base: Models, heads: Sequence[str], single: str, rng: np.random.Generator
) -> list[Contestant]:
    """ONNX Runtime on the CPU: the merged model, the single-head model, and one single-task
    model per head run one after another, at every batch size."""
    separate = [base.ort_cpu([head], back_to_back=True) for head in heads]
    contestants = []
    for batch in BATCHES:
        images = random_images(rng, batch, base.variant(heads).config)
        merged = ort_contestant(f"sharing/merged/b{batch}", base, heads, images, "sharing")
        contestants += [
            merged,
            ort_contestant(f"sharing/single/b{batch}", base, [single], images, "sharing"),
            Contestant(
                f"sharing/separate/b{batch}",
                lambda images=images: [engine.run(images) for engine in separate],
                {**merged.row, "mode": "run, one single-task model per head in turn"},
            ),
        ]
    return contestants


def heads_group(base: Models, heads: Sequence[str], rng: np.random.Generator) -> list[Contestant]:
    """ONNX Runtime on the CPU at batch 1: the merged model, the model without each head, the
    model with only each head."""
    images = random_images(rng, 1, base.variant(heads).config)
    contestants = [ort_contestant("heads/merged/b1", base, heads, images, "heads")]
    for head in heads:
        others = [other for other in heads if other != head]
        contestants += [
            ort_contestant(f"heads/without-{head}/b1", base, others, images, "heads"),
            ort_contestant(f"heads/only-{head}/b1", base, [head], images, "heads"),
        ]
    return contestants


def gpu_group(
    models: dict[str, Models], heads: Sequence[str], threads: int, rng: np.random.Generator
) -> tuple[list[Contestant], dict[str, Any]]:
    """Torch eager on CUDA and ONNX Runtime's CUDA and TensorRT providers in float32 and float16
    for every model and batch; empty when there is no GPU. Also returns ``{"available",
    "reason", "skipped"}``: why there is no GPU, and the engines that did not start."""
    probe = open_onnx(models["base"].variant(heads).onnx, "cuda", threads)
    if not torch.cuda.is_available() and isinstance(probe, str):
        reason = (
            "torch.cuda.is_available() is False and ONNX Runtime's CUDA provider did not start "
            f"({probe})"
        )
        return [], {"available": False, "reason": reason, "skipped": []}
    contestants: list[Contestant] = []
    skipped = []
    row = {"group": "gpu", "heads": list(heads)}
    for name, group in models.items():
        variant = group.variant(heads)
        data = variant.config.data
        engines: list[tuple[str, str, InferenceEngine]] = []
        if torch.cuda.is_available():
            model = copy.deepcopy(variant.model)
            size = (data.input_height, data.input_width)
            engines.append(("torch-cuda", "fp32", TorchEngine(model, size, device="cuda")))
        for precision in ("fp32", "fp16"):
            try:
                path = variant.onnx if precision == "fp32" else group.half(variant)
            except PerceptionError as exc:
                skipped.append(f"{name} float16 export: {exc}")
                continue
            for provider in ("cuda", "tensorrt"):
                options = None
                if provider == "tensorrt" and precision == "fp16":
                    options = {provider: {"trt_fp16_enable": "True"}}  # added to the defaults
                engine = open_onnx(path, provider, threads, options)
                if isinstance(engine, str):
                    skipped.append(f"{name} {provider} {precision}: {engine}")
                else:
                    engines.append((f"ort-{provider}-{precision}", precision, engine))
        for batch in BATCHES:
            images = random_images(rng, batch, variant.config)
            for short, precision, engine in engines:
                key = f"gpu/{name}/{short}/b{batch}"
                contestants.append(
                    run_contestant(key, engine, images, **row, model=name, precision=precision)
                )
    return contestants, {"available": True, "reason": None, "skipped": skipped}


def open_onnx(
    path: Path, provider: str, threads: int, options: dict[str, dict[str, str]] | None = None
) -> OnnxEngine | str:
    """An engine on exactly ``provider`` (short name) with provider ``options`` added to the
    defaults, or why it cannot run here."""
    try:
        return OnnxEngine(
            path,
            providers=[provider],
            provider_options=options,
            threads=threads,
            log=progress,
        )
    except PerceptionError as exc:
        return str(exc).replace(str(path), path.name)


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every ratio of two medians the report quotes: ``{name: {numerator, denominator,
    value}}`` with row keys as numerator and denominator."""
    pairs = {}
    timed = dict.fromkeys(row["model"] for row in rows.values() if row["group"] == "engines")
    for model in timed:
        for batch in BATCHES:
            pairs[f"ort_speedup/{model}/b{batch}"] = (
                f"engines/{model}/torch-cpu/b{batch}",
                f"engines/{model}/ort-cpu/b{batch}",
            )
    pairs["ort_speedup/base/predict"] = (
        "engines/base/torch-cpu/predict",
        "engines/base/ort-cpu/predict",
    )
    for batch in BATCHES:
        pairs[f"merged_vs_single/b{batch}"] = (
            f"sharing/merged/b{batch}",
            f"sharing/single/b{batch}",
        )
        pairs[f"separate_vs_merged/b{batch}"] = (
            f"sharing/separate/b{batch}",
            f"sharing/merged/b{batch}",
        )
    for key, row in rows.items():
        if row["group"] == "gpu":
            _, model, engine, batch = key.split("/")
            reference = f"gpu/{model}/torch-cuda/{batch}"
            if engine.startswith("ort-") and reference in rows:
                pairs[f"gpu_speedup/{model}/{engine}/{batch}"] = (reference, key)
    return {
        name: {
            "numerator": numerator,
            "denominator": denominator,
            "value": rows[numerator]["median_ms"] / rows[denominator]["median_ms"],
        }
        for name, (numerator, denominator) in pairs.items()
    }


def head_costs(rows: dict[str, dict[str, Any]], heads: Sequence[str]) -> list[dict[str, Any]]:
    """Per head: the merged model's median latency minus that of the model without the head,
    in ms and in % of the merged latency (ONNX Runtime, CPU, batch 1)."""
    merged = rows["heads/merged/b1"]["median_ms"]
    costs = []
    for head in heads:
        without = rows[f"heads/without-{head}/b1"]["median_ms"]
        costs.append(
            {
                "head": head,
                "merged": "heads/merged/b1",
                "without": f"heads/without-{head}/b1",
                "only": f"heads/only-{head}/b1",
                "added_ms": merged - without,
                "added_percent": 100 * (merged - without) / merged,
            }
        )
    return costs


def targets(
    found: dict[str, dict[str, Any]], heads: Sequence[str], single: str, base_label: str
) -> list[dict[str, Any]]:
    """The targets, each with its measured ratio and whether it passed."""
    count = len(heads)
    wanted = [
        (
            f"ONNX Runtime at least {TARGET_ORT_SPEEDUP}x faster than torch eager on the CPU at "
            f"batch 1 ({base_label})",
            "ort_speedup/base/b1",
            ">=",
            TARGET_ORT_SPEEDUP,
        )
    ]
    for batch in BATCHES:
        wanted.append(
            (
                f"merged {count}-head model at most {TARGET_MERGED_VS_SINGLE}x the latency of "
                f"the single-head ({single}) model, batch {batch}",
                f"merged_vs_single/b{batch}",
                "<=",
                TARGET_MERGED_VS_SINGLE,
            )
        )
    for batch in BATCHES:
        wanted.append(
            (
                f"merged model at least {TARGET_SEPARATE_VS_MERGED}x cheaper than {count} "
                f"separate single-task models, batch {batch}",
                f"separate_vs_merged/b{batch}",
                ">=",
                TARGET_SEPARATE_VS_MERGED,
            )
        )
    results = []
    for text, ratio, comparison, threshold in wanted:
        value = found[ratio]["value"]
        passed = value >= threshold if comparison == ">=" else value <= threshold
        results.append(
            {
                "target": text,
                "ratio": ratio,
                "comparison": comparison,
                "threshold": threshold,
                "measured": value,
                "passed": passed,
            }
        )
    return results


def measure(
    models: dict[str, Models],
    heads: Sequence[str],
    single: str,
    rounds: int,
    warmup: int,
    threads: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Time every group; the report rows by key, and what :func:`gpu_group` found."""
    rng = np.random.default_rng(0)
    groups = {
        "engines": engines_group(models, heads, rng),
        "sharing": sharing_group(models["base"], heads, single, rng),
        "heads": heads_group(models["base"], heads, rng),
    }
    groups["gpu"], gpu = gpu_group(models, heads, threads, rng)
    rows = {}
    for name, contestants in groups.items():
        if contestants:
            progress(f"timing {name}: {len(contestants)} configurations")
            time_interleaved(contestants, rounds, warmup)
            rows.update({contestant.key: summarise(contestant) for contestant in contestants})
    return rows, gpu


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument(
        "--heads", nargs="+", help="heads of the merged model (default: the config's; two or more)"
    )
    parser.add_argument(
        "--larger",
        nargs="+",
        default=["model.backbone=resnet50"],
        help="config overrides that make the larger model (default: model.backbone=resnet50)",
    )
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds per group")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per configuration")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch and ONNX Runtime threads"
    )
    parser.add_argument("--out-dir", default=str(REPO / "benchmarks"))
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1, --warmup at least 0")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as temp:
        work = Path(temp)
        common = [f"output_dir={work / 'run'}", "model.pretrained=null"]
        heads = list(args.heads or load_config(args.config, common).model.heads)
        if len(heads) < 2 or len(set(heads)) != len(heads):
            parser.error(f"the merged model needs two or more different heads, got {heads}")
        single = SINGLE_HEAD if SINGLE_HEAD in heads else heads[0]
        models = {"base": Models(args.config, common, work, "base", args.threads)}
        larger = Models(args.config, [*common, *args.larger], work, "larger", args.threads)
        not_measured = []
        try:
            models["base"].variant(heads)
            try:
                larger.variant(heads)
                models["larger"] = larger
            except ExportFailed as exc:
                not_measured.append(f"the larger model (`{shlex.join(args.larger)}`): {exc}")
            rows, gpu = measure(models, heads, single, args.rounds, args.warmup, args.threads)
        except (ExportFailed, PerceptionError) as exc:
            raise SystemExit(f"error: {exc}") from None
        described = {name: describe(group.variant(heads)) for name, group in models.items()}
    found = ratios(rows)
    command_args = sys.argv[1:] if argv is None else list(argv)
    report = {
        "command": "python tools/bench_inference.py " + shlex.join(command_args),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "config": os.path.relpath(args.config, REPO),
        "machine": machine(args.threads),
        "method": {
            "rounds": args.rounds,
            "warmup": args.warmup,
            "quiet_gap_ms": 1000 * QUIET_GAP_S,
            "batches": list(BATCHES),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
            "wall_seconds": time.perf_counter() - started,
        },
        "models": described,
        "not_measured": not_measured,
        "single_head": single,
        "gpu": gpu,
        "rows": rows,
        "ratios": found,
        "head_costs": head_costs(rows, heads),
        "targets": targets(found, heads, single, model_label(described["base"])),
    }
    out = Path(args.out_dir)
    write_text_atomic(out / "inference.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "inference.md", markdown(report))
    print(markdown(report))


def describe(variant: Variant) -> dict[str, Any]:
    """What a variant is, for the report."""
    model, data = variant.config.model, variant.config.data
    return {
        "backbone": model.backbone,
        "backbone_options": dict(model.backbone_options),
        "neck_channels": model.neck_channels,
        "input_size": [data.input_height, data.input_width],
        "heads": list(variant.heads),
        "parameters": sum(parameter.numel() for parameter in variant.model.parameters()),
        "seed": variant.seed,
    }


def machine(threads: int) -> dict[str, Any]:
    """The machine and the library versions the numbers were measured with."""
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": threads,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


if __name__ == "__main__":
    main()
