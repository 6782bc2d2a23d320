"""Benchmarks of the instrument layer for `smtjlab bench` (DESIGN §6), against same-run baselines.

Every registered model that has a mock (`smtjlab.mocks.station.MOCKS`) is measured, each on a
mock station of its own and opened through the registry, so a new model brings its own rows:

- each scope: a 1 M-point WORD fetch through the driver, PyVISA and the mock, against decoding
  the same block of codes with NumPy alone; and the fetch half of the live pipeline in frames/s,
  against `np.copy` of a frame (the acquisition layer's benchmark adds digitize and the pool);
- each source-measure unit: the *IDN? query rate through the driver and PyVISA, against
  calling its mock directly.
"""

from __future__ import annotations

import numpy as np
import pyvisa

from smtjlab.benchmarks.timing import best_seconds, result_row
from smtjlab.instruments import registry
from smtjlab.instruments.discovery import open_instrument
from smtjlab.mocks.station import MOCKS
from smtjlab.station import DeviceSpec, InstrumentSpec, MockSpec, Station, hosted

POINTS = 1_000_000
FETCH_TARGET_MS = 50.0  # 20 frames/s, the live pipeline target
FRAMES_TARGET = 20.0
QUERY_TARGET = 1000.0  # well above what a GPIB round trip allows, so the mock never limits
RESOURCE = "GPIB0::1::INSTR"
BIAS_OUTPUT = "bias:1"  # the world's output biasing the scope's junction (no SMU needed)


def bench_benchmarks(repeats: int = 10, queries: int = 2000, points: int = POINTS) -> list[dict]:
    rows: list[dict] = []
    for model, driver in sorted(registry.drivers().items()):
        if model not in MOCKS:
            continue
        if driver.role == "scope":
            rows += scope_rows(model, repeats, points)
        elif driver.role == "source":
            rows += source_rows(model, queries)
    return rows


def _station(model: str, role: str) -> pyvisa.ResourceManager:
    """A mock station holding one instrument of `model` (a scope reads one junction)."""
    devices = (DeviceSpec("mtj", "bias", model),) if role == "scope" else ()
    station = Station(
        instruments=(InstrumentSpec(model, RESOURCE, role, model),),
        devices=devices,
        visa_library="@smtjlab",
        simulation=MockSpec(),
    )
    return pyvisa.ResourceManager(hosted(station))


def scope_rows(model: str, repeats: int, points: int) -> list[dict]:
    rm = _station(model, "scope")
    rm.visalib.bench.set_output(BIAS_OUTPUT, 0.3, True)  # the junction switches at 0.3 V
    scope = open_instrument(RESOURCE, rm, model=model)
    try:
        scope.set_vertical(1, 0.025, 0.15)
        scope.configure_record(points, 100e6)
        scope.digitize(1)
        fetch_s = best_seconds(lambda: scope.fetch(1, points=points), repeats)
        wave = scope.fetch(1, points=points)
    finally:
        scope.close()
        rm.close()
    block = wave.codes.tobytes()  # the 16-bit codes the transfer carried
    scale, offset = np.float32(wave.volts_per_code), np.float32(wave.offset_volts)

    def decode() -> np.ndarray:
        return np.frombuffer(block, wave.codes.dtype).astype(np.float32) * scale + offset

    decode_s = best_seconds(decode, repeats)
    frame = decode()
    copy_s = best_seconds(lambda: np.copy(frame), repeats)
    fetch_ms = fetch_s * 1e3
    mega = f"{points / 1e6:g} M"
    return [
        result_row(
            f"{model}: scope fetch, {mega}-point WORD, driver + PyVISA + mock scope",
            fetch_ms,
            "ms",
            f"NumPy decode of the same {len(block) / 1e6:g} MB block (no VISA, no SCPI)",
            decode_s * 1e3,
            f"<= {FETCH_TARGET_MS:g} ms",
            fetch_ms <= FETCH_TARGET_MS,
        ),
        result_row(
            f"{model}: live pipeline, scope fetch only, {mega} points (mock VISA)",
            1 / fetch_s,
            "frames/s",
            f"np.copy of a {mega} float32 frame",
            1 / copy_s,
            f">= {FRAMES_TARGET:g} frames/s",
            1 / fetch_s >= FRAMES_TARGET,
        ),
    ]


def source_rows(model: str, queries: int) -> list[dict]:
    rm = _station(model, "source")
    smu = open_instrument(RESOURCE, rm, model=model)
    try:
        query_s = best_seconds(lambda: [smu.idn for _ in range(queries)], 3) / queries
    finally:
        smu.close()
    device = rm.visalib.device(RESOURCE)

    def direct() -> None:
        for _ in range(queries):
            device.write(b"*IDN?\n")
            device.read()

    direct_s = best_seconds(direct, 3) / queries
    rm.close()
    return [
        result_row(
            f"{model}: *IDN? query rate, driver + PyVISA + mock SMU",
            1 / query_s,
            "queries/s",
            "the mock SMU called directly",
            1 / direct_s,
            f">= {QUERY_TARGET:g} queries/s",
            1 / query_s >= QUERY_TARGET,
        )
    ]
