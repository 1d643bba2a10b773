"""Entry point of the ``perception`` command: parses arguments and dispatches to a subcommand.

User-facing failures (:class:`~perception.errors.PerceptionError`) print one line,
``error: <message>``, and exit with status 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from perception import __version__
from perception.cli import (
    affinity_command,
    demo_command,
    eval_command,
    export_command,
    infer_command,
    inspect_command,
    plugins_command,
    synth_command,
    train_command,
)
from perception.errors import PerceptionError

SUBCOMMANDS = (
    plugins_command,
    synth_command,
    train_command,
    eval_command,
    export_command,
    inspect_command,
    infer_command,
    affinity_command,
    demo_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perception",
        description="Multi-task perception for driving scenes: one backbone, plugin task heads.",
    )
    parser.add_argument("--version", action="version", version=f"perception {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except PerceptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
