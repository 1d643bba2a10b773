"""User-facing errors.

Anything a user can cause (a bad config, a missing file, an unknown plugin) raises a subclass of
:class:`PerceptionError` whose message is one line naming the file, key, plugin or frame. The CLI
prints it as ``error: <message>`` and exits non-zero, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PerceptionError(Exception):
    """Base class for errors the user can fix; the message is shown as is."""


class ConfigError(PerceptionError):
    """A configuration file or override is invalid."""


class PluginError(PerceptionError):
    """A plugin failed to load, registered something malformed, or was asked for by a bad name."""


class InputFileError(PerceptionError):
    """An input file is missing, unreadable or malformed."""


class MissingFileError(InputFileError, FileNotFoundError):
    """An input file or folder does not exist or cannot be read."""


class MalformedFileError(InputFileError, ValueError):
    """An input file exists but its content is not what it must be."""


class OutputPathError(PerceptionError):
    """An output cannot be written where it was asked for (a folder, an unwritable place)."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""`` if none is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
