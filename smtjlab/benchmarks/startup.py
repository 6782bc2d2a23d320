"""Start-up (DESIGN §6): the command line against a bare `python -c "import numpy"`.

Each figure is the median wall time of RUNS whole processes; the commands and the baseline run
interleaved, round after round, so a busy spell of the machine slows all of them alike. The
target is <= 3x the baseline: the parser imports no torch, Qt, h5py or numba (smtjlab/cli.py).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from smtjlab.benchmarks.timing import result_row

RUNS = 10
TARGET = 3.0  # at most this many times the baseline
BASELINE = ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"])
COMMANDS = {
    "smtjlab --version": [sys.executable, "-m", "smtjlab", "--version"],
    "smtjlab evaluate --help": [sys.executable, "-m", "smtjlab", "evaluate", "--help"],
}


def startup_benchmarks(runs: int = RUNS) -> list[dict]:
    """One row per command: its median seconds against the baseline's, from the same rounds."""
    programs = {BASELINE[0]: BASELINE[1], **COMMANDS}
    seconds: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, argv in programs.items():
            seconds[name].append(_wall_seconds(argv))
    baseline = statistics.median(seconds[BASELINE[0]])
    rows = []
    for name in COMMANDS:
        median = statistics.median(seconds[name])
        rows.append(
            result_row(
                f"{name} (median of {runs} processes)",
                median,
                "s",
                BASELINE[0],
                baseline,
                f"<= {TARGET:g}x the baseline",
                median <= TARGET * baseline,
            )
        )
    return rows


def _wall_seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started
