"""The results file of a sweep: a CSV that grows by whole tasks and survives a crash.

The file appears with the first finished task. Each task appends its rows in one write, flushed
to disk, so a crash or Ctrl-C leaves a valid file of finished tasks. Opening an existing file
resumes it: its header must be the sweep's and every task in it must belong to the grid (else
it is someone else's file and is refused); a torn last line or a task cut short by a crash is
dropped, the file rewritten through a temporary file, and those tasks run again.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "task",
    "kind",
    "model",
    "model_sha256",
    "weights_sha256",
    "hidden",
    "states",
    "encoding",
    "training",
    "sc_length",
    "epochs",
    "train_images",
    "seed",
    "bits",
    "bits_sha256",
    "images",
    "length",
    "deterministic_accuracy",
    "correct",
    "accuracy",
)


class ResultsError(SmtjlabError):
    """A results file that is not this sweep's, or cannot be written."""


class ResultsFile:
    """Append-only CSV of task rows; `finished` holds the keys of the tasks it already has."""

    def __init__(self, path: Path, finished: set[str]) -> None:
        self.path = path
        self.finished = finished
        self._handle = None  # opened by the first append: a sweep that ends first leaves no file

    @classmethod
    def open(cls, path: str | os.PathLike, rows_per_task: Mapping[str, int]) -> ResultsFile:
        """Create `path`, or resume it; `rows_per_task` maps every task key of the grid to the
        number of rows it writes."""
        path = Path(path)
        if not path.exists():
            return cls(path, set())
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ResultsError(f"{path}: cannot read the results file ({error})") from None
        lines = text.splitlines(keepends=True)
        torn = bool(lines) and not lines[-1].endswith("\n")
        if torn:
            lines = lines[:-1]  # a write cut short by a crash
        rows = list(csv.reader(lines))
        if not rows or tuple(rows[0]) != COLUMNS:
            raise ResultsError(
                f"{path}: exists and is not a results file of smtjlab sweep (its header "
                "differs); choose another --output, or move it away"
            )
        body = rows[1:]
        if any(len(row) != len(COLUMNS) for row in body):
            raise ResultsError(f"{path}: a row has not {len(COLUMNS)} columns; not resumable")
        strangers = sorted({row[0] for row in body} - set(rows_per_task))
        if strangers:
            raise ResultsError(
                f"{path}: holds results of another grid (task {strangers[0]} is not one of "
                "this sweep's); choose another --output"
            )
        counts = Counter(row[0] for row in body)
        finished = {key for key, count in counts.items() if count == rows_per_task[key]}
        kept = [row for row in body if row[0] in finished]
        if torn or len(kept) != len(body):
            log.warning(
                "%s: dropping %d rows of tasks a crash cut short; they run again",
                path,
                len(body) - len(kept) + torn,
            )
            _replace(path, _csv_text([COLUMNS, *kept]))
        return cls(path, finished)

    def append(self, key: str, rows: list[dict[str, Any]]) -> None:
        """Write one finished task's rows at once and push them to the disk."""
        values = [[_cell(row.get(column, "")) for column in COLUMNS] for row in rows]
        for row in values:
            row[0] = key
        try:
            if self._handle is None:
                if not self.path.exists():
                    _replace(self.path, _csv_text([COLUMNS]))
                self._handle = self.path.open("a", encoding="utf-8", newline="")
            self._handle.write(_csv_text(values))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise ResultsError(f"{self.path}: cannot write results ({error.strerror})") from None
        self.finished.add(key)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a results file, as strings."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def dicts_csv(rows: list[dict]) -> str:
    """CSV text of rows that share their keys, the keys as the header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "-".join(map(str, value))  # hidden widths: 128-128-128
    return value


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ResultsError(f"{path}: cannot write the results file ({error.strerror})") from None
