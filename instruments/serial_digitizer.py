"""Driver for the serial bit digitizer: a microcontroller that samples a comparator on the
s-MTJ readout and streams the bits in CRC-checked frames (protocol: docs/serial-protocol.md).

Lost frames (sequence gaps) and corrupt frames (CRC failures) are counted in `LinkStats` and
never merged away: `read` returns `BitChunk`s, and a chunk that does not continue the bits
before it says so with `gap_before`. One driver instance belongs to one thread.
"""

from __future__ import annotations

import binascii
import logging
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

import numpy as np
import serial

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)
T = TypeVar("T")

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<2sBHH")  # sync, type, seq, payload length
CRC_SIZE = 2
MAX_PAYLOAD = 1026  # a DATA frame of 8192 bits: 2-byte bit count + 1024 bytes
MAX_FRAME_BITS = 8 * (MAX_PAYLOAD - 2)
SEQ_MOD = 1 << 16
# Longest a single port.read may block, so deadlines are kept without a reader thread.
POLL_S = 0.05


class FrameType(IntEnum):
    """The type byte: commands (host to device) below 0x80, device frames from 0x80."""

    IDENTIFY = 0x01
    SET_INTERVAL = 0x02
    SET_THRESHOLD = 0x03
    START = 0x04
    STOP = 0x05
    DATA = 0x80
    ACK = 0x81
    NAK = 0x82


class ErrorCode(IntEnum):
    """Second payload byte of a NAK."""

    UNKNOWN_COMMAND = 0x01
    BAD_LENGTH = 0x02
    OUT_OF_RANGE = 0x03
    BUSY = 0x04


class DigitizerError(SmtjlabError):
    """The digitizer refused a command, broke the protocol, or the link failed."""


