"""A mock serial bit digitizer behind a pyserial URL: ``smtj-replay://<bench>?channel=0``.

It speaks docs/serial-protocol.md and reads its comparator input from a simulated bench
registered under ``<bench>``, the same object the mock SMU and scope use, so the bias set on
the SMU changes the bits. Registration follows pyserial's own extension point:
``serial.serial_for_url`` imports ``<package>.protocol_<scheme>`` from each package listed in
``serial.protocol_handler_packages``. `register()` lists this module there and makes it its
own ``protocol_smtj-replay`` submodule (the hyphen rules out a real file of that name).
Importing this module calls `register()`.

URL options: ``channel`` (bench channel, 0), ``seed`` (fault-rate randomness, 0),
``frame_bits`` (bits per DATA frame, 1024), ``clock_hz`` (comparator clock, 10 MHz), and
per-frame fault rates ``drop_rate``, ``corrupt_rate``, ``noise_rate`` (0). One-shot faults:
`Serial.inject`.

The mock makes frames when the host reads, not on a wall clock, so a run is as fast as the
host; simulated time advances by ``interval / clock_hz`` per bit.
"""

from __future__ import annotations

import struct
import sys
import time
from collections import Counter
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import numpy as np
import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes
from smtjlab.instruments.serial_digitizer import (
    CRC_SIZE,
    HEADER,
    MAX_FRAME_BITS,
    SEQ_MOD,
    ErrorCode,
    Frame,
    FrameParser,
    FrameType,
    encode_bits,
    encode_frame,
)

SCHEME = "smtj-replay"
IDENTITY = "smtjlab,mock serial digitizer,{bench}/ch{channel},1.0"
MAX_INTERVAL = 1_000_000
FRAME_OVERHEAD = HEADER.size + CRC_SIZE
# The comparator DAC: 1 mV steps over ±2.048 V.
DAC_STEP_UV = 1000
DAC_LIMIT_UV = 2_048_000
FAULTS = ("drop", "corrupt", "noise", "garble", "timeout", "disconnect")
_OPTIONS = {
    "channel": int,
    "seed": int,
    "frame_bits": int,
    "clock_hz": int,
    "drop_rate": float,
    "corrupt_rate": float,
    "noise_rate": float,
}


class Bench(Protocol):
    """What the mock needs from the shared simulated bench (smtjlab.mocks.bench)."""

    channels: int

    @property
    def bias_v(self) -> float: ...

    def sample(
        self, channel: int, n_samples: int, sample_rate: float
    ) -> tuple[np.ndarray, np.ndarray]: ...


_benches: dict[str, Bench] = {}


def register_bench(name: str, bench: Bench) -> None:
    """Make `bench` reachable as ``smtj-replay://<name>``; a later call replaces it."""
    _benches[name] = bench


def register() -> None:
    """List this module as a pyserial URL-handler package (idempotent)."""
    sys.modules[f"{__name__}.protocol_{SCHEME}"] = sys.modules[__name__]
    if __name__ not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(__name__)


