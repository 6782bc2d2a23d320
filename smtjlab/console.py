"""Output helpers shared by the subcommands.

One JSON object on stdout, or readable text; on stderr, the final state of every source biased.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from tqdm import tqdm

from smtjlab.instruments.safety import SafeBias, final_state_line, signals_held

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


@contextmanager
def final_states_reported(sources: Mapping[str, SafeBias]) -> Iterator[None]:
    """However the block ends, ramp each source down and report the state read back from it.

    Enter it inside the block that closes the instruments, so the state is read before their
    sessions close. The lines (`smu: 0.000 V, output off`) are the command's last words: printed
    on stderr when the block succeeds, else attached to the exception on its way out as notes,
    which the command line prints after its one-line error.
    """
    failure: BaseException | None = None
    try:
        yield
    except BaseException as error:
        failure = error
        raise
    finally:
        lines = []
        try:
            with signals_held():  # a signal now would cut the report short: it waits
                for name, source in sources.items():
                    try:
                        source.shutdown()
                    finally:
                        lines.append(final_state_line(name, source))
        except BaseException as error:  # a shutdown that failed: the lines go with its error
            failure = error
            raise
        finally:
            for line in lines:
                if failure is None:
                    print(line, file=sys.stderr, flush=True)
                else:
                    failure.add_note(line)
