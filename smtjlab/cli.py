"""The `smtjlab` command line: one subcommand per capability, each a thin shell over the API.

Exit codes: 0 success, 2 usage error (argparse), 1 any other error, printed as one line
(followed by the final state of each source the command biased, attached as notes).
Ctrl-C, SIGTERM and SIGHUP end a command the same way (its `with` blocks and `finally:` run, so a
biased device ramps down) with the shell's code for the signal: 130, 143, 129.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from smtjlab import __version__
from smtjlab.errors import SmtjlabError
from smtjlab.instruments.safety import STOP_SIGNALS, Terminated

# Each module defines `register(subparsers)`, which adds its subcommand and sets `run`.
COMMAND_MODULES: tuple[str, ...] = (
    "mnist",
    "bench",
    "acquire",
    "train",
    "evaluate",
    "table",
    "sweep",
    "study",
    "energy",
    "digitize",
    "calibrate",
    "gui",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtjlab",
        description="Stochastic computing on stochastic magnetic tunnel junctions.",
    )
    parser.add_argument("--version", action="version", version=f"smtjlab {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"smtjlab.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    debug = args.debug or bool(os.environ.get("SMTJLAB_DEBUG"))
    _final_states()  # forget benches closed before this command (main() called in-process)
    try:
        return _run(args, debug)
    finally:
        for line in _final_states():
            print(line, file=sys.stderr)


def _final_states() -> list[str]:
    """One line per source of every bench the command closed: its state, read back (§5.2)."""
    bench = sys.modules.get("smtjlab.bench")  # loaded only by commands that open a bench
    return bench.take_final_states() if bench is not None else []


def _run(args: argparse.Namespace, debug: bool) -> int:
    try:
        with _signals_end(args.command):
            return int(args.run(args) or 0)
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or `Terminated` by a signal
        if not getattr(interrupt, "announced", False):
            print(f"smtjlab {args.command}: interrupted", file=sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)
    except SmtjlabError as error:
        if debug:
            raise
        print(f"smtjlab {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the last line of defence: never a traceback for a user
        if debug:
            raise
        print(
            f"smtjlab {args.command}: unexpected {type(error).__name__}: {error}"
            " (rerun with --debug for a traceback)",
            file=sys.stderr,
        )
        return 1


@contextmanager
def _signals_end(command: str) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP raise `Terminated` in the main thread, after a line on stderr.

    The line comes when the signal does, so the lines printed while the command winds down
    (the final state of each source) stay last. Python runs a signal handler wherever the main
    thread is, and an exception raised inside a weakref callback or a `__del__` is only printed
    ("Exception ignored in ..."), never propagated: `sys.unraisablehook` catches such a lost
    `Terminated` and the signal is raised again, until it lands in ordinary code.
    """
    announced: list[bool] = []

    def stop(signum: int, frame: object) -> None:
        if not announced:
            name = signal.Signals(signum).name
            announced.append(_say(f"smtjlab {command}: {name} received, stopping"))
        raise Terminated(signum, announced[0])

    def deliver_again(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, Terminated):
            previous_hook(unraisable)
            return
        # From another thread, after this hook returns: raised here, it would be dropped again.
        again = threading.Timer(0.01, signal.raise_signal, (unraisable.exc_value.signum,))
        again.daemon = True
        again.start()

    if threading.current_thread() is not threading.main_thread():  # only main may handle
        yield
        return
    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    previous_hook, sys.unraisablehook = sys.unraisablehook, deliver_again
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _say(text: str) -> bool:
    """Write a line straight to file descriptor 2: a signal handler may interrupt a print."""
    try:
        os.write(sys.stderr.fileno(), text.encode() + b"\n")
    except (OSError, ValueError, AttributeError):  # stderr closed, or replaced by a non-file
        return False
    return True
