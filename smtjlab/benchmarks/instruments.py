"""Benchmarks of the instrument layer for `smtjlab bench` (DESIGN §6), against same-run baselines.

- A 1 M-point WORD waveform fetch through the mock VISA stack (driver, PyVISA, mock library,
  mock scope), against decoding the same 2 MB block with NumPy alone.
- The *IDN? query rate through the driver and PyVISA, against calling the mock scope directly,
  and the same for every source-measure unit with a mock (one row per model).
- The fetch half of the live pipeline in frames/s (1 M points), against `np.copy` of a frame.
  The acquisition layer's benchmark adds digitize and the bit pool.
"""

from __future__ import annotations

import numpy as np

from smtjlab.benchmarks.timing import best_seconds, result_row
from smtjlab.instruments import registry
from smtjlab.instruments.discovery import open_instrument
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.station import MOCKS
from smtjlab.mocks.visa_library import SCOPE_RESOURCE, mock_resource_manager

POINTS = 1_000_000
FETCH_TARGET_MS = 50.0  # 20 frames/s, the live pipeline target
FRAMES_TARGET = 20.0
QUERY_TARGET = 1000.0  # well above what a GPIB round trip allows, so the mock never limits
SMU_RESOURCE = "GPIB0::9::INSTR"


def bench_benchmarks(repeats: int = 10, queries: int = 2000) -> list[dict]:
    bench = SimulatedBench(seed=0)
    rm = mock_resource_manager(bench)
    scope = open_instrument(SCOPE_RESOURCE, rm)
    bench.source_voltage, bench.output_on = 0.3, True
    scope.set_vertical(1, 0.025, 0.15)
    scope.configure_record(POINTS, 100e6)
    scope.digitize(1)

    fetch_s = best_seconds(lambda: scope.fetch(1, points=POINTS), repeats)
    wave = scope.fetch(1, points=POINTS)
    block = wave.codes.tobytes()  # the 2 MB of 16-bit codes the transfer carried
    scale, offset = np.float32(wave.volts_per_code), np.float32(wave.offset_volts)

    def decode() -> np.ndarray:
        return np.frombuffer(block, wave.codes.dtype).astype(np.float32) * scale + offset

    decode_s = best_seconds(decode, repeats)
    frame = decode()
    copy_s = best_seconds(lambda: np.copy(frame), repeats)

    query_s = best_seconds(lambda: [scope.query("*IDN?") for _ in range(queries)], 3) / queries
    device = rm.visalib.device(SCOPE_RESOURCE)

    def direct() -> None:
        for _ in range(queries):
            device.write(b"*IDN?\n")
            device.read()

    direct_s = best_seconds(direct, 3) / queries
    scope.close()
    rm.close()

    fetch_ms = fetch_s * 1e3
    return [
        result_row(
            "scope fetch, 1 M-point WORD, driver + PyVISA + mock scope",
            fetch_ms,
            "ms",
            "NumPy decode of the same 2 MB block (no VISA, no SCPI)",
            decode_s * 1e3,
            f"<= {FETCH_TARGET_MS:g} ms",
            fetch_ms <= FETCH_TARGET_MS,
        ),
        result_row(
            "*IDN? query rate, driver + PyVISA + mock scope",
            1 / query_s,
            "queries/s",
            "mock scope called directly",
            1 / direct_s,
            f">= {QUERY_TARGET:g} queries/s",
            1 / query_s >= QUERY_TARGET,
        ),
        result_row(
            "live pipeline, scope fetch only, 1 M points (mock VISA)",
            1 / fetch_s,
            "frames/s",
            "np.copy of a 1 M float32 frame",
            1 / copy_s,
            f">= {FRAMES_TARGET:g} frames/s",
            1 / fetch_s >= FRAMES_TARGET,
        ),
        *smu_query_rows(queries),
    ]


def smu_query_rows(queries: int) -> list[dict]:
    """*IDN? through each SMU model's driver and PyVISA, against its mock called directly."""
    return [
        _smu_query_row(model, driver.cls, queries)
        for model, driver in sorted(registry.drivers().items())
        if driver.role == "source" and model in MOCKS
    ]


def _smu_query_row(model: str, driver: type, queries: int) -> dict:
    world = SimulatedBench(seed=0, wiring=["smu:1"])
    device = MOCKS[model](world, "smu", {})
    rm = mock_resource_manager(world, devices={SMU_RESOURCE: device})
    smu = driver(rm.open_resource(SMU_RESOURCE))
    query_s = best_seconds(lambda: [smu.query("*IDN?") for _ in range(queries)], 3) / queries

    def direct() -> None:
        for _ in range(queries):
            device.write(b"*IDN?\n")
            device.read()

    direct_s = best_seconds(direct, 3) / queries
    smu.close()
    rm.close()
    return result_row(
        f"*IDN? query rate, driver + PyVISA + mock {model}",
        1 / query_s,
        "queries/s",
        f"mock {model} called directly",
        1 / direct_s,
        f">= {QUERY_TARGET:g} queries/s",
        1 / query_s >= QUERY_TARGET,
    )
