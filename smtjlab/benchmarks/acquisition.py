"""Acquisition benchmarks for `smtjlab bench` (DESIGN §6), each against a baseline in the same run.

- **Digitize**: samples/s of trace → states, against a plain `np.copy` of the same float32
  array (the machine's memory bandwidth for it). The DESIGN target (≥ 25 %) is for threshold
  plus hysteresis, `digitize(method="hysteresis")`, the whole call: level estimation, the
  tracked hysteresis pass and the run statistics. Hysteresis then Viterbi (what the default
  "auto" does below SNR 8) and a 1 M-sample frame that fits in cache are reported beside it.
- **Live pipeline**: records/s from the scope transfer (1 M points through the mock VISA
  stack: `:WAVeform:DATA?` as an IEEE 488.2 block) to bits in a pool, against the mock scope's
  own acquisition (`:DIGitize`, the simulated device) of the same records.

Inputs are synthetic telegraph traces (smtjlab.mocks.smtj).
"""

from __future__ import annotations

import time

import numpy as np

from smtjlab.acquisition.digitize import digitize
from smtjlab.acquisition.pool import BitPool
from smtjlab.benchmarks.timing import best_seconds, result_row
from smtjlab.mocks.smtj import ReadoutNoise, readout, telegraph_states

DIGITIZE_TARGET = 0.25  # of np.copy
PIPELINE_TARGET = 20.0  # records/s
LARGE = 1 << 24  # 64 MB of float32: beyond the caches, so np.copy measures memory bandwidth
FRAME = 1_000_000
RECORDS = 8


def acquisition_benchmarks() -> list[dict]:
    return [*_digitize_rows(), _pipelineresult_row()]


def _digitize_rows() -> list[dict]:
    rows = []
    large = _telegraph(LARGE)
    for size, method, label in (
        (LARGE, "hysteresis", "threshold + hysteresis"),
        (LARGE, "viterbi", "hysteresis + Viterbi"),
        (FRAME, "hysteresis", "threshold + hysteresis"),
    ):
        volts = large[:size].copy()
        digitize(volts, 10e6, method=method)  # compile and warm up
        seconds = best_seconds(
            lambda volts=volts, method=method: digitize(volts, 10e6, method=method)
        )
        copy_seconds = best_seconds(lambda volts=volts: np.copy(volts))
        rows.append(
            result_row(
                f"digitize, {label}, {size / 1e6:.3g} M float32 samples",
                size / seconds,
                "samples/s",
                "np.copy of the same array",
                size / copy_seconds,
                f">= {DIGITIZE_TARGET:g} x np.copy",
                copy_seconds / seconds >= DIGITIZE_TARGET,
            )
        )
    return rows


def _pipelineresult_row() -> dict:
    from smtjlab.bench import Bench
    from smtjlab.station import Station

    pool = BitPool(0.5, 1 << 22)
    acquire_seconds, pipeline_seconds = [], []
    with Bench.open(Station.mock("model"), points=FRAME) as bench:
        bench.set_bias(0.30)
        for index in range(RECORDS + 1):
            started = time.perf_counter()
            bench.readout.digitize(bench.device.readout_channel)
            fetched = time.perf_counter()
            pool.append(bench.bits(_fetch(bench)))
            done = time.perf_counter()
            if index:  # the first record pays for compiling
                acquire_seconds.append(fetched - started)
                pipeline_seconds.append(done - fetched)
    return result_row(
        f"live pipeline, scope transfer to bits in the pool, {FRAME / 1e6:g} M points (mock VISA)",
        1 / np.mean(pipeline_seconds),
        "records/s",
        "mock scope acquisition of the same records (device simulation)",
        1 / np.mean(acquire_seconds),
        f">= {PIPELINE_TARGET:g} records/s",
        1 / np.mean(pipeline_seconds) >= PIPELINE_TARGET,
    )


def _fetch(bench):
    """The transfer half of `Bench.record` (the acquisition was timed separately)."""
    from smtjlab.acquisition.tracefile import Trace

    wave = bench.readout.fetch(bench.device.readout_channel, format="byte", points=bench.points)
    return Trace(
        "benchmark",
        wave.codes,
        wave.sample_rate,
        bench.bias_v,
        wave.volts_per_code,
        wave.offset_volts,
    )


def _telegraph(n: int) -> np.ndarray:
    """Synthetic: p = 0.5, mean dwells 20 samples, SNR 10, as the mock device at V50."""
    rng = np.random.default_rng(0)
    states = telegraph_states(rng, n, 20.0, 20.0)
    return readout(rng, states, 0.10, 0.15, ReadoutNoise(snr=10.0), 10e6)
