"""The markdown page of ``tools/bench_inference.py``: ``benchmarks/inference.md`` from the report
dict that the bench also writes as ``benchmarks/inference.json``."""

from __future__ import annotations

from typing import Any


def model_label(description: dict[str, Any]) -> str:
    """``resnet18, 6 heads, 192x320`` or ``tiny (width 16), 2 heads, 96x160``."""
    options = ", ".join(f"{key} {value}" for key, value in description["backbone_options"].items())
    backbone = description["backbone"] + (f" ({options})" if options else "")
    height, width = description["input_size"]
    return f"{backbone}, {len(description['heads'])} heads, {height}x{width}"


def markdown(report: dict[str, Any]) -> str:
    """The committed page: what was measured and how, the targets, then one table per group."""
    rows, found = report["rows"], report["ratios"]
    method, host = report["method"], report["machine"]
    base = report["models"]["base"]
    labels = " and ".join(model_label(description) for description in report["models"].values())
    count = len(base["heads"])
    gpu_line = f", GPU {host['gpu']}" if host["gpu"] else ", no GPU"
    lines = [
        "# Inference speed",
        "",
        f"Command: `{report['command']}` ({report['date']}, config `{report['config']}`). "
        "Network latency of `engine.run` on a prepared float32 batch (letterboxing and decoding "
        "left out, except in the `predict()` rows), torch eager against ONNX Runtime, for "
        f"{labels}; the merged model against single-task models; and what each head adds. "
        f"Machine: {host['cpu']}, {host['cores']} cores{gpu_line}; {host['threads']} threads "
        f"for torch and ONNX Runtime alike; Python {host['python']}, torch {host['torch']}, "
        f"onnxruntime {host['onnxruntime']}. Random weights (batch-norm statistics set from "
        f"noise images). Each group of configurations is warmed up ({method['warmup']} untimed "
        f"call{'' if method['warmup'] == 1 else 's'} each), then timed over {method['rounds']} "
        "interleaved rounds that visit every configuration in turn (starting one further along "
        f"each round); a visit waits {method['quiet_gap_ms']:.0f} ms, so the idle threads of the "
        "runtime visited before stop spinning, calls its configuration once untimed and times "
        "the second call. Torch and ONNX Runtime keep their default threading (idle workers "
        "spin). Medians (90th percentile "
        "in brackets) over the rounds; every ratio is of two medians from the same group. Load "
        "average (1 min) "
        f"{method['load_average_before']:.2f} before, {method['load_average_after']:.2f} after; "
        f"the run took {method['wall_seconds'] / 60:.1f} min.",
        "",
        "## Targets",
        "",
    ]
    for target in report["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        lines.append(
            f"- {verdict}: {target['target']}: measured {target['measured']:.2f}x "
            f"(target {target['comparison']} {target['threshold']}x)."
        )
    lines += [
        "",
        "## Torch eager against ONNX Runtime (CPU)",
        "",
        "| model | batch | torch ms | ONNX Runtime ms | torch img/s | ONNX Runtime img/s | "
        "ORT speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, description in report["models"].items():
        for batch in method["batches"]:
            torch_row = rows[f"engines/{name}/torch-cpu/b{batch}"]
            ort_row = rows[f"engines/{name}/ort-cpu/b{batch}"]
            lines.append(
                f"| {model_label(description)} | {batch} | {_ms(torch_row)} | {_ms(ort_row)} | "
                f"{torch_row['images_per_s']:.1f} | {ort_row['images_per_s']:.1f} | "
                f"{found[f'ort_speedup/{name}/b{batch}']['value']:.2f}x |"
            )
    torch_row = rows["engines/base/torch-cpu/predict"]
    ort_row = rows["engines/base/ort-cpu/predict"]
    lines.append(
        f"| {model_label(base)}, `predict()` on one {torch_row['mode'].split()[-1]} frame | 1 | "
        f"{_ms(torch_row)} | {_ms(ort_row)} | {torch_row['images_per_s']:.1f} | "
        f"{ort_row['images_per_s']:.1f} | {found['ort_speedup/base/predict']['value']:.2f}x |"
    )
    single = report["single_head"]
    if report["not_measured"]:
        lines += ["", *(f"- Not measured: {reason}" for reason in report["not_measured"])]
    lines += [
        "",
        f"## What sharing buys (ONNX Runtime, CPU, {model_label(base).split(',')[0]})",
        "",
        "| model | batch 1 ms | batch 8 ms | batch 8 img/s |",
        "|---|---:|---:|---:|",
    ]
    for key, text in (
        ("merged", f"merged, {count} heads"),
        ("single", f"single head ({single})"),
        (
            "separate",
            f"{count} single-task models, one after another (their idle threads sleep)",
        ),
    ):
        b1, b8 = rows[f"sharing/{key}/b1"], rows[f"sharing/{key}/b8"]
        lines.append(f"| {text} | {_ms(b1)} | {_ms(b8)} | {b8['images_per_s']:.1f} |")
    lines += [
        "",
        f"- Merged / single-head latency: {found['merged_vs_single/b1']['value']:.2f}x at batch "
        f"1, {found['merged_vs_single/b8']['value']:.2f}x at batch 8.",
        f"- {count} separate models / merged: {found['separate_vs_merged/b1']['value']:.2f}x at "
        f"batch 1, {found['separate_vs_merged/b8']['value']:.2f}x at batch 8.",
        "",
        "## What each head costs (ONNX Runtime, CPU, batch 1)",
        "",
        f"The merged model: {_ms(rows['heads/merged/b1'])} ms. A head's cost is the merged "
        "median minus the median of the model without that head; differences smaller than the "
        "rounds' spread (median against 90th percentile) are noise.",
        "",
        "| head | without it ms | the head adds ms | % of merged | only this head ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for cost in report["head_costs"]:
        lines.append(
            f"| {cost['head']} | {_ms(rows[cost['without']])} | {cost['added_ms']:+.2f} | "
            f"{cost['added_percent']:+.1f} | {_ms(rows[cost['only']])} |"
        )
    lines += ["", "## GPU", ""]
    gpu = report["gpu"]
    if not gpu["available"]:
        lines.append(
            f"No GPU was available on the machine that ran this ({gpu['reason']}), so the CUDA "
            "and TensorRT rows (float32 and float16, batch 1 and 8) were not measured."
        )
    else:
        lines += [
            "| model | engine | precision | batch | ms | img/s | vs torch CUDA |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for key, row in rows.items():
            if row["group"] != "gpu":
                continue
            _, name, short, batch = key.split("/")
            ratio = found.get(f"gpu_speedup/{name}/{short}/{batch}")
            speedup = f"{ratio['value']:.2f}x" if ratio else "-"
            lines.append(
                f"| {model_label(report['models'][name])} | {row['engine']} | "
                f"{row['precision']} | {row['batch']} | {_ms(row)} | "
                f"{row['images_per_s']:.1f} | {speedup} |"
            )
        lines += [
            "",
            "TensorRT float16 rows run the float16 graph with TensorRT's float16 kernels enabled "
            "(`trt_fp16_enable`); the CUDA provider runs the graphs as they are.",
        ]
        if gpu["skipped"]:
            lines += ["", *(f"- Not measured: {reason}" for reason in gpu["skipped"])]
    return "\n".join(lines) + "\n"


def _ms(row: dict[str, Any]) -> str:
    """``12.3 (13.1)``: median and 90th-percentile latency in ms."""
    return f"{row['median_ms']:.1f} ({row['p90_ms']:.1f})"
