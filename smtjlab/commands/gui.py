"""`smtjlab gui`: the lab window (PySide6 + pyqtgraph)."""

from __future__ import annotations

import argparse
from pathlib import Path

from smtjlab.arguments import positive_float
from smtjlab.outputs import add_force_argument

TAB_CHOICES = ("connect", "live", "calibration", "pools", "inference", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the lab window",
        description="Open the lab window: connect, live trace, calibration, bit pools and "
        "live inference. --screenshot runs it unattended on the mock bench and saves a picture.",
    )
    parser.add_argument(
        "--mock", action="store_true", help="preselect the simulated bench (no hardware needed)"
    )
    parser.add_argument("--station", metavar="FILE", help="offer (and preselect) a station file")
    parser.add_argument(
        "--limits", metavar="FILE", help="bias limits TOML, replacing every bench's limits"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="connect, calibrate and classify unattended, save the window to PNG, then exit",
    )
    parser.add_argument(
        "--run-seconds",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="with --screenshot: how long to run before the picture (default 10)",
    )
    parser.add_argument(
        "--tab",
        choices=TAB_CHOICES,
        default="inference",
        help="with --screenshot: the view to show; 'all' saves PNG-<tab>.png for each view",
    )
    parser.add_argument(
        "--size",
        type=window_size,
        metavar="WxH",
        help="the window's size in pixels, e.g. 1366x768 (at most the screen's)",
    )
    add_force_argument(parser)
    parser.set_defaults(run=run)


def window_size(text: str) -> tuple[int, int]:
    """`1366x768` -> (1366, 768); anything else is a usage error."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT in pixels, e.g. 1366x768")
    return int(width), int(height)


def run(args: argparse.Namespace) -> int:
    # Qt is imported only here, so the rest of the CLI starts fast and runs without a display.
    from smtjlab.gui.app import run as run_gui
    from smtjlab.instruments.safety import load_limits
    from smtjlab.station import Station

    # Both are checked before a window opens: a typo is one line, not a dialog.
    station = Station.load(args.station) if args.station else None
    limits = load_limits(args.limits) if args.limits else None
    return run_gui(
        station=station,
        limits=limits,
        mock=args.mock or args.screenshot is not None,
        screenshot=args.screenshot,
        run_seconds=args.run_seconds,
        tab=args.tab,
        force=args.force,
        size=args.size,
    )