class Serial(SerialBase):
    """The mock port: host writes are commands, host reads are replies and DATA frames."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.bench: Bench | None = None
        self.bench_name = ""
        self.channel = 0
        self.frame_bits = 1024
        self.clock_hz = 10_000_000
        self.rates = {"drop": 0.0, "corrupt": 0.0, "noise": 0.0}
        self._rng = np.random.default_rng(0)
        self._pending: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.faults_applied: Counter[str] = Counter()  # ground truth for tests
        self._out = bytearray()
        self._commands = FrameParser()
        # Digitizer state, as the firmware would keep it.
        self.interval = 20
        self.threshold_uv = 0
        self.streaming = False
        self.data_seq = 0
        super().__init__(*args, **kwargs)

    # -- pyserial port --------------------------------------------------------------------

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self._from_url(self._port)
        self.is_open = True
        self._pending = dict.fromkeys(FAULTS, 0)
        self._out.clear()

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self) -> None:
        """Baud rate and framing mean nothing to an in-process device."""

    def _from_url(self, url: str) -> None:
        parts = urlsplit(url)
        usage = f"expected {SCHEME}://<bench>?option=value&..., got {url!r}"
        if parts.scheme != SCHEME or not parts.netloc:
            raise SerialException(usage)
        if parts.netloc not in _benches:
            raise SerialException(
                f"{url}: no bench named {parts.netloc!r}; known: {sorted(_benches)}"
                " (smtjlab.mocks.serial_replay.register_bench)"
            )
        options: dict[str, int | float] = {}
        for key, values in parse_qs(parts.query, keep_blank_values=True).items():
            if key not in _OPTIONS:
                raise SerialException(f"{url}: unknown option {key!r}; known: {sorted(_OPTIONS)}")
            try:
                options[key] = _OPTIONS[key](values[-1])
            except ValueError:
                raise SerialException(f"{url}: bad value {values[-1]!r} for {key}") from None
        self.bench, self.bench_name = _benches[parts.netloc], parts.netloc
        self.channel = int(options.get("channel", 0))
        if not 0 <= self.channel < self.bench.channels:
            raise SerialException(f"{url}: the bench has no channel {self.channel}")
        self.frame_bits = int(options.get("frame_bits", 1024))
        self.clock_hz = int(options.get("clock_hz", 10_000_000))
        if not 1 <= self.frame_bits <= MAX_FRAME_BITS or self.clock_hz <= 0:
            raise SerialException(f"{url}: frame_bits must be 1..{MAX_FRAME_BITS}, clock_hz > 0")
        for fault in self.rates:
            rate = float(options.get(f"{fault}_rate", 0.0))
            if not 0.0 <= rate <= 1.0:
                raise SerialException(f"{url}: {fault}_rate must be within 0..1")
            self.rates[fault] = rate
        self._rng = np.random.default_rng(int(options.get("seed", 0)))

    @property
    def in_waiting(self) -> int:
        self._check_link()
        if not self._out and self.streaming:
            self._emit_data_frame()
        return len(self._out)

    def read(self, size: int = 1) -> bytes:
        self._check_link()
        # Bounded, so a device that loses every frame looks silent instead of hanging the host.
        for _ in range(size // FRAME_OVERHEAD + 16):
            if not self.streaming or len(self._out) >= size:
                break
            self._emit_data_frame()
        if len(self._out) < size:
            # A real port waits out its timeout for bytes that will never come.
            if self._timeout is None:
                raise SerialException(f"{self.port}: read would block forever (timeout=None)")
            time.sleep(self._timeout)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def write(self, data: bytes) -> int:
        self._check_link()
        data = to_bytes(data)
        for frame in self._commands.feed(data):
            self._reply(frame)
        return len(data)

    def reset_input_buffer(self) -> None:
        self._check_link()
        self._out.clear()

    def reset_output_buffer(self) -> None:
        self._check_link()

    @property
    def out_waiting(self) -> int:
        return 0

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    # -- fault injection ------------------------------------------------------------------

    def inject(self, fault: str, count: int = 1) -> None:
        """Apply `fault` to the next `count` occasions.

        drop: a DATA frame is never sent (its sequence number is used up); corrupt: one
        payload byte of a DATA frame is flipped after its CRC; noise: random bytes precede a
        DATA frame; garble: a reply's bytes after the sync are randomized; timeout: a command
        is swallowed without a reply; disconnect: every later read and write fails.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self._pending[fault] += count

    def _fault(self, fault: str) -> bool:
        if self._pending[fault]:
            self._pending[fault] -= 1
        elif not (self.rates.get(fault) and self._rng.random() < self.rates[fault]):
            return False
        self.faults_applied[fault] += 1
        return True

    def _check_link(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()
        if self._pending["disconnect"]:
            raise SerialException(f"{self.port}: device disconnected (injected)")

    # -- firmware -------------------------------------------------------------------------

    def _emit_data_frame(self) -> None:
        assert self.bench is not None
        # Sampling the device at the bit rate is the same telegraph process as sampling at
        # the clock and keeping every `interval`-th sample, at 1/interval of the cost.
        volts, _ = self.bench.sample(self.channel, self.frame_bits, self.clock_hz / self.interval)
        bits = (volts > self.threshold_uv * 1e-6).astype(np.uint8)
        frame = bytearray(encode_frame(FrameType.DATA, self.data_seq, encode_bits(bits)))
        self.data_seq = (self.data_seq + 1) % SEQ_MOD
        if self._fault("drop"):
            return
        if self._fault("corrupt"):
            frame[int(self._rng.integers(9, len(frame) - 2))] ^= 0xFF
        if self._fault("noise"):
            self._out += (
                self._rng.integers(0, 256, int(self._rng.integers(1, 64)))
                .astype(np.uint8)
                .tobytes()
            )
        self._out += frame

    def _reply(self, command: Frame) -> None:
        if self._fault("timeout"):
            return
        result = self._execute(command)
        if isinstance(result, ErrorCode):
            frame = encode_frame(FrameType.NAK, command.seq, bytes([command.type, result]))
        else:
            frame = encode_frame(FrameType.ACK, command.seq, bytes([command.type]) + result)
        if self._fault("garble"):
            noise = self._rng.integers(0, 256, len(frame) - 2).astype(np.uint8).tobytes()
            frame = frame[:2] + noise
        self._out += frame

    def _execute(self, command: Frame) -> bytes | ErrorCode:
        """Apply one command; the ACK result bytes, or the NAK reason."""
        kind, payload = command.type, command.payload
        expected_length = {
            FrameType.IDENTIFY: 0,
            FrameType.SET_INTERVAL: 4,
            FrameType.SET_THRESHOLD: 4,
            FrameType.START: 0,
            FrameType.STOP: 0,
        }
        if kind not in expected_length:
            return ErrorCode.UNKNOWN_COMMAND
        if len(payload) != expected_length[kind]:
            return ErrorCode.BAD_LENGTH
        if kind == FrameType.IDENTIFY:
            text = IDENTITY.format(bench=self.bench_name, channel=self.channel)
            return struct.pack("<I", self.clock_hz) + text.encode("ascii")
        if kind == FrameType.START:
            if not self.streaming:
                self.streaming, self.data_seq = True, 0
            return b""
        if kind == FrameType.STOP:
            self.streaming = False
            return struct.pack("<H", self.data_seq)
        if self.streaming:
            return ErrorCode.BUSY
        if kind == FrameType.SET_INTERVAL:
            (ticks,) = struct.unpack("<I", payload)
            if not 1 <= ticks <= MAX_INTERVAL:
                return ErrorCode.OUT_OF_RANGE
            self.interval = ticks
            return struct.pack("<I", ticks)
        (microvolts,) = struct.unpack("<i", payload)
        if abs(microvolts) > DAC_LIMIT_UV:
            return ErrorCode.OUT_OF_RANGE
        self.threshold_uv = round(microvolts / DAC_STEP_UV) * DAC_STEP_UV
        return struct.pack("<i", self.threshold_uv)


register()
