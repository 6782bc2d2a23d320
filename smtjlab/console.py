"""Output helpers shared by the subcommands: one JSON object on stdout, or readable text."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def emit(result: dict[str, Any], as_json: bool, text: str) -> None:
    """Print `result` as one strict JSON object (NaN and infinities become null), or `text`."""
    if as_json:
        json.dump(strict_json(result), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(text)
    sys.stdout.flush()


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr, silent when stderr is not a terminal."""
    return iter(
        tqdm(items, desc=description, total=total, file=sys.stderr, disable=not sys.stderr.isatty())
    )


def strict_json(value: Any) -> Any:
    """`value` with numpy scalars and arrays made Python, and non-finite floats made None.

    JSON has no NaN or infinity; an undefined statistic (too few switches, say) is null.
    """
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value
