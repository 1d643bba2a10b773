"""A JSON-lines log of per-step records (``diagnostics.jsonl``, ``affinity.jsonl``).

Each record is one JSON object on its own line with an integer ``"step"``. A resumed run keeps
the records up to the step it resumes from and drops any later ones (written by the interrupted
run after its last checkpoint), so the file always describes one consistent history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perception.atomic import write_text_atomic
from perception.errors import MalformedFileError
from perception.strict_json import finite_or_none


class JsonLinesLog:
    """Appends records to ``path``; starts it afresh unless ``resume_step`` is given.

    Args:
        path: the ``.jsonl`` file.
        resume_step: the step a resumed run continues from; records up to it are kept (and
            available as :attr:`records`), later ones removed. ``None``: a new run, the file is
            emptied.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        if resume_step is not None and path.is_file():
            self.records = [r for r in read_json_lines(path) if r["step"] <= resume_step]
        write_text_atomic(path, "".join(_line(record) for record in self.records))

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` (non-finite floats become ``null``) and flush it."""
        self.records.append(record)
        with self.path.open("a") as handle:
            handle.write(_line(record))


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; a line that is not a JSON object with a ``step``
    raises :class:`MalformedFileError` naming the file and line."""
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MalformedFileError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            raise MalformedFileError(f"{path}:{number}: expected an object with an integer step")
        records.append(record)
    return records


def _line(record: dict[str, Any]) -> str:
    return json.dumps(finite_or_none(record), allow_nan=False) + "\n"
