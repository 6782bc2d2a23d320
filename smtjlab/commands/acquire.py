"""`smtjlab acquire`: record telegraph noise at a list of biases into a trace file.

The bench is a station file (`--station lab.toml`), two VISA resources
(`--resource GPIB0::24::INSTR USB0::0x2A8D::0x1796::MY00000001::INSTR`, told apart by *IDN?), or
the mock station (`--mock [--source model|replay]`). The station's first device (or `--device`)
is biased; its readout channel is recorded, or the scope channels `--channel` names.
"""

from __future__ import annotations

import argparse

from smtjlab.commands.where import add_bench_options, station_from
from smtjlab.console import emit, progress


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "acquire", help="record s-MTJ telegraph noise at given biases", description=__doc__
    )
    add_bench_options(parser, default="discover")
    parser.add_argument("--device", help="the station's [[device]] to bias (default: first)")
    parser.add_argument("--bias", nargs="+", type=float, required=True, metavar="V")
    parser.add_argument("--duration", type=float, required=True, metavar="S", help="per bias")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.h5")
    parser.add_argument("--sample-rate", type=float, default=1e6, metavar="HZ")
    parser.add_argument("--points", type=int, default=1_000_000, help="points per scope record")
    parser.add_argument(
        "--channel", nargs="+", type=int, help="scope channels (default: the device's readout)"
    )
    parser.add_argument("--scale", type=float, help="scope V/div (default: the station's)")
    parser.add_argument("--offset", type=float, help="scope V at screen centre (the station's)")
    parser.add_argument("--settle", type=float, default=0.0, metavar="S", help="wait after bias")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from smtjlab.bench import Bench

    station = station_from(args, channels=max(args.channel or [1]))
    for bias in args.bias:
        station.limits.check_bias(bias)  # refuse before any instrument is touched
    with Bench.open(station, device=args.device, points=args.points) as bench:
        channels = args.channel or [bench.device.readout_channel]
        scale = bench.device.scale_v if args.scale is None else args.scale
        offset = bench.device.offset_v if args.offset is None else args.offset
        for channel in channels:
            bench.readout.set_vertical(channel, scale, offset)
        summary = bench.record_to_file(
            args.output,
            args.bias,
            args.duration,
            channels=channels,
            sample_rate=args.sample_rate,
            settle_s=args.settle,
            progress=progress,
        )
    source = bench.origin
    result = {"path": str(summary.path), "source": source, "traces": summary.traces}
    text = "\n".join(
        f"{t['name']}: {t['samples']} samples at {t['sample_rate']:g} Sa/s" for t in summary.traces
    )
    emit(result, args.json, f"wrote {summary.path}\n{text}")
    return 0
