"""The serial digitizer through `smtj-replay://` and its driver, against raw port reads."""

from __future__ import annotations

import time

import serial

from smtjlab.instruments.serial_digitizer import POLL_S, FrameType, SerialDigitizer, encode_frame
from smtjlab.mocks import serial_replay
from smtjlab.mocks.bench import SimulatedBench

# The fastest common UART rate, 8N1, carrying 1024-bit DATA frames (11 bytes of framing each).
LINK_BAUD = 921_600
LINK_PAYLOAD_BITS_S = LINK_BAUD / 10 * 8 * 128 / (128 + 11)


def digitizer_benchmarks(seconds: float = 1.0) -> list[dict]:
    """Bits/s through smtj-replay:// and this driver, against raw reads of the same port.

    The target is keeping up with a 921 600-baud link; the mock device's own frame production
    is inside both numbers, so the ratio is what framing, CRC and gap accounting cost.
    """
    bench = SimulatedBench(source="model", seed=0)
    bench.source_voltage, bench.output_on = 0.30, True
    serial_replay.register_bench("benchmark", bench)
    url = "smtj-replay://benchmark?frame_bits=1024"

    with SerialDigitizer.open(url) as digitizer:
        digitizer.start()
        start, bits = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            bits += sum(chunk.bits.size for chunk in digitizer.read(65_536))
        driver_rate = bits / (time.perf_counter() - start)

    port = serial.serial_for_url(url, timeout=POLL_S)
    port.write(encode_frame(FrameType.START, 0))
    start, received = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        received += len(port.read(port.in_waiting))
    raw_rate = received / (time.perf_counter() - start) * 1024 / (1024 // 8 + 11)
    port.close()
    return [
        {
            "name": "serial digitizer bits through smtj-replay:// and the driver",
            "value": round(driver_rate / 1e6, 2),
            "unit": "Mbit/s",
            "baseline": "raw port reads of the same frames, no parsing",
            "baseline_value": round(raw_rate / 1e6, 2),
            "ratio": round(driver_rate / raw_rate, 2),
            "target": f">= {LINK_PAYLOAD_BITS_S / 1e6:.2f} Mbit/s ({LINK_BAUD} baud payload)",
            "meets_target": driver_rate >= LINK_PAYLOAD_BITS_S,
        }
    ]
