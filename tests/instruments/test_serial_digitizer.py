import struct
import uuid
from collections import deque

import numpy as np
import pytest
from smtjlab.acquisition.packing import pack_bits
from smtjlab.instruments.serial_digitizer import (
    DigitizerError,
    DigitizerTimeout,
    FrameParser,
    FrameType,
    Identity,
    SerialDigitizer,
    crc16,
    decode_bits,
    encode_bits,
    encode_frame,
)
from smtjlab.mocks import serial_replay
from smtjlab.mocks.bench import SimulatedBench

from smtjlab.errors import SmtjlabError

FRAME_BITS = 256


def crc16_bitwise(data: bytes) -> int:
    """CRC-16/CCITT-FALSE written from its definition, independent of binascii."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc16_known_vectors():
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF
    data = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    for size in (1, 2, 17, 300):
        assert crc16(data[:size]) == crc16_bitwise(data[:size])


# The worked examples of docs/serial-protocol.md, byte for byte.
DOC_FRAMES = [
    (FrameType.DATA, 7, encode_bits(np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1])),
     "a5 5a 80 07 00 04 00 0c 00 8d 0b e4 f5"),
    (FrameType.SET_THRESHOLD, 3, struct.pack("<i", 125_000),
     "a5 5a 03 03 00 04 00 48 e8 01 00 1c 2a"),
    (FrameType.ACK, 3, bytes([3]) + struct.pack("<i", 125_000),
     "a5 5a 81 03 00 05 00 03 48 e8 01 00 87 01"),
    (FrameType.IDENTIFY, 0, b"", "a5 5a 01 00 00 00 00 5d bb"),
    (FrameType.START, 5, b"", "a5 5a 04 05 00 00 00 4f 24"),
    (FrameType.STOP, 6, b"", "a5 5a 05 06 00 00 00 c2 15"),
    (FrameType.ACK, 6, bytes([5]) + struct.pack("<H", 300),
     "a5 5a 81 06 00 03 00 05 2c 01 c1 7c"),
    (FrameType.NAK, 4, bytes([2, 3]), "a5 5a 82 04 00 02 00 02 03 1c 87"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "seq", "payload", "wire"), DOC_FRAMES, ids=[f"{f[0].name}-{f[1]}" for f in DOC_FRAMES]
)
def test_frames_match_the_documented_bytes(kind, seq, payload, wire):
    frame = encode_frame(kind, seq, payload)
    assert frame == bytes.fromhex(wire)
    assert crc16_bitwise(frame[2:-2]) == struct.unpack("<H", frame[-2:])[0]


def test_data_payload_packs_lsb_first_like_acquisition_packing():
    bits = np.random.default_rng(1).integers(0, 2, 128, dtype=np.uint8)
    payload = encode_bits(bits)
    assert payload[:2] == struct.pack("<H", 128)
    assert payload[2:] == pack_bits(bits).astype("<u8").tobytes()
    np.testing.assert_array_equal(decode_bits(payload), bits)
    odd = np.ones(13, dtype=np.uint8)
    assert encode_bits(odd)[2:] == b"\xff\x1f"  # unused high bits are zero
    with pytest.raises(DigitizerError, match="claims 13 bits"):
        decode_bits(encode_bits(odd) + b"\x00")


def test_parser_reassembles_frames_split_at_every_byte():
    frames = [encode_frame(FrameType.DATA, seq, encode_bits(np.ones(seq + 1))) for seq in range(5)]
    stream = b"".join(frames)
    for cut in range(len(stream)):
        parser = FrameParser()
        got = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [frame.seq for frame in got] == list(range(5))
        assert parser.crc_errors == parser.discarded_bytes == 0


def test_parser_resynchronizes_after_garbage():
    good = [encode_frame(FrameType.DATA, seq, encode_bits(np.zeros(40))) for seq in range(3)]
    too_long = b"\xa5\x5a\x80\x00\x00\xff\xff"  # a false sync with an impossible length
    # A false sync with a plausible length: its "frame" swallows the start of the next real
    # frame and fails the CRC, after which the real frame must still be found.
    plausible = b"\xa5\x5a\x80\x00\x00\x03\x00\x11"
    garbage = [b"\x00\x13\xa5", too_long, plausible]
    stream = garbage[0] + good[0] + garbage[1] + good[1] + garbage[2] + good[2] + b"\xa5"
    parser = FrameParser()
    got = parser.feed(stream)
    assert [frame.seq for frame in got] == [0, 1, 2]
    assert parser.crc_errors == 1
    assert parser.discarded_bytes == sum(map(len, garbage))
    # The trailing first sync byte waits for its partner rather than being dropped.
    assert parser.feed(good[0][1:])[0].seq == 0


def test_parser_counts_a_corrupt_frame_and_keeps_the_next():
    frames = [encode_frame(FrameType.DATA, seq, encode_bits(np.ones(64))) for seq in range(2)]
    bad = bytearray(frames[0])
    bad[10] ^= 0x01
    parser = FrameParser()
    got = parser.feed(bytes(bad) + frames[1])
    assert [frame.seq for frame in got] == [1]
    assert parser.crc_errors == 1


# -- the driver, byte for byte against a scripted device -------------------------------------


def wire_frame(kind: int, seq: int, payload: bytes = b"") -> bytes:
    """A frame built from the protocol document alone, independent of `encode_frame`."""
    body = struct.pack("<BHH", kind, seq, len(payload)) + payload
    return b"\xa5\x5a" + body + struct.pack("<H", crc16_bitwise(body))


class ScriptedPort:
    """A pretend device that knows only its script: each write must be the next expected frame,
    byte for byte, and the device answers with the scripted bytes."""

    port = "scripted"

    def __init__(self, exchanges):
        self.expected = deque(exchanges)
        self.output = bytearray()
        self.timeout = None
        self.is_open = True

    def write(self, data):
        assert self.expected, f"driver sent {bytes(data).hex(' ')} after the script ended"
        sent, reply = self.expected.popleft()
        assert bytes(data) == sent, f"driver sent {bytes(data).hex(' ')}, expected {sent.hex(' ')}"
        self.output += reply
        return len(data)

    def read(self, size=1):
        data = bytes(self.output[:size])
        del self.output[:size]
        return data

    @property
    def in_waiting(self):
        return len(self.output)

    def reset_input_buffer(self):
        self.output.clear()

    def close(self):
        self.is_open = False


def test_every_command_is_the_documented_exchange():
    ack = FrameType.ACK
    bits = np.random.default_rng(2).integers(0, 2, 20, dtype=np.uint8)
    data = [
        wire_frame(FrameType.DATA, seq, encode_bits(part))
        for seq, part in enumerate((bits[:12], bits[12:]))
    ]
    port = ScriptedPort(
        [
            (bytes.fromhex("a5 5a 01 00 00 00 00 5d bb"),
             wire_frame(ack, 0, b"\x01" + struct.pack("<I", 2_000_000) + b"ACME,DIG,7,1.2")),
            (wire_frame(FrameType.SET_INTERVAL, 1, struct.pack("<I", 40)),
             wire_frame(ack, 1, b"\x02" + struct.pack("<I", 40))),
            (wire_frame(FrameType.SET_THRESHOLD, 2, struct.pack("<i", 125_000)),
             wire_frame(ack, 2, b"\x03" + struct.pack("<i", 125_000))),
            (wire_frame(FrameType.START, 3), wire_frame(ack, 3, b"\x04") + b"".join(data)),
            (wire_frame(FrameType.STOP, 4), wire_frame(ack, 4, b"\x05" + struct.pack("<H", 2))),
            (wire_frame(FrameType.START, 5), wire_frame(ack, 5, b"\x04")),
            (wire_frame(FrameType.STOP, 6), wire_frame(ack, 6, b"\x05" + struct.pack("<H", 0))),
        ]
    )  # fmt: skip
    digitizer = SerialDigitizer(port, timeout=0.2)
    assert digitizer.identify() == Identity(2_000_000, "ACME,DIG,7,1.2")
    assert digitizer.set_interval(40) == 40
    assert digitizer.set_threshold(0.125) == pytest.approx(0.125)
    digitizer.start()
    (chunk,) = digitizer.read(20)
    np.testing.assert_array_equal(chunk.bits, bits)
    digitizer.stop()
    assert (digitizer.stats.frames, digitizer.stats.lost_frames) == (2, 0)
    digitizer.start()
    digitizer.close()  # a run in progress is stopped before the port closes
    assert not port.expected and not port.is_open


def test_a_nak_names_the_command_and_the_code():
    request = wire_frame(FrameType.SET_INTERVAL, 0, struct.pack("<I", 7))
    port = ScriptedPort([(request, wire_frame(FrameType.NAK, 0, bytes([2, 3])))])
    with pytest.raises(DigitizerError, match="SET_INTERVAL refused: OUT_OF_RANGE"):
        SerialDigitizer(port, timeout=0.2).set_interval(7)


# -- the driver, through the mock device -----------------------------------------------------


@pytest.fixture
def bench():
    bench = SimulatedBench(source="model", seed=5)
    bench.source_voltage, bench.output_on = 0.30, True
    return bench


def open_digitizer(bench, options="", **kwargs):
    name = f"t{uuid.uuid4().hex}"
    serial_replay.register_bench(name, bench)
    url = f"smtj-replay://{name}?frame_bits={FRAME_BITS}{options}"
    return SerialDigitizer.open(url, **{"timeout": 0.2, **kwargs})


def wire_log(digitizer):
    """Record every byte the driver writes and reads."""
    port, log = digitizer.port, {"sent": b"", "received": b""}
    write, read = port.write, port.read

    def logged_write(data):
        log["sent"] += bytes(data)
        return write(data)

    def logged_read(size=1):
        data = read(size)
        log["received"] += data
        return data

    port.write, port.read = logged_write, logged_read
    return log


def test_commands_are_acknowledged_with_the_applied_values(bench):
    with open_digitizer(bench) as digitizer:
        wire = wire_log(digitizer)
        identity = digitizer.identify()
        assert wire["sent"] == bytes.fromhex("a5 5a 01 00 00 00 00 5d bb")
        assert wire["received"][:7] == bytes.fromhex("a5 5a 81 00 00") + struct.pack(
            "<H", 5 + len(identity.text)
        )
        assert identity.clock_hz == 10_000_000
        assert "mock serial digitizer" in identity.text
        assert digitizer.set_interval(40) == 40
        assert digitizer.set_threshold(0.1234567) == pytest.approx(0.123)  # 1 mV DAC
        assert digitizer.port.interval == 40


def test_refusals_raise_clear_errors(bench):
    with open_digitizer(bench) as digitizer:
        with pytest.raises(DigitizerError, match="SET_THRESHOLD refused: OUT_OF_RANGE"):
            digitizer.set_threshold(3.0)
        with pytest.raises(DigitizerError, match="interval 0"):
            digitizer.set_interval(0)
        digitizer.start()
        with pytest.raises(DigitizerError, match="SET_INTERVAL refused: BUSY"):
            digitizer.set_interval(10)
        digitizer.stop()
        with pytest.raises(DigitizerError, match="stopped with"):
            digitizer.read(10 * FRAME_BITS)
    assert issubclass(DigitizerTimeout, SmtjlabError)


def test_reads_return_exact_counts_and_mark_only_the_run_start(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.start()
        first = digitizer.read(1000)
        second = digitizer.read(3000)
        digitizer.stop()
        assert [(c.gap_before, c.lost_frames, len(c.bits)) for c in first] == [(True, 0, 1000)]
        assert [(c.gap_before, len(c.bits)) for c in second] == [(False, 3000)]
        assert digitizer.stats.lost_frames == digitizer.stats.gaps == 0
        # What was left of the last frame is still readable after stop, and start drops it.
        assert len(digitizer.read(digitizer.stats.bits - 4000)[0].bits) == 96
        digitizer.start()
        assert digitizer.read(1)[0].gap_before


def test_a_dropped_frame_splits_the_bits_and_is_counted(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.start()
        digitizer.read(FRAME_BITS + 56)  # frames 0 and 1 arrived; 200 bits are unread
        digitizer.port.inject("drop")  # frame 2 is never sent
        chunks = digitizer.read(200 + 2 * FRAME_BITS)
        assert [(c.gap_before, c.lost_frames, len(c.bits)) for c in chunks] == [
            (False, 0, 200),
            (True, 1, 2 * FRAME_BITS),
        ]
        assert (digitizer.stats.lost_frames, digitizer.stats.gaps) == (1, 1)
        assert digitizer.stats.crc_errors == 0


def test_a_corrupt_frame_is_counted_and_never_merged(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.start()
        digitizer.read(FRAME_BITS)
        digitizer.port.inject("corrupt")
        chunks = digitizer.read(FRAME_BITS)
        assert [(c.gap_before, c.lost_frames) for c in chunks] == [(True, 1)]
        assert digitizer.stats.crc_errors >= 1
        assert digitizer.stats.lost_frames == 1


def test_garbage_on_the_line_costs_no_bits(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.start()
        digitizer.port.inject("noise", 5)
        chunks = digitizer.read(10 * FRAME_BITS)
        assert len(chunks) == 1
        assert digitizer.stats.discarded_bytes > 0
        assert digitizer.stats.lost_frames == 0


def test_frames_lost_at_the_end_of_a_run_are_counted_at_stop(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.start()
        digitizer.read(FRAME_BITS)
        digitizer.port.inject("drop")
        assert digitizer.port.in_waiting == 0  # the device made frame 1 and lost it
        digitizer.stop()
        assert (digitizer.stats.lost_frames, digitizer.stats.gaps) == (1, 1)


def test_a_garbled_or_missing_reply_is_retried(bench):
    with open_digitizer(bench) as digitizer:
        digitizer.port.inject("garble")
        assert digitizer.set_interval(25) == 25
        digitizer.port.inject("timeout")
        assert digitizer.identify().clock_hz == 10_000_000
        assert digitizer.stats.retries == 2
        assert digitizer.stats.discarded_bytes > 0


def test_a_device_that_stays_silent_times_out(bench):
    with open_digitizer(bench, retries=1) as digitizer:
        digitizer.port.inject("timeout", 2)
        with pytest.raises(DigitizerTimeout, match=r"no valid reply to IDENTIFY .*2 attempts"):
            digitizer.identify()
    with open_digitizer(bench, "&drop_rate=1") as digitizer:
        digitizer.start()
        with pytest.raises(DigitizerTimeout, match="no data frame"):
            digitizer.read(10)


def test_a_dropped_connection_is_a_clear_error(bench):
    digitizer = open_digitizer(bench)
    digitizer.start()
    digitizer.port.inject("disconnect")
    with pytest.raises(DigitizerError, match="disconnected"):
        digitizer.read(10 * FRAME_BITS)
    with pytest.raises(DigitizerError, match="disconnected"):
        digitizer.close()
    assert not digitizer.port.is_open
