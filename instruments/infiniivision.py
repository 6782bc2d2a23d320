"""Keysight InfiniiVision oscilloscopes (DSO-X / MSO-X 2000, 3000, 4000 series) over SCPI.

Commands follow the InfiniiVision X-Series Programmer's Guides. A record is taken with
`:DIGitize` and synchronised with `*OPC?`; `fetch` transfers one channel in BYTE or WORD
(IEEE 488.2 binary blocks) or ASCii and converts it with `:WAVeform:PREamble?`:

    volts[i] = (code[i] − yreference)·yincrement + yorigin
    time[i]  = (i − xreference)·xincrement + xorigin

    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    scope.channel(1).scale = 0.05
    scope.configure_record(points=1_000_000, sample_rate=100e6)
    scope.digitize(1, 2)
    wave = scope.fetch(1, points=1_000_000)      # WORD by default
    wave.volts, wave.times, wave.sample_rate
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyvisa
from pyvisa import util
from smtjlab.instruments.registry import register
from smtjlab.instruments.roles import Waveform
from smtjlab.instruments.scpi import (
    ChannelSettings,
    Choice,
    Flag,
    InstrumentError,
    Integer,
    Number,
    ScpiInstrument,
    Setting,
)

FORMATS = {"byte": "BYTE", "word": "WORD", "ascii": "ASCii"}
_PREAMBLE_FORMATS = {0: "byte", 1: "word", 4: "ascii"}
_PREAMBLE_TYPES = {0: "normal", 1: "peak", 2: "average", 3: "high_resolution"}


@dataclass(frozen=True)
class Preamble:
    """The ten fields of `:WAVeform:PREamble?`."""

    format: str
    acquire_type: str
    points: int
    count: int
    x_increment: float
    x_origin: float
    x_reference: float
    y_increment: float
    y_origin: float
    y_reference: float

    @classmethod
    def parse(cls, text: str) -> Preamble:
        fields = text.split(",")
        if len(fields) != 10:
            raise ValueError(f"a preamble has 10 fields, this one {len(fields)}: {text[:80]!r}")
        numbers = [float(field) for field in fields]
        if int(numbers[0]) not in _PREAMBLE_FORMATS or numbers[2] < 0 or numbers[4] <= 0:
            raise ValueError(f"impossible preamble {text[:80]!r}")
        return cls(
            _PREAMBLE_FORMATS[int(numbers[0])],
            _PREAMBLE_TYPES.get(int(numbers[1]), "normal"),
            int(numbers[2]),
            int(numbers[3]),
            *numbers[4:],
        )


class Channel(ChannelSettings):
    """One analog input: `scope.channel(2).offset = 0.1`."""

    scale = Setting(":CHANnel{channel}:SCALe", "vertical scale in V/div", Number(1e-3, 5))
    range = Setting(":CHANnel{channel}:RANGe", "full-screen span (8 div) in V", Number(8e-3, 40))
    offset = Setting(":CHANnel{channel}:OFFSet", "volts at the screen centre", Number(-40, 40))
    coupling = Setting(
        ":CHANnel{channel}:COUPling", "input coupling", Choice({"dc": "DC", "ac": "AC"})
    )
    display = Setting(":CHANnel{channel}:DISPlay", "channel on", Flag())
    probe = Setting(":CHANnel{channel}:PROBe", "probe attenuation ratio", Number(0.001, 10000))


@register("infiniivision", role="scope")
class InfiniiVision(ScpiInstrument):
    """A Keysight/Agilent InfiniiVision scope: channels, timebase, acquisition, waveforms."""

    IDN_PATTERN = r"^(KEYSIGHT|AGILENT) TECHNOLOGIES,[DM]SO-?X ?\d"
    CHANNELS = 4

    timebase_scale = Setting(":TIMebase:SCALe", "horizontal scale in s/div", Number(1e-9, 50))
    timebase_range = Setting(":TIMebase:RANGe", "full-screen time (10 div) in s", Number(1e-8, 500))
    timebase_position = Setting(
        ":TIMebase:POSition", "trigger to reference point in s", Number(-500, 500)
    )
    acquire_type = Setting(
        ":ACQuire:TYPE",
        "acquisition mode",
        Choice(
            {
                "normal": "NORMal",
                "average": "AVERage",
                "high_resolution": "HRESolution",
                "peak": "PEAK",
            }
        ),
    )
    acquire_count = Setting(":ACQuire:COUNt", "averages in AVERage mode", Integer(2, 65536))
    acquire_points = Setting(":ACQuire:POINts", "points in the record", Integer(), readonly=True)
    sample_rate = Setting(":ACQuire:SRATe", "sample rate in Sa/s", Number(), readonly=True)

    def __init__(self, resource: pyvisa.resources.MessageBasedResource, **kwargs) -> None:
        super().__init__(resource, **kwargs)

    def channel(self, number: int) -> Channel:
        if not 1 <= number <= self.CHANNELS:
            raise InstrumentError(f"{self.name}: no channel {number} (1 to {self.CHANNELS})")
        return Channel(self, number)

    def set_vertical(self, channel: int, scale_v: float, offset_v: float) -> None:
        frame = self.channel(channel)
        frame.scale = scale_v
        frame.offset = offset_v

    def configure_record(self, points: int, sample_rate: float) -> None:
        """Set the timebase so one record of `points` spans points/sample_rate seconds.

        The scope picks its own sample rate for the range; `fetch` reports the one it used.
        """
        self.timebase_range = points / sample_rate

    def run(self) -> None:
        self.write(":RUN")

    def stop(self) -> None:
        self.write(":STOP")

    def single(self) -> None:
        self.write(":SINGle")

    def digitize(self, *channels: int, timeout_ms: int | None = None) -> None:
        """Acquire one record of `channels` (default: those displayed) and wait for it.

        `*OPC?` answers once the record is complete, so its wait is derived from the record:
        the session timeout (what any prompt reply may take) plus twice the timebase range (the
        record itself, and as long again for the trigger). A wait that times out or answers
        nonsense re-sends `:DIGitize` after a device clear, `retries` times.
        """
        for number in channels:
            self.channel(number)
        command = ":DIGitize" + (
            " " + ",".join(f"CHANnel{number}" for number in channels) if channels else ""
        )
        if timeout_ms is None:
            timeout_ms = self.resource.timeout + math.ceil(2000 * self.timebase_range)

        def exchange() -> None:
            self.resource.write(command)
            reply = self.resource.query("*OPC?").strip()
            if reply != "1":
                raise ValueError(f"*OPC? answered {reply!r}, not '1'")

        previous = self.resource.timeout
        self.resource.timeout = timeout_ms
        try:
            self.transact(command, exchange)
        finally:
            self.resource.timeout = previous
        if self.check_after_write:
            self.check_errors(command)

    def preamble(self) -> Preamble:
        return self.query(":WAVeform:PREamble?", Preamble.parse)

    def fetch(
        self, channel: int = 1, *, format: str = "word", points: int | None = None
    ) -> Waveform:
        """Transfer a channel of the last record; `points=None` asks for all of it."""
        self.channel(channel)
        if format not in FORMATS:
            raise InstrumentError(f"{self.name}: waveform format must be one of {list(FORMATS)}")
        count = "MAXimum" if points is None else Integer(100, 8_000_000).format(points, self.name)
        self.write(
            f":WAVeform:SOURce CHANnel{channel};:WAVeform:FORMat {FORMATS[format]};"
            ":WAVeform:BYTeorder LSBFirst;:WAVeform:UNSigned ON;"
            f":WAVeform:POINts:MODE RAW;:WAVeform:POINts {count}"
        )
        preamble = self.preamble()
        if preamble.format != format:
            raise InstrumentError(
                f"{self.name}: asked for {format}, preamble says {preamble.format}"
            )
        if format == "ascii":
            volts = self._fetch_ascii().astype(np.float32)
            signed = None
        else:
            codes = self.query_block(":WAVeform:DATA?", "B" if format == "byte" else "H")
            # Codes less the reference code fit the signed type of the same width.
            signed = (codes.astype(np.int32) - int(preamble.y_reference)).astype(
                np.int8 if format == "byte" else np.int16
            )
            volts = signed.astype(np.float32) * np.float32(preamble.y_increment) + np.float32(
                preamble.y_origin
            )
        if len(volts) != preamble.points:
            raise InstrumentError(
                f"{self.name}: channel {channel} sent {len(volts)} points, preamble says"
                f" {preamble.points}"
            )
        return Waveform(
            channel,
            volts,
            sample_rate=1.0 / preamble.x_increment,
            codes=signed,
            volts_per_code=None if signed is None else preamble.y_increment,
            offset_volts=None if signed is None else preamble.y_origin,
            t0=preamble.x_origin - preamble.x_reference * preamble.x_increment,
        )

    def fetch_channels(self, channels: list[int] | tuple[int, ...], **kwargs) -> list[Waveform]:
        return [self.fetch(channel, **kwargs) for channel in channels]

    def _fetch_ascii(self) -> np.ndarray:
        def exchange() -> np.ndarray:
            self.resource.write(":WAVeform:DATA?")
            raw = self.resource.read_raw()
            offset, length = util.parse_ieee_block_header(raw, 0, True)
            body = bytes(raw[offset : offset + length])
            if len(body) != length:
                raise ValueError(f"ASCii block holds {len(body)} of {length} bytes")
            if not body:
                return np.zeros(0)
            return np.array(body.split(b","), dtype="S").astype(np.float64)

        return self.transact(":WAVeform:DATA?", exchange)
