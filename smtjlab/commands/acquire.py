"""`smtjlab acquire`: record telegraph noise at a list of biases into a trace file.

Real instruments: `--resource GPIB0::24::INSTR USB0::0x2A8D::0x1796::MY00000001::INSTR` (the
SMU and the scope, told apart by *IDN?). Mock bench: `--mock [--source model|replay]`.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

import pyvisa

from smtjlab.acquisition.record import check_room, record
from smtjlab.acquisition.tracefile import sample_count
from smtjlab.arguments import (
    finite_float,
    int_between,
    nonnegative_float,
    nonnegative_int,
    positive_float,
)
from smtjlab.console import emit, progress
from smtjlab.instruments.discovery import check_resource_name, driver_for, identify
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400, SourceMeter
from smtjlab.instruments.safety import BiasLimits, load_limits
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.outputs import OutputFile, add_force_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "acquire", help="record s-MTJ telegraph noise at given biases", description=__doc__
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--resource", nargs="+", metavar="VISA", help="VISA resources of the SMU and the scope"
    )
    where.add_argument("--mock", action="store_true", help="use the simulated bench")
    parser.add_argument(
        "--source", choices=("model", "replay"), default="model", help="mock bench source"
    )
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="mock bench seed")
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
        type=int_between(1, InfiniiVision.CHANNELS),
        default=[1],
        help="scope channels",
    )
    parser.add_argument("--scale", type=positive_float, default=0.025, help="scope V/div")
    parser.add_argument(
        "--offset", type=finite_float, default=0.15, help="scope V at screen centre"
    )
    parser.add_argument(
        "--settle", type=nonnegative_float, default=0.0, metavar="S", help="wait after bias"
    )
    parser.add_argument(
        "--limits", metavar="FILE", help="bias limits TOML (see docs/instruments.md)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = OutputFile(args.output, force=args.force, inputs=[args.limits])
    limits = load_limits(args.limits)
    for bias in args.bias:
        limits.check_bias(bias)  # refuse before any instrument is touched
    check_room(
        output.path.parent, len(args.bias) * len(args.channel), args.duration, args.sample_rate
    )
    with ExitStack() as stack:
        if args.mock:
            smu, scope = _open_mock(args, limits)
            source = "synthetic"
        else:
            smu, scope = _open_real(args.resource, limits)
            source = "measured"
        stack.callback(scope.close)
        stack.enter_context(smu)
        for channel in args.channel:
            scope.channel(channel).scale = args.scale
            scope.channel(channel).offset = args.offset
        # Filled chunk by chunk; after a failure it stays if it holds samples.
        target = stack.enter_context(output.appending(keep=lambda path: sample_count(path) > 0))
        summary = record(
            smu,
            scope,
            target,
            args.bias,
            args.duration,
            channels=args.channel,
            sample_rate=args.sample_rate,
            record_points=args.points,
            settle_s=args.settle,
            source=source,
            progress=progress,
        )
    result = {"path": str(output.path), "source": source, "traces": summary.traces}
    text = "\n".join(
        f"{t['name']}: {t['samples']} samples at {t['sample_rate']:g} Sa/s" for t in summary.traces
    )
    emit(result, args.json, f"wrote {output.path}\n{text}")
    return 0


def _open_mock(args: argparse.Namespace, limits: BiasLimits) -> tuple[SourceMeter, InfiniiVision]:
    from smtjlab.mocks.bench import SimulatedBench
    from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE, mock_resource_manager

    bench = SimulatedBench(args.source, channels=max(args.channel), seed=args.seed)
    rm = mock_resource_manager(bench)
    smu = Keithley2400(rm.open_resource(KEITHLEY_RESOURCE), limits)
    return smu, InfiniiVision(rm.open_resource(SCOPE_RESOURCE))


def _open_real(resources: list[str], limits: BiasLimits) -> tuple[SourceMeter, InfiniiVision]:
    for name in resources:
        check_resource_name(name)
    rm = pyvisa.ResourceManager()
    smu = scope = None
    for name in resources:
        driver = driver_for(identify(rm, name), name)
        if issubclass(driver, SourceMeter) and smu is None:
            smu = driver(rm.open_resource(name), limits)
        elif issubclass(driver, InfiniiVision) and scope is None:
            scope = driver(rm.open_resource(name))
    if smu is None or scope is None:
        if smu is not None:
            smu.close()
        missing = "a source-measure unit" if smu is None else "an oscilloscope"
        raise InstrumentError(f"acquire: none of {resources} is {missing}")
    return smu, scope
