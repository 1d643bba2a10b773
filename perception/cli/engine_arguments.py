"""The flags every command that opens an inference engine shares: where the model runs."""

from __future__ import annotations

import argparse


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device D`` (any model) and ``--providers P ...`` (ONNX Runtime preference)."""
    parser.add_argument(
        "--device",
        default="auto",
        help="where the model runs: auto, cpu, cuda or cuda:N; a checkpoint on that torch "
        "device, an ONNX model on the matching ONNX Runtime providers (default: auto)",
    )
    parser.add_argument(
        "--providers",
        nargs="+",
        metavar="PROVIDER",
        help="for an ONNX model: ONNX Runtime provider preference, most wanted first (default: "
        "tensorrt cuda cpu; with --device cpu: cpu; with --device cuda: tensorrt cuda)",
    )
