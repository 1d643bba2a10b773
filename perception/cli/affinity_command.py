"""``perception affinity CONFIG``: measure which tasks help or hurt each other.

Trains the configured model with lookahead inter-task affinity (Fifty et al. 2021; see
:mod:`perception.balancing.affinity`) measured every ``--every`` steps, then prints the mean
matrix and a warning per pair with negative affinity. Writes a normal run folder (default
``<output_dir>/affinity``) with ``affinity.json``, ``affinity.jsonl`` and ``report/affinity.png``
besides the checkpoint and logs.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

from perception.balancing.affinity import AffinityMatrix
from perception.cli.config_arguments import add_config_arguments, config_from_arguments
from perception.errors import ConfigError, PerceptionError
from perception.report.training_plots import write_training_plots
from perception.train.trainer import train

DEFAULT_EVERY = 10
"""Steps between measurements when neither ``--every`` nor ``train.affinity_every`` is set."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "affinity", help="train with lookahead inter-task affinity and report negative transfer"
    )
    add_config_arguments(parser, positional=True)
    parser.add_argument(
        "-o", "--out", metavar="DIR", help="output folder (default: <output_dir>/affinity)"
    )
    parser.add_argument(
        "--every",
        type=int,
        metavar="K",
        help=f"measure every K steps (default: train.affinity_every, else {DEFAULT_EVERY})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_arguments(args)
    every = args.every if args.every is not None else config.train.affinity_every or DEFAULT_EVERY
    if every < 1:
        raise ConfigError(f"--every must be >= 1, got {every}")
    if config.train.max_steps is not None and config.train.max_steps < every:
        raise ConfigError(
            f"train.max_steps ({config.train.max_steps}) is below the affinity interval "
            f"({every}): nothing would be measured; lower --every or raise train.max_steps"
        )
    config = dataclasses.replace(
        config, train=dataclasses.replace(config.train, affinity_every=every)
    )
    out = Path(args.out or Path(config.output_dir) / "affinity")
    result = train(config, out, progress=not args.no_progress)
    affinity = result.affinity
    assert affinity is not None
    if affinity.steps == 0:
        raise PerceptionError(
            f"the run had {result.steps} steps, fewer than the affinity interval ({every}): "
            "nothing was measured; lower --every"
        )
    plots = write_training_plots(result.log, out / "report", affinity)
    print(affinity_table(affinity), end="")
    for warning in affinity.warnings():
        print(f"warning: {warning}")
    if not affinity.negative_pairs():
        print("no pair of tasks has negative mean affinity")
    print(f"affinity: {out / 'affinity.json'}, heatmap: {plots.affinity}")
    return 0


def affinity_table(matrix: AffinityMatrix) -> str:
    """The mean matrix as aligned text: one row per task i (the lookahead step's task), one
    column per task j (whose loss changed); ``-`` where nothing was measured."""
    width = max(8, *(len(task) for task in matrix.tasks))
    header = "i \\ j".ljust(width) + "".join(f" {task:>{width}}" for task in matrix.tasks)
    lines = [
        f"inter-task affinity, mean over {matrix.steps} steps "
        "(row i: step on task i; column j: relative drop of task j's loss)",
        header,
    ]
    for task, row in zip(matrix.tasks, matrix.mean, strict=True):
        cells = "".join(
            f" {value:>+{width}.4f}" if math.isfinite(value) else f" {'-':>{width}}"
            for value in row
        )
        lines.append(f"{task:<{width}}{cells}")
    return "\n".join(lines) + "\n"
