"""Entry point of the ``perception`` command: parses arguments and dispatches to a subcommand.

User-facing failures (:class:`~perception.errors.PerceptionError`) print one line,
``error: <message>``, and exit with status 2. SIGTERM (``docker stop``, systemd, ``kill``) is
handled as Ctrl-C is, so commands finish their outputs the same way; the exit status is 128 plus
the signal's number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
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
from perception.cli.exit_status import INTERRUPTED, USER_ERROR
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
    received: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    # only the main thread may set handlers (main() can be called from a test's worker thread)
    handles_sigterm = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if handles_sigterm else None
    try:
        status = int(args.run(args) or 0)
    except PerceptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = INTERRUPTED
    finally:
        if handles_sigterm:  # None: a handler set outside Python, which SIG_DFL stands for
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return 128 + received[0] if status == INTERRUPTED and received else status


if __name__ == "__main__":
    raise SystemExit(main())
