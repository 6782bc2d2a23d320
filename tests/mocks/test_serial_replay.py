import struct
import time
import uuid

import numpy as np
import pytest
import serial
from smtjlab.instruments.serial_digitizer import (
    ErrorCode,
    FrameParser,
    FrameType,
    SerialDigitizer,
    encode_frame,
)
from smtjlab.mocks import serial_replay
from smtjlab.mocks.bench import SimulatedBench


def register(bench):
    name = f"t{uuid.uuid4().hex}"
    serial_replay.register_bench(name, bench)
    return f"smtj-replay://{name}"


@pytest.fixture
def bench():
    bench = SimulatedBench(source="model", channels=2, seed=11)
    bench.source_voltage, bench.output_on = 0.30, True
    return bench


def exchange(port, frame):
    """Send raw bytes to the mock, return the frames it answers with."""
    port.write(frame)
    return FrameParser().feed(port.read(port.in_waiting))


def test_serial_for_url_reaches_the_mock(bench):
    url = register(bench)
    port = serial.serial_for_url(f"{url}?channel=1&seed=3", timeout=0.01)
    assert isinstance(port, serial_replay.Serial)
    assert port.is_open and port.channel == 1
    port.close()
    assert not port.is_open
    for bad, message in [
        ("smtj-replay://nobody", "no bench named 'nobody'"),
        (f"{url}?colour=red", "unknown option 'colour'"),
        (f"{url}?channel=2", "no channel 2"),
        (f"{url}?frame_bits=9000", "frame_bits"),
        (f"{url}?drop_rate=2", "drop_rate"),
    ]:
        with pytest.raises(serial.SerialException, match=message):
            serial.serial_for_url(bad)


def test_register_is_idempotent():
    serial_replay.register()
    serial_replay.register()
    assert serial.protocol_handler_packages.count("smtjlab.mocks.serial_replay") == 1


def test_device_answers_raw_commands_as_documented(bench):
    port = serial.serial_for_url(register(bench), timeout=0.01)
    (ack,) = exchange(port, encode_frame(FrameType.SET_INTERVAL, 9, struct.pack("<I", 50)))
    assert (ack.type, ack.seq, ack.payload) == (FrameType.ACK, 9, b"\x02" + struct.pack("<I", 50))
    (nak,) = exchange(port, encode_frame(0x09, 1))
    assert (nak.type, nak.payload) == (FrameType.NAK, bytes([0x09, ErrorCode.UNKNOWN_COMMAND]))
    (nak,) = exchange(port, encode_frame(FrameType.SET_THRESHOLD, 2, b"\x00"))
    assert nak.payload == bytes([FrameType.SET_THRESHOLD, ErrorCode.BAD_LENGTH])
    (nak,) = exchange(port, encode_frame(FrameType.SET_INTERVAL, 3, struct.pack("<I", 0)))
    assert nak.payload == bytes([FrameType.SET_INTERVAL, ErrorCode.OUT_OF_RANGE])
    # A command with a bad CRC gets no answer at all.
    broken = bytearray(encode_frame(FrameType.IDENTIFY, 4))
    broken[-1] ^= 0xFF
    assert exchange(port, bytes(broken)) == []
    # START twice is one run; STOP reports how many DATA frames the run sent.
    exchange(port, encode_frame(FrameType.START, 5))
    exchange(port, encode_frame(FrameType.START, 6))
    data = FrameParser().feed(port.read(3 * 9 + 3 * (2 + 1024 // 8)))
    assert [frame.seq for frame in data] == [0, 1, 2]
    (ack,) = exchange(port, encode_frame(FrameType.STOP, 7))
    assert ack.payload == b"\x05" + struct.pack("<H", 3)


def read_fraction(digitizer, bench, bias, n_bits):
    bench.source_voltage = bias
    # Threshold halfway between the two levels, as a calibration would find them.
    volts, states = bench.sample(0, 20_000, 10e6)
    digitizer.set_threshold((volts[states == 0].mean() + volts[states == 1].mean()) / 2)
    digitizer.start()
    chunks = digitizer.read(n_bits)
    digitizer.stop()
    return float(np.concatenate([chunk.bits for chunk in chunks]).mean())


@pytest.mark.parametrize("source", ["model", "replay"])
def test_the_smu_bias_moves_the_fraction_of_ones_along_the_sigmoid(source):
    bench = SimulatedBench(source=source, seed=11)
    bench.output_on = True
    with SerialDigitizer.open(register(bench), timeout=0.5) as digitizer:
        digitizer.set_interval(20)  # Δt = 2 µs = 2 τc at V50
        biases = np.linspace(0.24, 0.36, 7)
        fractions = [read_fraction(digitizer, bench, bias, 40_000) for bias in biases]
        expected = [bench.p_high(0, bias) for bias in biases]
        assert np.all(np.diff(fractions) > 0)
        np.testing.assert_allclose(fractions, expected, atol=0.03)
        assert digitizer.stats.lost_frames == 0


def test_with_the_output_off_the_comparator_sees_no_signal():
    bench = SimulatedBench(source="model", seed=11)
    bench.source_voltage, bench.output_on = 0.3, False
    with SerialDigitizer.open(register(bench)) as digitizer:
        digitizer.set_threshold(0.001)  # the readout sits at 0 V
        digitizer.start()
        assert not any(chunk.bits.any() for chunk in digitizer.read(5000))


def test_same_seed_same_bits():
    runs = []
    for _ in range(2):
        bench = SimulatedBench(source="model", seed=4)
        bench.source_voltage, bench.output_on = 0.3, True
        with SerialDigitizer.open(register(bench)) as digitizer:
            digitizer.set_threshold(0.125)
            digitizer.start()
            runs.append(digitizer.read(5000)[0].bits)
    np.testing.assert_array_equal(*runs)


def test_random_faults_are_all_accounted_for(bench):
    url = register(bench) + "?frame_bits=128&seed=2&drop_rate=0.05&corrupt_rate=0.05&noise_rate=0.1"
    with SerialDigitizer.open(url) as digitizer:
        digitizer.set_threshold(0.125)
        digitizer.start()
        chunks = digitizer.read(50_000)
        digitizer.stop()
        applied, stats = digitizer.port.faults_applied, digitizer.stats
        assert applied["drop"] and applied["corrupt"] and applied["noise"]
        assert stats.lost_frames == applied["drop"] + applied["corrupt"]
        assert stats.crc_errors >= applied["corrupt"]
        assert (stats.frames + stats.lost_frames) == digitizer.port.data_seq
        # Chunks break exactly where frames went missing, and only at frame boundaries.
        assert chunks[0].gap_before
        assert all(chunk.gap_before and chunk.lost_frames for chunk in chunks[1:])
        assert all(len(chunk.bits) % 128 == 0 for chunk in chunks[:-1])
        assert sum(chunk.lost_frames for chunk in chunks) <= stats.lost_frames


def test_throughput_through_the_url_handler(bench):
    """Reported, not asserted: bits/s from the mock device through pyserial and the driver."""
    with SerialDigitizer.open(register(bench) + "?frame_bits=8192") as digitizer:
        digitizer.set_threshold(0.125)
        digitizer.start()
        digitizer.read(8192)
        start, bits = time.perf_counter(), 0
        while time.perf_counter() - start < 0.5:
            bits += sum(len(chunk.bits) for chunk in digitizer.read(65_536))
        rate = bits / (time.perf_counter() - start)
        assert digitizer.stats.lost_frames == 0
    print(f"serial digitizer throughput via smtj-replay://: {rate / 1e6:.2f} Mbit/s")
