"""Scale (DESIGN §5.6): the table on 2 local Dask workers against the same table in process.

Both are whole `smtjlab table` processes, so a worker's start-up, imports and numba cache
loads count against it as they would for a user. They run interleaved, ROUNDS times each, and
the medians are compared, so a busy spell of this shared machine slows both alike. The figure
is table cells per second; the ratio is the speed-up of 2 workers.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smtjlab.benchmarks.timing import result_row

TABLE = ["table", "--images", "2000", "--lengths", "100", "200", "--bits", "ideal"]
CELLS = 16  # the 8 shipped models at 2 lengths
WORKERS = 2
ROUNDS = 3


def scale_benchmarks(rounds: int = ROUNDS) -> list[dict]:
    local: list[float] = []
    cluster: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            local.append(_wall_seconds([*TABLE, "--out", str(Path(folder) / "in-process")]))
            cluster.append(
                _wall_seconds(
                    [*TABLE, "--out", str(Path(folder) / "workers"), "--workers", str(WORKERS)]
                )
            )
        same = (Path(folder) / "in-process" / "accuracy-table.csv").read_bytes() == (
            Path(folder) / "workers" / "accuracy-table.csv"
        ).read_bytes()
    in_process, workers = statistics.median(local), statistics.median(cluster)
    return [
        result_row(
            f"smtjlab {' '.join(TABLE)} --workers {WORKERS} (median of {rounds}; cells/s; "
            f"CSVs identical: {same})",
            CELLS / workers,
            "cells/s",
            "the same table in process",
            CELLS / in_process,
            "> 1x in process, CSV identical (no DESIGN target: reported)",
            same and workers < in_process,
        )
    ]


def _wall_seconds(arguments: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "smtjlab", *arguments],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started
