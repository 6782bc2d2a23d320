"""The `smtjlab` command line: one subcommand per capability, each a thin shell over the API.

Exit codes: 0 success, 2 usage error (argparse), 1 any other error, printed as one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from smtjlab import __version__
from smtjlab.errors import SmtjlabError

# Each module defines `register(subparsers)`, which adds its subcommand and sets `run`.
COMMAND_MODULES: tuple[str, ...] = (
    "mnist",
    "bench",
    "acquire",
    "train",
    "evaluate",
    "table",
    "sweep",
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
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"smtjlab {args.command}: interrupted", file=sys.stderr)
        return 130
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
