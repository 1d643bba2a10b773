"""The flags every command that opens an inference engine shares: provider preference and
torch device."""

from __future__ import annotations

import argparse

from perception.inference.providers import DEFAULT_PREFERENCE


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--providers P ...`` (ONNX Runtime preference) and ``--device D`` (checkpoints)."""
    parser.add_argument(
        "--providers",
        nargs="+",
        default=list(DEFAULT_PREFERENCE),
        metavar="PROVIDER",
        help="ONNX Runtime provider preference, most wanted first (default: tensorrt cuda cpu)",
    )
    parser.add_argument(
        "--device", default="auto", help="torch device for a checkpoint (default: auto)"
    )
