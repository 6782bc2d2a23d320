"""`smtjlab bench`: every DESIGN §6 target, each measured against a baseline in the same run.

Each group is a function in its own layer returning result rows
{name, value, unit, baseline, baseline_value, ratio, target, meets_target}; the JSON also
records the machine they were measured on (smtjlab/benchmarks/machine.py).
"""

from __future__ import annotations

import argparse
import importlib

from smtjlab.benchmarks.machine import machine, summary
from smtjlab.console import emit, progress

# group -> "module:function"; imported only when the group runs (the GUI group needs Qt).
GROUPS: dict[str, str] = {
    "acquisition": "smtjlab.benchmarks.acquisition:acquisition_benchmarks",
    "array": "smtjlab.benchmarks.array:array_benchmarks",
    "gui": "smtjlab.benchmarks.gui:gui_benchmarks",
    "inference": "smtjlab.benchmarks.inference:engine_benchmarks",
    "instruments": "smtjlab.benchmarks.instruments:bench_benchmarks",
    "scale": "smtjlab.benchmarks.scale:scale_benchmarks",
    "serial": "smtjlab.benchmarks.serial:digitizer_benchmarks",
    "startup": "smtjlab.benchmarks.startup:startup_benchmarks",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="run the performance benchmarks (DESIGN §6)", description=__doc__
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(GROUPS),
        help="run just this group (repeatable); default: all",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows: list[dict] = []
    for group in progress(args.only or list(GROUPS), "benchmarks"):
        module_name, function_name = GROUPS[group].split(":")
        function = getattr(importlib.import_module(module_name), function_name)
        rows.extend({"group": group, **row} for row in function())
    info = machine()
    emit({"machine": info, "results": rows}, args.json, f"{summary(info)}\n{_table(rows)}")
    return 0


def _table(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        verdict = "meets" if row["meets_target"] else "MISSES"
        ratio = f"{row['ratio']}x" if row["ratio"] is not None else "n/a"
        lines.append(
            f"[{row['group']}] {row['name']}: {row['value']} {row['unit']}"
            f" | baseline ({row['baseline']}): {row['baseline_value']}"
            f" | ratio {ratio} | target {row['target']}: {verdict}"
        )
    return "\n".join(lines)
