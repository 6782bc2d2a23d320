"""`smtjlab acquire`: record telegraph noise at a list of biases into a trace file.

The bench is a station file (`--station lab.toml`), two VISA resources
(`--resource GPIB0::24::INSTR USB0::0x2A8D::0x1796::MY00000001::INSTR`, told apart by *IDN?), or
the mock station (`--mock [--source model|replay]`). The station's first device (or `--device`)
is biased; its readout channel is recorded, or the scope channels `--channel` names.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from smtjlab.arguments import (
    finite_float,
    int_between,
    nonnegative_float,
    positive_float,
)
from smtjlab.commands.where import add_bench_options, station_from
from smtjlab.console import emit, progress
from smtjlab.outputs import OutputFile, add_force_argument

MAX_CHANNELS = 4  # the scope models the registry knows have four analog inputs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "acquire", help="record s-MTJ telegraph noise at given biases", description=__doc__
    )
    add_bench_options(parser, default="discover")
    parser.add_argument("--device", help="the station's [[device]] to bias (default: first)")
    # biases are checked against the limits, which name a NaN or an out-of-range value
    parser.add_argument("--bias", nargs="+", type=float, required=True, metavar="V")
    parser.add_argument(
        "--duration", type=positive_float, required=True, metavar="S", help="per bias"
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.h5")
    add_force_argument(parser)
    parser.add_argument("--sample-rate", type=positive_float, default=1e6, metavar="HZ")
    parser.add_argument(
        "--points", type=int_between(100, 8_000_000), default=1_000_000, help="points per record"
    )
    parser.add_argument(
        "--channel",
        nargs="+",
        type=int_between(1, MAX_CHANNELS),
        help="scope channels (default: the device's readout)",
    )
    parser.add_argument("--scale", type=positive_float, help="scope V/div (default: the station's)")
    parser.add_argument(
        "--offset", type=finite_float, help="scope V at screen centre (default: the station's)"
    )
    parser.add_argument(
        "--settle", type=nonnegative_float, default=0.0, metavar="S", help="wait after bias"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # heavy imports (pyvisa, h5py, numba) load when the command runs, not to build the parser
    from smtjlab.acquisition.record import check_room
    from smtjlab.acquisition.tracefile import sample_count
    from smtjlab.bench import Bench

    output = OutputFile(args.output, force=args.force, inputs=[args.limits, args.station])
    station = station_from(args, channels=max(args.channel or [1]))
    for bias in args.bias:
        station.limits.check_bias(bias)  # refuse before any instrument is touched
    traces = len(args.bias) * len(args.channel or [1])
    check_room(output.path.parent, traces, args.duration, args.sample_rate)
    with ExitStack() as stack:
        bench = stack.enter_context(Bench.open(station, device=args.device, points=args.points))
        channels = args.channel or [bench.device.readout_channel]
        scale = bench.device.scale_v if args.scale is None else args.scale
        offset = bench.device.offset_v if args.offset is None else args.offset
        for channel in channels:
            bench.readout.set_vertical(channel, scale, offset)
        # Filled chunk by chunk; after a failure it stays if it holds samples, and after a stop
        # (Ctrl-C, SIGTERM, SIGHUP) in any case: the user asked for the file as it is.
        stopped = []

        def keep(path) -> bool:
            return bool(stopped) or sample_count(path) > 0

        target = stack.enter_context(output.appending(keep=keep))
        try:
            summary = bench.record_to_file(
                target,
                args.bias,
                args.duration,
                channels=channels,
                sample_rate=args.sample_rate,
                settle_s=args.settle,
                progress=progress,
            )
        except KeyboardInterrupt:
            stopped.append(True)
            raise
    result = {"path": str(output.path), "source": bench.origin, "traces": summary.traces}
    text = "\n".join(
        f"{t['name']}: {t['samples']} samples at {t['sample_rate']:g} Sa/s" for t in summary.traces
    )
    emit(result, args.json, f"wrote {output.path}\n{text}")
    return 0
