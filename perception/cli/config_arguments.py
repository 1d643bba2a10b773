"""The ``CONFIG`` and ``--set`` arguments shared by every command that reads a config."""

from __future__ import annotations

import argparse

from perception.config.loader import load_config
from perception.config.schema import RunConfig


def add_config_arguments(
    parser: argparse.ArgumentParser, default: str | None = None, positional: bool = False
) -> None:
    """Add the config path (``--config PATH``, or a positional ``CONFIG`` when ``positional``)
    and repeatable ``--set KEY=VALUE``."""
    if positional:
        parser.add_argument("config", metavar="CONFIG", help="YAML config, e.g. configs/demo.yaml")
    else:
        parser.add_argument(
            "--config",
            default=default,
            metavar="PATH",
            help="YAML config (default: %(default)s; built-in defaults when omitted)",
        )
    add_override_argument(parser)


def add_override_argument(parser: argparse.ArgumentParser) -> None:
    """Add repeatable ``--set KEY=VALUE``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key by dotted path, e.g. --set data.batch_size=4 (repeatable)",
    )


def config_from_arguments(args: argparse.Namespace) -> RunConfig:
    """Load and validate the config the arguments name."""
    return load_config(args.config, args.overrides)
