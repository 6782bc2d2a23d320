"""Tektronix 4, 5 and 6 Series MSO oscilloscopes (MSO44/46, MSO54/56/58, MSO64/66/68, B and LP).

Commands follow the 4/5/6 Series MSO Programmer Manual. A record is one acquisition sequence
(`:ACQuire:STOPAfter SEQuence;:ACQuire:STATE ON`, synchronised with `*OPC?`); `fetch` moves one
channel with `:DATa:SOUrce`/`:DATa:ENCdg`/`:WFMOutpre:BYT_Nr`/`:DATa:STARt`/`:DATa:STOP` and
`:CURVe?`, an IEEE 488.2 block of signed codes (RIBinary big-endian, SRIbinary little-endian;
1 or 2 bytes) or ASCII codes, scaled by the `:WFMOutpre:` fields:

    volts[i] = (code[i] − YOFf)·YMUlt + YZEro
    time[i]  = XZEro + (i − PT_Off)·XINcr

That transfer is the one the DPO/MSO 5000 and 7000 series speak too; their channel display and
horizontal menus differ, so their *IDN? is not claimed here.

Tektronix scopes have no `:SYSTem:ERRor?`: `*ESR?` releases the events behind the standard event
status register to the event queue, and `EVMsg?` reads them one at a time (`113,"Undefined
header; ..."`, `0,"No events to report - queue empty"`). Events 401-405 (power on, operation
complete, ...) and warnings (5xx, 6xx) are reports, not errors.

    scope = TektronixMSO(rm.open_resource("USB0::0x0699::0x0522::C012345::INSTR"))
    scope.set_vertical(1, scale_v=0.025, offset_v=0.15)
    scope.configure_record(points=1_000_000, sample_rate=10e6)
    scope.digitize(1)
    wave = scope.fetch(1)                 # 2-byte signed codes, their scale and the sample rate
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvisa
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

DIVISIONS = 10  # horizontal divisions of the record
WIDTHS = {"byte": 1, "word": 2, "ascii": 2}  # bytes per point (`:WFMOutpre:BYT_Nr`)
# The waveform fields `fetch` reads, in one message (field names as the manual spells them).
PREAMBLE_FIELDS = (
    "ENCdg",
    "BN_Fmt",
    "BYT_Or",
    "BYT_Nr",
    "NR_Pt",
    "XINcr",
    "XZEro",
    "PT_Off",
    "YMUlt",
    "YOFf",
    "YZEro",
)
PREAMBLE_QUERY = ":WFMOutpre:" + ";".join(f"{field}?" for field in PREAMBLE_FIELDS)


@dataclass(frozen=True)
class Preamble:
    """The `:WFMOutpre:` fields of the waveform `:DATa:SOUrce` names."""

    encoding: str  # BINARY or ASCII
    binary_format: str  # RI (signed) or RP (positive)
    byte_order: str  # MSB or LSB
    width: int
    points: int
    x_increment: float
    x_zero: float
    point_offset: float
    y_multiplier: float
    y_offset: float
    y_zero: float

    @classmethod
    def parse(cls, text: str) -> Preamble:
        fields = text.split(";")
        if len(fields) != len(PREAMBLE_FIELDS):
            raise ValueError(
                f"{len(PREAMBLE_FIELDS)} waveform fields expected, got {len(fields)}: {text[:80]!r}"
            )
        words = [field.strip().strip('"').upper() for field in fields[:3]]
        numbers = [float(field) for field in fields[3:]]
        preamble = cls(*words, int(numbers[0]), int(numbers[1]), *numbers[2:])
        if (
            preamble.encoding not in ("BINARY", "ASCII")
            or preamble.width not in (1, 2)
            or preamble.points < 0
            or preamble.x_increment <= 0
        ):
            raise ValueError(f"impossible waveform fields {text[:80]!r}")
        return preamble


class Channel(ChannelSettings):
    """One analog input: `scope.channel(2).offset = 0.1`."""

    scale = Setting(":CH{channel}:SCAle", "vertical scale in V/div", Number(1e-4, 10))
    offset = Setting(
        ":CH{channel}:OFFSet", "volts subtracted before the display", Number(-100, 100)
    )
    position = Setting(":CH{channel}:POSition", "trace position in divisions", Number(-5, 5))
    coupling = Setting(
        ":CH{channel}:COUPling",
        "input coupling",
        Choice({"dc": "DC", "ac": "AC", "dc_reject": "DCREJect"}),
    )
    termination = Setting(":CH{channel}:TERmination", "input impedance in Ω", Number(50, 1e6))
    display = Setting(":DISplay:GLObal:CH{channel}:STATE", "channel shown and acquired", Flag())


@register("tektronix-mso", role="scope")
class TektronixMSO(ScpiInstrument):
    """A Tektronix 4/5/6 Series MSO: channels, horizontal, one-sequence acquisitions, waveforms."""

    IDN_PATTERN = r"^TEKTRONIX,MSO[456]\dB?(LP)?,"
    CHANNELS = 4
    ERROR_PRELUDE = "*ESR?"
    ERROR_QUERY = "EVMsg?"
    NO_ERROR_CODES = (0, 1)  # queue empty / new events pending *ESR?
    NOT_ERRORS = (range(401, 406), range(500, 700))
    TIMEOUT_ECHOES = (410, 420)
    MAX_ERRORS = 33  # the event queue's depth

    horizontal_mode = Setting(
        ":HORizontal:MODE",
        "AUTO: scale and record length set the rate",
        Choice({"auto": "AUTO", "manual": "MANual"}),
    )
    horizontal_scale = Setting(":HORizontal:SCAle", "horizontal scale in s/div", Number(1e-12, 1e3))
    record_length = Setting(":HORizontal:RECOrdlength", "points per record", Integer(1, 10**9))
    sample_rate = Setting(":HORizontal:SAMPLERate", "sample rate in Sa/s", Number(), readonly=True)
    acquire_mode = Setting(
        ":ACQuire:MODe",
        "acquisition mode",
        Choice(
            {
                "sample": "SAMple",
                "peak": "PEAKdetect",
                "high_resolution": "HIRes",
                "average": "AVErage",
            }
        ),
    )
    average_count = Setting(":ACQuire:NUMAVg", "acquisitions per average", Integer(2, 10240))
    stop_after = Setting(
        ":ACQuire:STOPAfter",
        "one sequence or run until stopped",
        Choice({"sequence": "SEQuence", "run_stop": "RUNSTop"}),
    )
    acquiring = Setting(":ACQuire:STATE", "acquisition running", Flag(), readonly=True)

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        *,
        little_endian: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(resource, **kwargs)
        # SRIbinary (LSB first) is the PC's own order; RIBinary (MSB first) is the scope's default.
        self.encoding = "SRIbinary" if little_endian else "RIBinary"
        # Replies without headers: what every parser here expects, whatever the scope was left at.
        self.write(":HEADer OFF")

    def channel(self, number: int) -> Channel:
        if not 1 <= number <= self.CHANNELS:
            raise InstrumentError(f"{self.name}: no channel {number} (1 to {self.CHANNELS})")
        return Channel(self, number)

    def set_vertical(self, channel: int, scale_v: float, offset_v: float) -> None:
        """`scale_v` per division with `offset_v` at the screen centre (position 0 divisions)."""
        frame = self.channel(channel)
        frame.scale = scale_v
        frame.position = 0
        frame.offset = offset_v

    def configure_record(self, points: int, sample_rate: float) -> None:
        """A record of `points` over 10 divisions at `sample_rate` (AUTO horizontal mode).

        The scope may lower the rate (and the record) to what it can do; `fetch` reports both.
        """
        self.horizontal_mode = "auto"
        self.record_length = points
        self.horizontal_scale = points / (DIVISIONS * sample_rate)

    def run(self) -> None:
        """Acquire continuously."""
        self.write(":ACQuire:STOPAfter RUNSTop;:ACQuire:STATE RUN")

    def stop(self) -> None:
        self.write(":ACQuire:STATE STOP")

    def digitize(self, *channels: int, timeout_ms: int = 30_000) -> None:
        """Acquire one record (one sequence) with `channels` shown, and wait until it is done."""
        for number in channels:
            self.channel(number)
        shown = [f":DISplay:GLObal:CH{number}:STATE ON" for number in channels]
        command = ";".join([*shown, ":ACQuire:STOPAfter SEQuence", ":ACQuire:STATE ON"])
        self.write(command, check=False)
        self.wait_complete(timeout_ms)
        if self.check_after_write:
            self.check_errors(command)

    def preamble(self) -> Preamble:
        return self.query(PREAMBLE_QUERY, Preamble.parse)

    def fetch(
        self, channel: int = 1, *, format: str = "word", points: int | None = None
    ) -> Waveform:
        """Transfer a channel of the last record: "byte" or "word" codes, or "ascii" codes.

        `points=None` transfers the whole record, else its first `points` points.
        """
        self.channel(channel)
        if format not in WIDTHS:
            raise InstrumentError(f"{self.name}: waveform format must be one of {list(WIDTHS)}")
        stop = self.record_length if points is None else Integer(1, 10**9).format(points, self.name)
        encoding = "ASCIi" if format == "ascii" else self.encoding
        self.write(
            f":DATa:SOUrce CH{channel};:DATa:ENCdg {encoding};"
            f":WFMOutpre:BYT_Nr {WIDTHS[format]};:DATa:STARt 1;:DATa:STOP {stop}"
        )
        preamble = self.preamble()
        expected = ("ASCII" if format == "ascii" else "BINARY", WIDTHS[format])
        if (preamble.encoding, preamble.width) != expected:
            raise InstrumentError(
                f"{self.name}: asked for {expected[0]} {expected[1]}-byte data, the scope says"
                f" {preamble.encoding} {preamble.width}-byte"
            )
        dtype = np.int8 if preamble.width == 1 else np.int16
        if format == "ascii":
            codes = self.query(":CURVe?", _ascii_codes).astype(dtype)
        else:
            if preamble.binary_format != "RI":
                raise InstrumentError(f"{self.name}: expected signed data, got {preamble}")
            codes = self.query_block(
                ":CURVe?",
                "b" if preamble.width == 1 else "h",
                big_endian=preamble.byte_order == "MSB",
            ).astype(dtype, copy=False)
        if len(codes) != preamble.points:
            raise InstrumentError(
                f"{self.name}: channel {channel} sent {len(codes)} points, NR_Pt says"
                f" {preamble.points}"
            )
        # volts = (code − YOFf)·YMUlt + YZEro = code·YMUlt + (YZEro − YOFf·YMUlt)
        offset = preamble.y_zero - preamble.y_offset * preamble.y_multiplier
        volts = codes.astype(np.float32) * np.float32(preamble.y_multiplier) + np.float32(offset)
        return Waveform(
            channel,
            volts,
            sample_rate=1.0 / preamble.x_increment,
            codes=codes,
            volts_per_code=preamble.y_multiplier,
            offset_volts=offset,
            t0=preamble.x_zero - preamble.point_offset * preamble.x_increment,
        )


def _ascii_codes(text: str) -> np.ndarray:
    """ASCII curve data: digitizing levels separated by commas."""
    if not text:
        return np.zeros(0, np.int32)
    return np.array(text.split(","), dtype=np.int32)