class DigitizerTimeout(DigitizerError):
    """No valid reply or data frame arrived in time."""


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def encode_frame(frame_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Sync, header, payload and the little-endian CRC over header-after-sync and payload."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(SYNC, frame_type, seq % SEQ_MOD, len(payload)) + payload
    return body + struct.pack("<H", crc16(body[len(SYNC) :]))


def encode_bits(bits: np.ndarray) -> bytes:
    """DATA payload: uint16 bit count, then the bits packed LSB-first (as acquisition.packing)."""
    bits = np.asarray(bits, dtype=np.uint8)
    if len(bits) > MAX_FRAME_BITS:
        raise ValueError(f"{len(bits)} bits exceed {MAX_FRAME_BITS} per frame")
    return struct.pack("<H", len(bits)) + np.packbits(bits, bitorder="little").tobytes()


def decode_bits(payload: bytes) -> np.ndarray:
    """Inverse of `encode_bits`; a payload whose length disagrees with its count raises."""
    if len(payload) < 2:
        raise DigitizerError("DATA frame without a bit count")
    (count,) = struct.unpack_from("<H", payload)
    if len(payload) != 2 + (count + 7) // 8:
        raise DigitizerError(f"DATA frame claims {count} bits but carries {len(payload) - 2} bytes")
    packed = np.frombuffer(payload, dtype=np.uint8, offset=2)
    return np.unpackbits(packed, count=count, bitorder="little")


class FrameParser:
    """Turns a byte stream into frames, resynchronizing on the sync bytes after any garbage.

    `crc_errors` counts candidate frames whose CRC failed; `discarded_bytes` counts bytes that
    belonged to no valid frame. A payload that happens to contain the sync pattern can, rarely,
    add one more CRC error while the parser scans through a corrupt frame.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.crc_errors = 0
        self.discarded_bytes = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buffer = self._buffer
        while True:
            start = buffer.find(SYNC)
            if start < 0:
                # Keep a trailing first sync byte: its partner may be in the next read.
                keep = 1 if buffer[-1:] == SYNC[:1] else 0
                self._discard(len(buffer) - keep)
                return frames
            self._discard(start)
            if len(buffer) < HEADER.size:
                return frames
            _, frame_type, seq, length = HEADER.unpack_from(buffer)
            if length > MAX_PAYLOAD:
                self._discard(1)
                continue
            end = HEADER.size + length + CRC_SIZE
            if len(buffer) < end:
                return frames
            (crc,) = struct.unpack_from("<H", buffer, end - CRC_SIZE)
            if crc != crc16(bytes(buffer[len(SYNC) : end - CRC_SIZE])):
                self.crc_errors += 1
                self._discard(1)
                continue
            frames.append(Frame(frame_type, seq, bytes(buffer[HEADER.size : end - CRC_SIZE])))
            del buffer[:end]

    def _discard(self, count: int) -> None:
        if count:
            del self._buffer[:count]
            self.discarded_bytes += count


@dataclass(frozen=True)
class Identity:
    """What IDENTIFY returns: the comparator clock and a free-form identity string."""

    clock_hz: int
    text: str


@dataclass(frozen=True)
class BitChunk:
    """Consecutive bits. `gap_before`: they do not continue the bits returned before them,
    because a run started (`lost_frames` == 0) or frames were lost (`lost_frames` > 0)."""

    bits: np.ndarray
    gap_before: bool
    lost_frames: int


@dataclass
class LinkStats:
    """Running counts for one driver; nothing is dropped without landing here."""

    frames: int = 0  # good DATA frames
    bits: int = 0  # bits in those frames
    lost_frames: int = 0  # missing sequence numbers (including corrupt frames)
    gaps: int = 0  # places where frames were missing
    crc_errors: int = 0
    discarded_bytes: int = 0  # bytes outside any valid frame
    unexpected_frames: int = 0  # stray replies, unknown types, DATA while stopped
    retries: int = 0  # commands re-sent after no valid reply
    discarded_bits: int = 0  # unread bits dropped by start()


@dataclass
class _Segment:
    parts: list[np.ndarray] = field(default_factory=list)
    gap_before: bool = False
    lost_frames: int = 0


class SerialDigitizer:
    """The digitizer behind one pyserial port (a real port or a URL such as smtj-replay://)."""

    def __init__(self, port: serial.SerialBase, *, timeout: float = 1.0, retries: int = 1) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.stats = LinkStats()
        self.running = False
        self._parser = FrameParser()
        self._replies: dict[int, Frame] = {}
        self._next_seq = 0
        self._expected_seq = 0
        self._accepting = False  # DATA frames belong to a run the host asked for
        self._break = True  # the next bits start a new chunk with gap_before
        self._lost_before = 0
        self._segments: deque[_Segment] = deque()
        self._buffered = 0
        self.port.timeout = min(timeout, POLL_S)
        self._io(self.port.reset_input_buffer)

    @classmethod
    def open(
        cls, url: str, *, baudrate: int = 921_600, timeout: float = 1.0, retries: int = 1
    ) -> SerialDigitizer:
        """Open a port by name or URL (`serial.serial_for_url`) and wrap it."""
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=min(timeout, POLL_S))
        except (serial.SerialException, ValueError) as exc:
            raise DigitizerError(f"serial digitizer {url}: cannot open: {exc}") from exc
        return cls(port, timeout=timeout, retries=retries)

    @property
    def name(self) -> str:
        return str(self.port.port)

    def identify(self) -> Identity:
        result = self._command(FrameType.IDENTIFY)
        if len(result) < 4:
            raise DigitizerError(f"serial digitizer {self.name}: IDENTIFY reply too short")
        (clock_hz,) = struct.unpack_from("<I", result)
        return Identity(clock_hz, result[4:].decode("ascii", errors="replace"))

    def set_interval(self, ticks: int) -> int:
        """Sample the comparator every `ticks` clock ticks; returns the interval applied."""
        if not 1 <= ticks < 1 << 32:
            raise DigitizerError(f"serial digitizer {self.name}: interval {ticks} not in 1..2^32-1")
        result = self._command(FrameType.SET_INTERVAL, struct.pack("<I", ticks))
        return struct.unpack("<I", self._exact(result, 4, "SET_INTERVAL"))[0]

    def set_threshold(self, volts: float) -> float:
        """Set the comparator threshold; returns the threshold applied (the DAC rounds)."""
        microvolts = round(volts * 1e6)
        if not -(1 << 31) <= microvolts < 1 << 31:
            raise DigitizerError(f"serial digitizer {self.name}: threshold {volts} V unencodable")
        result = self._command(FrameType.SET_THRESHOLD, struct.pack("<i", microvolts))
        return struct.unpack("<i", self._exact(result, 4, "SET_THRESHOLD"))[0] * 1e-6

    def start(self) -> None:
        """Start a run. Unread bits from an earlier run are dropped (counted in discarded_bits)."""
        self.stats.discarded_bits += self._buffered
        self._segments.clear()
        self._buffered = 0
        self._expected_seq = 0
        self._break, self._lost_before = True, 0
        self._accepting = True
        try:
            self._command(FrameType.START)
        except BaseException:
            self._accepting = False
            raise
        self.running = True

    def stop(self) -> None:
        """Stop the run. Bits already received stay readable; frames lost at the end of the
        run are counted from the frame total the device reports."""
        result = self._command(FrameType.STOP)
        (sent,) = struct.unpack("<H", self._exact(result, 2, "STOP"))
        self._note_loss((sent - self._expected_seq) % SEQ_MOD)
        self._accepting = False
        self.running = False

    def read(self, n_bits: int) -> list[BitChunk]:
        """Exactly `n_bits` bits, split into chunks wherever the stream was not continuous.

        Raises DigitizerTimeout when no DATA frame arrives for `timeout` seconds, and
        DigitizerError when the run is stopped and fewer bits are buffered.
        """
        if n_bits < 0:
            raise ValueError("n_bits must be non-negative")
        last_frame = time.monotonic()
        while self._buffered < n_bits:
            if not self.running:
                raise DigitizerError(
                    f"serial digitizer {self.name}: stopped with {self._buffered} bits"
                    f" buffered, {n_bits} requested"
                )
            frames = self.stats.frames
            self._pump()
            if self.stats.frames > frames:
                last_frame = time.monotonic()
            elif time.monotonic() - last_frame > self.timeout:
                raise DigitizerTimeout(
                    f"serial digitizer {self.name}: no data frame for {self.timeout:g} s"
                )
        return self._take(n_bits)

    def close(self) -> None:
        """Stop a run in progress (best effort) and close the port."""
        try:
            if self.running:
                self.stop()
        finally:
            self.port.close()

    def __enter__(self) -> SerialDigitizer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            self.close()
        except DigitizerError as exc:
            if exc_type is None:
                raise
            # Don't hide the exception already on its way out behind the failed stop.
            log.warning("%s", exc)

    # -- link -------------------------------------------------------------------------------

    def _command(self, command: FrameType, payload: bytes = b"") -> bytes:
        """Send a command and return the ACK's result bytes, re-sending after a lost reply."""
        for attempt in range(self.retries + 1):
            seq = self._next_seq
            self._next_seq = (seq + 1) % SEQ_MOD
            self._io(self.port.write, encode_frame(command, seq, payload))
            reply = self._await_reply(seq)
            if reply is None:
                if attempt < self.retries:
                    self.stats.retries += 1
                    log.debug("%s: no reply to %s, re-sending", self.name, command.name)
                continue
            if not reply.payload or reply.payload[0] != command:
                raise DigitizerError(
                    f"serial digitizer {self.name}: reply to {command.name} names another command"
                )
            if reply.type == FrameType.NAK:
                code = reply.payload[1] if len(reply.payload) > 1 else 0
                try:
                    reason = ErrorCode(code).name
                except ValueError:
                    reason = f"error code {code}"
                raise DigitizerError(
                    f"serial digitizer {self.name}: {command.name} refused: {reason}"
                    f" (sent {payload.hex() or 'no payload'})"
                )
            return reply.payload[1:]
        raise DigitizerTimeout(
            f"serial digitizer {self.name}: no valid reply to {command.name} within"
            f" {self.timeout:g} s ({self.retries + 1} attempts)"
        )

    def _await_reply(self, seq: int) -> Frame | None:
        deadline = time.monotonic() + self.timeout
        while seq not in self._replies:
            if time.monotonic() >= deadline:
                return None
            self._pump()
        reply = self._replies.pop(seq)
        # Replies to earlier attempts that arrive late are strays.
        self.stats.unexpected_frames += len(self._replies)
        self._replies.clear()
        return reply

    def _pump(self) -> None:
        """One port read (blocking at most POLL_S), with every complete frame dispatched."""
        waiting = self._io(lambda: self.port.in_waiting)
        data = self._io(self.port.read, max(1, waiting))
        if not data:
            return
        frames = self._parser.feed(data)
        self.stats.crc_errors = self._parser.crc_errors
        self.stats.discarded_bytes = self._parser.discarded_bytes
        for frame in frames:
            if frame.type == FrameType.DATA and self._accepting:
                self._on_data(frame)
            elif frame.type in (FrameType.ACK, FrameType.NAK):
                self._replies[frame.seq] = frame
            else:
                self.stats.unexpected_frames += 1

    def _io(self, call: Callable[..., T], *args: object) -> T:
        try:
            return call(*args)
        except serial.SerialException as exc:
            raise DigitizerError(f"serial digitizer {self.name}: {exc}") from exc

    # -- bits -------------------------------------------------------------------------------

    def _on_data(self, frame: Frame) -> None:
        bits = decode_bits(frame.payload)
        self._note_loss((frame.seq - self._expected_seq) % SEQ_MOD)
        self._expected_seq = (frame.seq + 1) % SEQ_MOD
        if self._break or not self._segments:
            self._segments.append(_Segment(gap_before=self._break, lost_frames=self._lost_before))
            self._break, self._lost_before = False, 0
        segment = self._segments[-1]
        segment.parts.append(bits)
        self._buffered += len(bits)
        self.stats.frames += 1
        self.stats.bits += len(bits)

    def _note_loss(self, lost: int) -> None:
        if lost:
            log.debug("%s: %d frame(s) lost before seq %d", self.name, lost, self._expected_seq)
            self.stats.lost_frames += lost
            self.stats.gaps += 1
            self._break = True
            self._lost_before += lost

    def _take(self, n_bits: int) -> list[BitChunk]:
        # Only a gap or a run start opens a segment after the first, so segments map 1:1 to chunks.
        chunks: list[BitChunk] = []
        needed = n_bits
        while needed:
            segment = self._segments[0]
            bits = np.concatenate(segment.parts) if len(segment.parts) > 1 else segment.parts[0]
            chunks.append(BitChunk(bits[:needed], segment.gap_before, segment.lost_frames))
            if bits.size > needed:
                segment.parts = [bits[needed:]]
                segment.gap_before, segment.lost_frames = False, 0
            else:
                self._segments.popleft()
            needed -= chunks[-1].bits.size
        self._buffered -= n_bits
        return chunks

    def _exact(self, result: bytes, size: int, command: str) -> bytes:
        if len(result) != size:
            raise DigitizerError(
                f"serial digitizer {self.name}: {command} reply has {len(result)} bytes, not {size}"
            )
        return result
