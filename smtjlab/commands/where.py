"""Where a command finds its bench: `--station FILE`, `--mock`, or `--resource SMU SCOPE`.

Every command that touches instruments (acquire, calibrate, demo, gui) takes the same options
and turns them into one `Station` (DESIGN §5.5) the bench opens from.
"""

from __future__ import annotations

import argparse

from smtjlab.arguments import int_between, nonnegative_int


def add_bench_options(parser: argparse.ArgumentParser, *, default: str) -> None:
    """The station options; `default` says what no option means (told in --help)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--station", metavar="FILE", help="a station file (docs/instruments.md)")
    where.add_argument("--mock", action="store_true", help="the built-in mock station")
    where.add_argument(
        "--resource",
        nargs=2,
        metavar=("SMU", "SCOPE"),
        help="two VISA resources; *IDN? tells which is which",
    )
    parser.add_argument(
        "--source",
        choices=("model", "replay"),
        default=None,
        help="--mock: the live device model, or a replay of a recording (default %s)"
        % ("replay" if default == "replay" else "model"),
    )
    parser.add_argument("--recording", metavar="FILE", help="--mock --source replay: trace file")
    parser.add_argument(
        "--seed", type=nonnegative_int, default=0, help="--mock: the simulated world's seed"
    )
    parser.add_argument(
        "--devices",
        type=int_between(1, 4),
        default=1,
        metavar="N",
        help="--mock: an array of N devices (1-4), one per level, on two-channel SMUs",
    )
    parser.add_argument(
        "--limits", metavar="FILE", help="bias limits TOML, replacing the station's [limits]"
    )
    parser.set_defaults(bench_default=default)


def station_from(args: argparse.Namespace, **mock_options):
    """The station the options name; `mock_options` shape the built-in mock station."""
    from smtjlab.instruments.safety import load_limits
    from smtjlab.station import Station, StationError

    mock = args.mock or (args.bench_default == "replay" and not (args.resource or args.station))
    if not mock and (args.source or args.recording or args.devices != 1):
        raise StationError(
            "--source, --recording and --devices are options of the mock station (--mock)"
        )
    explicit = args.limits is not None
    limits = load_limits(args.limits)
    if args.station:
        station = Station.load(args.station)
        return station.with_limits(limits) if explicit else station
    if mock:
        source = args.source or ("replay" if args.bench_default == "replay" else "model")
        return Station.mock(
            source,
            args.seed,
            recording=args.recording,
            limits=limits,
            devices=args.devices,
            **mock_options,
        )
    if args.resource:
        return Station.from_resources(list(args.resource), limits=limits)
    from smtjlab.bench import discover_station

    return discover_station(limits)
