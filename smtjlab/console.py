"""Output helpers shared by the subcommands: one JSON object on stdout, or readable text."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def emit(result: dict[str, Any], as_json: bool, text: str) -> None:
    """Print `result` as one JSON object, or `text` for people."""
    if as_json:
        json.dump(result, sys.stdout, default=_jsonable)
        sys.stdout.write("\n")
    else:
        print(text)
    sys.stdout.flush()


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr, silent when stderr is not a terminal."""
    return iter(
        tqdm(items, desc=description, total=total, file=sys.stderr, disable=not sys.stderr.isatty())
    )


def _jsonable(value: Any) -> Any:
    # numpy scalars and arrays appear in results; JSON knows only Python numbers and lists.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
