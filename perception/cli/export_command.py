"""``perception export CHECKPOINT -o model.onnx``: the merged model as one ONNX file.

Every head and its decode go into one single-file graph with a dynamic batch dimension; the
file's ``metadata_props`` carry everything needed to use it. The exporter checks the graph,
runs it once in ONNX Runtime and refuses to write it when it disagrees with PyTorch.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from perception.export.onnx_export import export_onnx
from perception.train.checkpoint import load_checkpoint, model_from_checkpoint


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="export a checkpoint to one merged ONNX file")
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file written by train")
    parser.add_argument(
        "-o", "--out", metavar="FILE", required=True, help="the .onnx file to write"
    )
    parser.add_argument(
        "--heads", nargs="+", metavar="HEAD", help="export only these heads (default: all)"
    )
    parser.add_argument(
        "--half",
        action="store_true",
        help="float16 weights and arithmetic for GPUs (input and outputs stay float32)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(checkpoint)
    path = export_onnx(model, checkpoint.config, Path(args.out), heads=args.heads, half=args.half)
    size_mb = path.stat().st_size / 2**20
    heads = ", ".join(args.heads or model.head_names)
    precision = "float16" if args.half else "float32"
    print(f"exported {heads} to {path} ({size_mb:.1f} MB, {precision}), checked against PyTorch")
    return 0
