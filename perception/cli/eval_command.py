"""``perception eval CHECKPOINT``: score a trained model on the validation split."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from perception.cli.config_arguments import add_override_argument
from perception.config.loader import apply_override
from perception.eval.evaluate import evaluate
from perception.eval.results_table import markdown_table, write_results
from perception.train.checkpoint import load_checkpoint, model_from_checkpoint
from perception.train.components import resolve_device


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a checkpoint on the validation split")
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file written by train")
    add_override_argument(parser)
    parser.add_argument(
        "-o", "--out", metavar="DIR", help="output folder (default: the run's eval/ folder)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    for override in args.overrides:
        apply_override(checkpoint.config, override)
    config = checkpoint.config
    model = model_from_checkpoint(checkpoint)
    device = resolve_device(config.train.device)
    result = evaluate(model.to(device), config, device, progress=not args.no_progress)
    out = Path(args.out) if args.out else checkpoint.path.parent.parent / "eval"
    json_path, md_path = write_results(result, out)
    print(markdown_table(result), end="")
    print(f"wrote {json_path} and {md_path}")
    return 0
