"""Atomic file output: write to a temporary name in the same folder, then rename.

A crash or Ctrl-C never leaves a half-written file under the final name, and the file ends with
the permissions a plain write would give it (``tempfile.mkstemp`` creates it owner-only).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from perception.errors import OutputPathError


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


NEW_FILE_MODE = 0o666 & ~_read_umask()
"""The mode ``open(path, "w")`` gives a new file: read-write for all, less the umask. Read once,
at import: setting the umask to read it is not safe while other threads create files."""


def check_output_path(path: str | Path) -> Path:
    """``path`` as a :class:`Path` if a file can be written there: it is not a folder and its
    nearest existing ancestor is one. Commands call it before slow work (loading a model), so a
    bad output path fails first; :func:`atomic_path` calls it too.

    Raises:
        OutputPathError: ``path`` is a folder, or lies under a file.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"{target} is a folder; give a file name to write to")
    nearest = next(folder for folder in target.parents if folder.exists())
    if not nearest.is_dir():
        raise OutputPathError(f"cannot write {target}: {nearest} is a file, not a folder")
    return target


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    ``suffix`` defaults to ``path``'s own suffix, so writers that pick a format from the file
    extension (OpenCV, torch) still see the right one. On an exception the temporary file is
    removed and ``path`` is left untouched. The file keeps the mode of the ``path`` it replaces,
    or gets :data:`NEW_FILE_MODE`.

    Raises:
        OutputPathError: ``path`` is a folder, or its folder cannot be created or written to.
    """
    target = check_output_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.",
            suffix=target.suffix if suffix is None else suffix,
            dir=target.parent,
        )
    except OSError as exc:
        raise OutputPathError(f"cannot write {target}: {exc.strerror}") from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        mode = target.stat().st_mode & 0o7777 if target.exists() else NEW_FILE_MODE
        os.chmod(temp, mode)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return ``path``."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return ``path``."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)
    return Path(path)
