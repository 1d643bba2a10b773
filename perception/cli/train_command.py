"""``perception train CONFIG``: train the multi-task model a config describes.

Besides checkpoints and logs, the run folder gets ``report/losses.png`` and
``report/convergence.png`` (and ``report/affinity.png`` with ``train.affinity_every``); pairs of
tasks with negative mean affinity are printed as warnings.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from perception.cli.config_arguments import add_config_arguments, config_from_arguments
from perception.report.training_plots import write_training_plots
from perception.train.trainer import train


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("train", help="train a multi-task model from a config")
    add_config_arguments(parser, positional=True)
    parser.add_argument("-o", "--out", metavar="DIR", help="output folder (default: output_dir)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="CHECKPOINT",
        help="continue from a checkpoint (bare --resume: OUT/checkpoints/last.pt)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_arguments(args)
    out = Path(args.out or config.output_dir)
    resume = args.resume
    if resume == "last":
        resume = out / "checkpoints" / "last.pt"
    result = train(config, out, resume=resume, progress=not args.no_progress)
    plots = write_training_plots(result.log, out / "report", result.affinity)
    print(
        f"trained {result.steps} steps in {result.seconds:.1f} s; checkpoint {result.checkpoint}, "
        f"log {result.log}, plots {plots.convergence.parent}"
    )
    for warning in result.affinity.warnings() if result.affinity else []:
        print(f"warning: {warning}")
    return 0
