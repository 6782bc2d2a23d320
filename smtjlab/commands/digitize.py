"""`smtjlab digitize`: trace file in, states and bitstreams out (DESIGN §5.2).

Every trace of IN is digitized (smtjlab.acquisition.digitize), its states are decimated at
Δt = 2τc into bits, and OUT gets a copy of the trace with `states/` (1 = the higher-voltage
level, or the lower with --invert) and `bits/` (attributes interval and offset).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

from smtjlab.console import emit, progress
from smtjlab.outputs import OutputFile, add_force_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digitize", help="telegraph traces to states and bitstreams", description=__doc__
    )
    parser.add_argument("input", metavar="IN.h5", help="trace file (DESIGN §5.1)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="file to write")
    add_force_argument(parser)
    parser.add_argument("--invert", action="store_true", help="state 1 = the lower level")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # heavy imports (numba, h5py) load when the command runs, not to build the parser
    from smtjlab.acquisition.bitstream import choose_interval, decimate
    from smtjlab.acquisition.digitize import DigitizeError, digitize_trace
    from smtjlab.acquisition.tracefile import TraceFileError, TraceWriter, iter_traces, trace_names

    source = Path(args.input)
    output = OutputFile(args.output, force=args.force, inputs=[source])
    trace_names(source)  # a missing or foreign input stops here, before any file is made
    rows = []
    with output.writing() as temp, TraceWriter(temp) as writer:
        for trace in progress(iter_traces(source), "digitize"):
            try:
                found = digitize_trace(trace, invert=args.invert)
            except DigitizeError as error:
                raise DigitizeError(f"{source}: {error}") from None
            stream = decimate(found.states, choose_interval(found.tau_c_samples))
            writer.write_trace(
                replace(
                    trace,
                    states=found.states,
                    bits=stream.bits,
                    bits_interval=stream.interval,
                    bits_offset=stream.offset,
                ),
                compression="gzip",
            )
            rows.append(
                {
                    "name": trace.name,
                    "threshold_v": found.threshold_v,
                    "low_v": found.low_v,
                    "high_v": found.high_v,
                    "p_high": found.p_high,
                    "dwell_high_s": found.dwell_high_s,
                    "dwell_low_s": found.dwell_low_s,
                    "interval": stream.interval,
                    "n_bits": len(stream.bits),
                    "lag1_autocorr": stream.lag1,
                }
            )
        if not rows:
            raise TraceFileError(f"{source}: no traces to digitize (group 'traces' is empty)")
    emit(
        {"traces": rows},
        args.json,
        "\n".join(_line(row) for row in rows) + f"\nwrote {output.path}",
    )
    return 0


def _line(row: dict) -> str:
    def us(seconds):
        # undefined with too few switches (NaN here, null in the JSON)
        return f"{seconds * 1e6:.3g} µs" if math.isfinite(seconds) else "n/a"

    return (
        f"{row['name']}: p_high {row['p_high']:.4f}, levels {row['low_v']:.4f}/"
        f"{row['high_v']:.4f} V (threshold {row['threshold_v']:.4f} V), dwells high "
        f"{us(row['dwell_high_s'])} / low {us(row['dwell_low_s'])}, {row['n_bits']} bits every "
        f"{row['interval']} samples, lag-1 autocorrelation {row['lag1_autocorr']:.3f}"
    )
