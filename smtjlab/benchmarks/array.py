"""Filling bit pools from a device array against one device time-multiplexed (DESIGN §2, issue 15).

Both run on the mock bench with each scope record taking its real duration (`[mock] realtime`),
as on a real scope, where one acquisition records every channel in the time of one. The devices
switch with τc = 10 µs (a superparamagnetic MTJ's µs range, DESIGN §3) and are sampled at
1 MSa/s, 10 samples per τc as the default mock device at 10 MSa/s: a 1 M-point record then takes
1 s, so the instrument's time, not the simulation's CPU time, sets the pace, as on a bench.
One device fills the pools level after level, ramping between them; the array biases one device
per level once and fills every pool from each acquisition. The biases come from the mock
devices' own sigmoids, so the benchmark times filling, not calibration.
"""

from __future__ import annotations

import time
from dataclasses import replace

from scipy.special import logit

from smtjlab.acquisition.calibration import ArrayCalibration, Calibration, Level, SigmoidFit
from smtjlab.acquisition.pool import BitPool
from smtjlab.bench import Bench
from smtjlab.benchmarks.timing import result_row
from smtjlab.station import Station

LEVELS = (0.2, 0.4, 0.6, 0.8)  # one per device of the 4-device mock array
BITS_PER_LEVEL = 100_000  # two records of 1 M points per level
TAU_C_S = 10e-6
SAMPLE_RATE = 1e6
TARGET = 3.0


def realtime(station: Station) -> Station:
    return replace(station, simulation=replace(station.simulation, realtime=True))


def slow_devices(bench: Bench) -> list:
    """The world's junctions, switched to τc = TAU_C_S; their params, in junction order."""
    world = bench.readout.resource.visalib.bench
    for device in world.devices:
        device.params = replace(device.params, tau_c=TAU_C_S)
    return [device.params for device in world.devices]


def array_benchmarks(bits_per_level: int = BITS_PER_LEVEL) -> list[dict]:
    single_s = _one_device(bits_per_level)
    array_s = _array(bits_per_level)
    total = bits_per_level * len(LEVELS)
    return [
        result_row(
            f"array filling, {len(LEVELS)} devices, one per level (mock, real record time)",
            total / array_s,
            "bits/s",
            "one device time-multiplexed over the same levels",
            total / single_s,
            f">= {TARGET:g}x one device",
            single_s / array_s >= TARGET,
        )
    ]


def _one_device(bits_per_level: int) -> float:
    with Bench.open(realtime(Station.mock("model", sample_rate=SAMPLE_RATE))) as bench:
        (params,) = slow_devices(bench)
        started = time.perf_counter()
        for p in LEVELS:
            bench.set_bias(params.v50 + params.width * float(logit(p)))
            bench.fill(BitPool(p, bits_per_level), bits_per_level)
        return time.perf_counter() - started


def _array(bits_per_level: int) -> float:
    array = Station.mock("model", devices=len(LEVELS), sample_rate=SAMPLE_RATE)
    with Bench.open(realtime(array)) as bench:
        calibrations = {}
        devices = zip(bench.station.devices, LEVELS, slow_devices(bench), strict=True)
        for spec, p, params in devices:
            bias = round(params.v50 + params.width * float(logit(p)), 6)
            calibrations[spec.name] = Calibration(
                SigmoidFit(params.v50, params.width), [], [Level(p, bias, p, 0, 0)]
            )
        started = time.perf_counter()
        bench.fill_array(ArrayCalibration(calibrations), bits_per_level)
        return time.perf_counter() - started
