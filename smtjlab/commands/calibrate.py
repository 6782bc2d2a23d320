"""`smtjlab calibrate`: sweep the bias, fit P(1)(V), solve and verify every device level.

The levels of an N-state network are k/(N−1) for 0 < k < N−1 (DESIGN §4); each is refined
until |p − p_k| ≤ 0.01 over at least 10⁴ bits. A fit the sweep points do not follow, or a level
served far from every sweep point, is a warning: one line on stderr each, and in the JSON
(`warnings`, with `fit_rms` and `coverage`). However it ends, the SMU ramps to 0 V and its
output turns off.

    smtjlab calibrate --mock --source model --levels 11 --json
    smtjlab calibrate --station lab.toml --levels 5
    smtjlab calibrate --resource GPIB0::24::INSTR USB0::0x2A8D::0x1796::MY00000001::INSTR
    smtjlab calibrate            # real instruments: the first SMU and scope VISA finds
"""

from __future__ import annotations

import argparse
import sys

from smtjlab.arguments import positive_int
from smtjlab.commands.where import add_bench_options, station_from
from smtjlab.console import emit, progress
from smtjlab.errors import SmtjlabError
from smtjlab.outputs import OutputFile, add_force_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="find the bias of every probability level",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bench_options(parser, default="discover")
    parser.add_argument("--device", help="the station's [[device]] to calibrate (default: first)")
    parser.add_argument(
        "--levels", type=positive_int, default=5, metavar="N", help="network states N"
    )
    parser.add_argument(
        "--range",
        type=float,  # checked against the limits, like every bias
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="bias sweep range in V (default 0.15 0.45)",
    )
    parser.add_argument("-o", "--output", metavar="CAL.json", help="store the calibration here")
    add_force_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # heavy imports (numba, h5py, instruments) load when the command runs, not to build the parser
    from smtjlab.acquisition.calibration import check_sweep_range, target_levels
    from smtjlab.bench import SWEEP_RANGE, Bench

    output = None
    if args.output:  # checked before any work
        inputs = [args.recording, args.limits, args.station]
        output = OutputFile(args.output, force=args.force, inputs=inputs)
    station = station_from(args)
    array = len(station.devices) > 1 and args.device is None
    if array and output is not None:
        raise SmtjlabError("-o stores one device's calibration: add --device NAME")
    levels = target_levels(args.levels)
    bias_range = tuple(args.range or SWEEP_RANGE)
    check_sweep_range(bias_range)
    for bias in bias_range:
        station.limits.check_bias(bias)  # refuse before any instrument is touched
    with Bench.open(station, device=args.device) as bench:
        if array:
            calibration = bench.calibrate_array(levels, bias_range, progress=progress)
        else:
            calibration = bench.calibrate(levels, bias_range, progress=progress)
    warnings = calibration.warnings() if array else calibration.quality().warnings
    for warning in warnings:
        print(f"smtjlab calibrate: warning: {warning}", file=sys.stderr)
    if array:
        emit(calibration.summary(), args.json, _array_text(calibration))
        return 0
    calibration.meta.update(levels=args.levels)
    saved = ""
    if output is not None:
        with output.writing() as temp:
            calibration.save(temp)
        saved = f"\nsaved to {output.path}"
    emit(calibration.summary(), args.json, _text(calibration) + saved)
    return 0


def _text(calibration) -> str:
    fit = calibration.fit
    return "\n".join(
        [
            f"V50 = {fit.v50:.4f} ± {fit.v50_err:.4f} V, width = {fit.width:.4f} ± "
            f"{fit.width_err:.4f} V from {len(calibration.points)} sweep points",
            _quality_text(calibration.quality()),
            *(
                f"p = {lv.p_target:.4f}: {lv.bias_v:.4f} V, measured {lv.p_measured:.4f} "
                f"over {lv.n_bits} bits"
                for lv in calibration.levels
            ),
        ]
    )


def _quality_text(quality) -> str:
    coverage = quality.coverage
    verdict = (
        f"{len(quality.warnings)} warning(s), on stderr" if quality.warnings else "no warnings"
    )
    return (
        f"fit residual {quality.fit_rms:.4f} RMS ({quality.fit_rms_sigmas:.1f}× the points' "
        f"binomial noise); {coverage.visited} of {coverage.asked} biases gave points; {verdict}"
    )


def _array_text(array) -> str:
    lines = []
    for name, calibration in array.devices.items():
        fit = calibration.fit
        lines.append(f"{name}: V50 = {fit.v50:.4f} V, width = {fit.width:.4f} V")
        lines.append(f"  {_quality_text(calibration.quality())}")
        lines += [
            f"  serves p = {lv.p_target:.4f}: {lv.bias_v:.4f} V, measured {lv.p_measured:.4f}"
            for lv in calibration.levels
        ]
    return "\n".join(lines)
