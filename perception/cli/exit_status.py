"""Exit statuses of the ``perception`` command, shared by the entry point and subcommands."""

from __future__ import annotations

import signal

USER_ERROR = 2
"""A :class:`~perception.errors.PerceptionError`: bad input, named in one line."""

INTERRUPTED = 128 + signal.SIGINT
"""Stopped by Ctrl-C (a subcommand that finished its outputs after one returns it). The entry
point turns it into 128 + the signal's number when SIGTERM stopped the run."""
