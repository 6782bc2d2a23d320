"""`smtjlab calibrate`: sweep the bias, fit P(1)(V), solve and verify every device level.

The levels of an N-state network are k/(N−1) for 0 < k < N−1 (DESIGN §4); each is refined
until |p − p_k| ≤ 0.01 over at least 10⁴ bits. However it ends, the SMU ramps to 0 V and its
output turns off.

    smtjlab calibrate --mock --source model --levels 11 --json
    smtjlab calibrate --resource GPIB0::24::INSTR USB0::0x2A8D::0x1796::MY00000001::INSTR
    smtjlab calibrate            # real instruments: the first SMU and scope VISA finds
"""

from __future__ import annotations

import argparse

from smtjlab.acquisition.calibration import check_sweep_range, target_levels
from smtjlab.arguments import nonnegative_int, positive_int
from smtjlab.bench import SWEEP_RANGE, Bench
from smtjlab.console import emit, progress
from smtjlab.instruments.safety import load_limits
from smtjlab.outputs import OutputFile, add_force_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="find the bias of every probability level",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--mock", action="store_true", help="use the simulated bench")
    where.add_argument(
        "--resource",
        nargs=2,
        metavar=("SMU", "SCOPE"),
        help="VISA resources of real instruments (default: the first ones VISA finds)",
    )
    parser.add_argument(
        "--source", choices=("model", "replay"), default="model", help="mock bench source"
    )
    parser.add_argument("--recording", metavar="FILE", help="trace file for --source replay")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="mock bench seed")
    parser.add_argument(
        "--levels", type=positive_int, default=5, metavar="N", help="network states N"
    )
    parser.add_argument(
        "--range",
        type=float,  # checked against the limits, like every bias
        nargs=2,
        default=SWEEP_RANGE,
        metavar=("LOW", "HIGH"),
        help="bias sweep range in V (default %(default)s)",
    )
    parser.add_argument("--limits", metavar="FILE", help="bias limits TOML (docs/instruments.md)")
    parser.add_argument("-o", "--output", metavar="CAL.json", help="store the calibration here")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = None
    if args.output:
        output = OutputFile(args.output, force=args.force, inputs=[args.recording, args.limits])
    levels = target_levels(args.levels)
    check_sweep_range(args.range)
    limits = load_limits(args.limits)
    for bias in args.range:
        limits.check_bias(bias)  # refuse before any instrument is touched
    if args.mock:
        bench = Bench.mock(args.source, args.seed, recording=args.recording, limits=limits)
    elif args.resource:
        bench = Bench.connect(*args.resource, limits=limits)
    else:
        bench = Bench.discover(limits=limits)
    with bench:
        calibration = bench.calibrate(levels, tuple(args.range), progress=progress)
    calibration.meta.update(levels=args.levels, source=args.source if args.mock else "measured")
    saved = ""
    if output is not None:
        with output.writing() as temp:
            calibration.save(temp)
        saved = f"\nsaved to {output.path}"
    fit = calibration.fit
    text = "\n".join(
        [
            f"V50 = {fit.v50:.4f} ± {fit.v50_err:.4f} V, width = {fit.width:.4f} ± "
            f"{fit.width_err:.4f} V from {len(calibration.points)} sweep points",
            *(
                f"p = {lv.p_target:.4f}: {lv.bias_v:.4f} V, measured {lv.p_measured:.4f} "
                f"over {lv.n_bits} bits"
                for lv in calibration.levels
            ),
        ]
    )
    emit(calibration.summary(), args.json, text + saved)
    return 0
