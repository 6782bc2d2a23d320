"""A mock Tektronix MSO54 (5 Series MSO): 4 channels, 62.5 Mpts, 6.25 GSa/s, a 12-bit ADC.

Implemented from the 4/5/6 Series MSO Programmer Manual:

- `CH<x>:SCAle|OFFSet|POSition|COUPling|TERmination`, `DISplay:GLObal:CH<x>:STATE`
- `HORizontal:MODE AUTO|MANual`, `HORizontal:SCAle`, `HORizontal:RECOrdlength`,
  `HORizontal:SAMPLERate` (set in MANual mode only)
- `ACQuire:MODe SAMple|PEAKdetect|HIRes|AVErage`, `ACQuire:NUMAVg`, `ACQuire:STOPAfter
  RUNSTop|SEQuence`, `ACQuire:STATE`, `ACQuire:NUMACq?`
- `DATa:SOUrce|ENCdg|WIDth|STARt|STOP`, `WFMOutpre:BYT_Nr|BIT_Nr|ENCdg|BN_Fmt|BYT_Or`, the
  `WFMOutpre:` fields (`NR_Pt?`, `XINcr?`, `XZEro?`, `PT_Off?`, `YMUlt?`, `YOFf?`, `YZEro?`, ...),
  `WFMOutpre?` and `CURVe?`
- `HEADer`, `VERBose`, the IEEE 488.2 commands, and the Tektronix event queue: `*ESR?` releases the
  events summarised in the SESR to `EVMsg?`, `EVENT?`, `ALLEv?`, `EVQty?`. There is no
  `:SYSTem:ERRor?`.

Like the real scope: error codes are positive (113 Undefined header, 222 Data out of range, 2244
Source waveform is not active, 410/420 query errors), the power-on event 401 waits on the queue,
replies carry their headers until `HEADer OFF`, numbers are NR3 (`4.0E-9`), and `CURVe?` answers
with an IEEE 488.2 block (`#<digits><length><data>`) of signed (RI) or positive (RP) codes, MSB or
LSB first, or with ASCII codes. A code is 25 levels per division in 1 byte and 6400 in 2 bytes,
counted from the screen centre: volts = (code − YOFf)·YMUlt + YZEro with YMUlt = scale/levels,
YOFf = position·levels and YZEro = offset.

The acquisition: the record holds RECOrdlength points at RECOrdlength/(10·SCAle) Sa/s (AUTO; at
most 6.25 GSa/s, the record shrinks to fit) or at the set SAMPLERate (MANual); every displayed
channel reads `SimulatedBench.sample` of the junction it is wired to (none: 0 V). The 12-bit ADC
spans ±5.12 divisions; HIRes and AVErage give 16 bits.
"""

from __future__ import annotations

import re

import numpy as np
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.scpi_parser import (
    ScpiDevice,
    ScpiError,
    boolean,
    choice,
    number,
    one,
)

CHANNELS = 4
MIN_RECORD, MAX_RECORD = 1000, 62_500_000
MAX_SAMPLE_RATE = 6.25e9
DIVISIONS = 10
ADC_SPAN_DIV = 5.12  # the ADC's rails, in divisions either side of the centre
LEVELS_PER_DIV = {1: 25, 2: 6400}
MODE_BITS = {"SAM": 12, "PEAK": 12, "HIR": 16, "AVE": 16}
EVENT_QUEUE_SIZE = 32
# DATa:ENCdg's binary encodings -> (WFMOutpre:BN_Fmt, WFMOutpre:BYT_Or); FAStest is RIBinary.
ENCODINGS = {
    "FAS": ("RI", "MSB"),
    "RIB": ("RI", "MSB"),
    "RPB": ("RP", "MSB"),
    "SRI": ("RI", "LSB"),
    "SRP": ("RP", "LSB"),
}
ENCODING_NAMES = {("RI", "MSB"): "RIBINARY", ("RP", "MSB"): "RPBINARY"}
ENCODING_NAMES |= {("RI", "LSB"): "SRIBINARY", ("RP", "LSB"): "SRPBINARY"}
# The event queue's own replies, and the messages of the events this mock can raise.
NO_EVENTS = '0,"No events to report - queue empty"'
EVENTS_PENDING = '1,"No events to report - new events pending *ESR?"'
MESSAGES = {
    350: "Queue overflow",
    401: "Power on",
    402: "Operation complete",
    2244: "Source waveform is not active",
}
# SESR bits (the manual's Status and Events chapter).
OPC, QYE, DDE, EXE, CME, URQ, PON = 0x01, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


def _sesr_bit(code: int) -> int:
    """The SESR bit an event sets: command, execution, device or query error, or an event."""
    if 100 <= code < 200:
        return CME
    if 200 <= code < 300 or 500 <= code < 600 or 2000 <= code < 3000:
        return EXE
    if 410 <= code < 500:
        return QYE
    return {401: PON, 402: OPC, 403: URQ}.get(code, DDE)


class MockTektronixMSO(ScpiDevice):
    """The scope on the bench; what it records is what the shared s-MTJs do at their bias."""

    IDN = "TEKTRONIX,MSO54,C012345,CF:91.1CT FV:1.40.6.1226"
    SYSTEM_ERROR_QUEUE = False

    def __init__(self, bench: SimulatedBench, junctions: dict[int, int] | None = None) -> None:
        super().__init__()
        self.bench = bench
        # Which junction each input reads: CH n -> junction n−1 unless a station wires it.
        self.junctions = (
            junctions if junctions is not None else {n: n - 1 for n in range(1, bench.channels + 1)}
        )
        self.released: list[tuple[int, str]] = []  # events *ESR? made readable
        self.header = True
        self.verbose = True
        self.reset()
        self.esr = PON
        self.errors.append((401, MESSAGES[401]))
        ch = "CH#"
        self._setting(f"{ch}:SCAle", self._set_scale, lambda p, s: self._fmt(self._ch(s)["scale"]))
        self._setting(
            f"{ch}:OFFSet", self._set_offset, lambda p, s: self._fmt(self._ch(s)["offset"])
        )
        self._setting(
            f"{ch}:POSition", self._set_position, lambda p, s: self._fmt(self._ch(s)["position"])
        )
        self._setting(f"{ch}:COUPling", self._set_coupling, lambda p, s: self._ch(s)["coupling"])
        self._setting(
            f"{ch}:TERmination",
            self._set_termination,
            lambda p, s: self._fmt(self._ch(s)["termination"]),
        )
        self._setting(
            f"DISplay:GLObal:{ch}:STATE",
            self._set_display,
            lambda p, s: str(int(self._ch(s)["on"])),
        )
        self._setting("HORizontal:MODE", self._set_mode, lambda p, s: self._mode_name())
        self._setting("HORizontal:SCAle", self._set_hscale, lambda p, s: self._fmt(self._scale()))
        self._setting(
            "HORizontal:RECOrdlength", self._set_length, lambda p, s: str(self._timing()[1])
        )
        self._setting(
            "HORizontal:SAMPLERate", self._set_rate, lambda p, s: self._fmt(self._timing()[0])
        )
        self._setting("ACQuire:MODe", self._set_acquire_mode, lambda p, s: self._mode_word())
        self._setting("ACQuire:NUMAVg", self._set_numavg, lambda p, s: str(self.numavg))
        self._setting("ACQuire:STOPAfter", self._set_stop_after, lambda p, s: self._stop_word())
        self._setting("ACQuire:STATE", self._set_state, lambda p, s: str(int(self.running)))
        self._setting("ACQuire:NUMACq", query=lambda p, s: str(self.acquisitions))
        self._setting("DATa:SOUrce", self._set_source, lambda p, s: f"CH{self.source}")
        self._setting("DATa:ENCdg", self._set_encoding, lambda p, s: self._encoding_name())
        self._setting("DATa:WIDth", self._set_width, lambda p, s: str(self.width))
        self._setting("DATa:STARt", self._set_start, lambda p, s: str(self.start))
        self._setting("DATa:STOP", self._set_stop, lambda p, s: str(self.stop))
        wfmo = "WFMOutpre"
        self._setting(f"{wfmo}:BYT_Nr", self._set_width, lambda p, s: str(self.width))
        self._setting(f"{wfmo}:BIT_Nr", self._set_bits, lambda p, s: str(8 * self.width))
        self._setting(f"{wfmo}:ENCdg", self._set_wfm_encoding, lambda p, s: self._encdg())
        self._setting(f"{wfmo}:BN_Fmt", self._set_bn_fmt, lambda p, s: self.binary_format)
        self._setting(f"{wfmo}:BYT_Or", self._set_byte_order, lambda p, s: self.byte_order)
        for field, index in (
            ("WFId", "wfid"),
            ("NR_Pt", "nr_pt"),
            ("PT_Fmt", "pt_fmt"),
            ("PT_ORder", "pt_order"),
            ("XUNit", "xunit"),
            ("XINcr", "xincr"),
            ("XZEro", "xzero"),
            ("PT_Off", "pt_off"),
            ("YUNit", "yunit"),
            ("YMUlt", "ymult"),
            ("YOFf", "yoff"),
            ("YZEro", "yzero"),
        ):
            self._setting(f"{wfmo}:{field}", query=self._field(index))
        self.command(wfmo, query=self._query_preamble)  # formats its own headers
        self._setting("CURVe", query=self._query_curve)
        self._setting("HEADer", self._set_header, lambda p, s: str(int(self.header)))
        self._setting("VERBose", self._set_verbose, lambda p, s: str(int(self.verbose)))
        self._setting("EVMsg", query=lambda p, s: self._next_event(with_message=True))
        self._setting("EVENT", query=lambda p, s: self._next_event(with_message=False))
        self._setting("ALLEv", query=self._all_events)
        self._setting("EVQty", query=lambda p, s: str(len(self.released)))

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        self.channels = {
            n: {
                "scale": 0.1,
                "offset": 0.0,
                "position": 0.0,
                "coupling": "DC",
                "termination": 1e6,
                "on": n == 1,
            }
            for n in range(1, CHANNELS + 1)
        }
        self.manual = False
        self.time_scale = 4e-6
        self.record_length = 10_000
        self.manual_rate = 250e6
        self.acquire_mode = "SAM"
        self.numavg = 16
        self.stop_after = "RUNST"
        self.running = True
        self.acquisitions = 0
        self.source = 1
        self.ascii = False
        self.binary_format, self.byte_order = "RI", "MSB"
        self.width = 1
        self.start, self.stop = 1, 10_000
        self.records: dict[int, np.ndarray] = {}
        self.record_rate = 0.0
        self.record_mode = "SAM"

    def _setting(self, pattern: str, set=None, query=None) -> None:
        """Register a command whose query reply carries its header while HEADer is ON."""
        if query is not None:
            query = self._with_header(pattern, query)
        self.command(pattern, set, query)

    def _with_header(self, pattern: str, query):
        def answer(params, suffixes):
            value = query(params, suffixes)
            if not self.header:
                return value
            header = self._header(pattern, suffixes).encode()
            return header + b" " + (value if isinstance(value, bytes) else str(value).encode())

        return answer

    def _header(self, pattern: str, suffixes: list[int]) -> str:
        numbers = iter(suffixes)
        words = []
        for name, suffix in re.findall(r":?([A-Za-z_]+)(#?)", pattern):
            word = name.upper() if self.verbose else "".join(c for c in name if not c.islower())
            words.append(word + (str(next(numbers)) if suffix else ""))
        return ":" + ":".join(words)

    def _ch(self, suffixes: list[int]) -> dict:
        n = suffixes[0]
        if n not in self.channels:
            raise ScpiError(-113, f"Undefined header; CH{n}")
        return self.channels[n]

    @staticmethod
    def _fmt(value: float) -> str:
        """NR3 the way the scope prints it, in engineering form: 100.0E-3, 6.25E+9, 0.0E+0."""
        if value == 0:
            return "0.0E+0"
        exponent = 3 * int(np.floor(np.log10(abs(value)) / 3))
        mantissa = f"{value / 10.0**exponent:.7g}"
        if abs(float(mantissa)) >= 1000:  # rounding carried into the next thousand
            exponent += 3
            mantissa = f"{value / 10.0**exponent:.7g}"
        return f"{mantissa}{'' if '.' in mantissa else '.0'}E{exponent:+d}"

    @staticmethod
    def _value(params: list[str], low: float, high: float) -> float:
        return number(one(params), low, high, allow_minmax=False)

    # -- the event queue -----------------------------------------------------------------------

    def push_error(self, error: ScpiError) -> None:
        """Queue an event with its Tektronix code (the parser's -113 is the scope's 113)."""
        code = abs(error.code)
        self.esr |= _sesr_bit(code)
        message = error.message if error.code < 0 else MESSAGES.get(code, error.message)
        if len(self.errors) >= EVENT_QUEUE_SIZE:
            self.errors[-1] = (350, MESSAGES[350])
            return
        self.errors.append((code, message))

    def clear_status(self) -> None:
        super().clear_status()
        self.released = []

    def _set_opc(self, params, suffixes):
        self._no_params(params)
        self.push_error(ScpiError(402, MESSAGES[402]))

    def _query_esr(self, params, suffixes):
        # Reading the SESR makes the events it summarises readable and drops unread older ones.
        self._no_params(params)
        value, self.esr = self.esr, 0
        self.released = list(self.errors)
        self.errors.clear()
        return str(value)

    def _no_event(self) -> str:
        return EVENTS_PENDING if self.errors else NO_EVENTS

    def _next_event(self, with_message: bool) -> str:
        if not self.released:
            reply = self._no_event()
            return reply if with_message else reply.split(",")[0]
        code, message = self.released.pop(0)
        return f'{code},"{message}"' if with_message else str(code)

    def _all_events(self, params, suffixes):
        self._no_params(params)
        if not self.released:
            return self._no_event()
        reply = ",".join(f'{code},"{message}"' for code, message in self.released)
        self.released = []
        return reply

    def _set_header(self, params, suffixes):
        self.header = boolean(one(params))

    def _set_verbose(self, params, suffixes):
        self.verbose = boolean(one(params))

    # -- channels ------------------------------------------------------------------------------

    def _scale_range(self, channel: dict) -> tuple[float, float]:
        return (1e-3, 1.0) if channel["termination"] == 50 else (500e-6, 10.0)

    @staticmethod
    def _offset_limit(channel: dict) -> float:
        """The offset range at a scale and termination (the manual's vertical specifications)."""
        if channel["termination"] == 50:
            return 1.0 if channel["scale"] < 0.1 else 5.0
        if channel["scale"] < 0.064:
            return 1.0
        return 10.0 if channel["scale"] < 1.0 else 100.0

    def _set_scale(self, params, suffixes):
        channel = self._ch(suffixes)
        channel["scale"] = self._value(params, *self._scale_range(channel))
        limit = self._offset_limit(channel)
        channel["offset"] = float(np.clip(channel["offset"], -limit, limit))

    def _set_offset(self, params, suffixes):
        channel = self._ch(suffixes)
        limit = self._offset_limit(channel)
        channel["offset"] = self._value(params, -limit, limit)

    def _set_position(self, params, suffixes):
        self._ch(suffixes)["position"] = self._value(params, -5.0, 5.0)

    def _set_coupling(self, params, suffixes):
        self._ch(suffixes)["coupling"] = choice(one(params), ("AC", "DC", "DCREJect"))

    def _set_termination(self, params, suffixes):
        channel = self._ch(suffixes)
        word = one(params).upper()
        ohms = {"FIF": 50.0, "FIFTY": 50.0, "MEG": 1e6}.get(word)
        if ohms is None:
            ohms = self._value(params, 50.0, 1e6)
            if ohms not in (50.0, 1e6):
                raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
        channel["termination"] = ohms
        low, high = self._scale_range(channel)
        channel["scale"] = float(np.clip(channel["scale"], low, high))

    def _set_display(self, params, suffixes):
        self._ch(suffixes)["on"] = boolean(one(params))

    # -- horizontal ----------------------------------------------------------------------------

    def _mode_name(self) -> str:
        return "MANUAL" if self.manual else "AUTO"

    def _set_mode(self, params, suffixes):
        self.manual = choice(one(params), ("AUTO", "MANual")) == "MAN"
        if self.manual:
            self.manual_rate = self._timing()[0]

    def _timing(self) -> tuple[float, int]:
        """(sample rate, points) of the next record."""
        if self.manual:
            return self.manual_rate, self.record_length
        rate = self.record_length / (DIVISIONS * self.time_scale)
        if rate <= MAX_SAMPLE_RATE:
            return rate, self.record_length
        # Too fast for the ADC: the record shrinks to what 10 divisions hold at the top rate.
        return MAX_SAMPLE_RATE, max(1, round(MAX_SAMPLE_RATE * DIVISIONS * self.time_scale))

    def _scale(self) -> float:
        if self.manual:
            return self.record_length / (DIVISIONS * self.manual_rate)
        return self.time_scale

    def _set_hscale(self, params, suffixes):
        scale = self._value(params, 200e-12, 1000.0)
        if self.manual:  # the rate stays; the record grows or shrinks to span 10 divisions
            points = round(scale * DIVISIONS * self.manual_rate)
            if not MIN_RECORD <= points <= MAX_RECORD:
                raise ScpiError(-221, f"Settings conflict; {points} points at this sample rate")
            self.record_length = points
        self.time_scale = scale

    def _set_length(self, params, suffixes):
        self.record_length = int(self._value(params, MIN_RECORD, MAX_RECORD))

    def _set_rate(self, params, suffixes):
        if not self.manual:
            raise ScpiError(-221, "Settings conflict; HORizontal:MODE is AUTO")
        self.manual_rate = self._value(params, 1.0, MAX_SAMPLE_RATE)

    # -- acquisition ---------------------------------------------------------------------------

    def _mode_word(self) -> str:
        return {"SAM": "SAMPLE", "PEAK": "PEAKDETECT", "HIR": "HIRES", "AVE": "AVERAGE"}[
            self.acquire_mode
        ]

    def _set_acquire_mode(self, params, suffixes):
        self.acquire_mode = choice(one(params), ("SAMple", "PEAKdetect", "HIRes", "AVErage"))

    def _set_numavg(self, params, suffixes):
        self.numavg = int(self._value(params, 2, 10240))

    def _stop_word(self) -> str:
        return "SEQUENCE" if self.stop_after == "SEQ" else "RUNSTOP"

    def _set_stop_after(self, params, suffixes):
        self.stop_after = choice(one(params), ("RUNSTop", "SEQuence"))

    def _set_state(self, params, suffixes):
        word = one(params).upper()
        if word in ("RUN", "ON", "1"):
            if self.stop_after == "SEQ":
                self._acquire()  # one sequence, then the scope stops
                self.running = False
            else:
                self.running = True
        elif word in ("STOP", "OFF", "0"):
            self.running = False
        else:
            raise ScpiError(-224, f"Illegal parameter value; {params[0]}")

    def _acquire(self) -> None:
        rate, points = self._timing()
        repeats = self.numavg if self.acquire_mode == "AVE" else 1
        self.records = {}
        for n, channel in self.channels.items():
            if not channel["on"]:
                continue
            junction = self.junctions.get(n)
            if junction is None:
                volts = np.zeros(points, np.float32)
            else:
                volts = self.bench.sample(junction, points, rate)[0]
                for _ in range(repeats - 1):
                    volts = volts + self.bench.sample(junction, points, rate)[0]
                if repeats > 1:
                    volts = volts / np.float32(repeats)
            if channel["coupling"] == "AC":
                volts = volts - volts.mean()
            self.records[n] = volts.astype(np.float32, copy=False)
        self.record_rate = rate
        self.record_mode = self.acquire_mode
        self.acquisitions += 1

    # -- waveform transfer ---------------------------------------------------------------------

    def _set_source(self, params, suffixes):
        text = one(params).upper()
        match = re.fullmatch(r"CH(\d+)", text)
        if match is None or int(match.group(1)) not in self.channels:
            raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
        self.source = int(match.group(1))

    def _set_encoding(self, params, suffixes):
        # One word for the three WFMOutpre fields ENCdg, BN_Fmt and BYT_Or.
        word = choice(
            one(params),
            ("ASCIi", "FAStest", "RIBinary", "RPBinary", "SRIbinary", "SRPbinary"),
        )
        self.ascii = word == "ASCI"
        if not self.ascii:
            self.binary_format, self.byte_order = ENCODINGS[word]

    def _encoding_name(self) -> str:
        return "ASCII" if self.ascii else ENCODING_NAMES[self.binary_format, self.byte_order]

    def _encdg(self) -> str:
        return "ASCII" if self.ascii else "BINARY"

    def _set_wfm_encoding(self, params, suffixes):
        self.ascii = choice(one(params), ("ASCii", "BINary")) == "ASC"

    def _set_bn_fmt(self, params, suffixes):
        self.binary_format = choice(one(params), ("RI", "RP"))

    def _set_byte_order(self, params, suffixes):
        self.byte_order = choice(one(params), ("LSB", "MSB"))

    def _set_width(self, params, suffixes):
        width = int(self._value(params, 1, 2))
        if width not in (1, 2):
            raise ScpiError(-222, f"Data out of range; {params[0]}")
        self.width = width

    def _set_bits(self, params, suffixes):
        bits = int(self._value(params, 8, 16))
        if bits not in (8, 16):
            raise ScpiError(-222, f"Data out of range; {params[0]}")
        self.width = bits // 8

    def _set_start(self, params, suffixes):
        self.start = int(self._value(params, 1, 2**31 - 1))

    def _set_stop(self, params, suffixes):
        self.stop = int(self._value(params, 1, 2**31 - 1))

    def _record(self, fresh: bool = False) -> np.ndarray:
        """The source channel's record; `fresh`: a new one while running (`CURVe?`)."""
        wanted = self.running and self.channels[self.source]["on"]
        if wanted and (fresh or self.source not in self.records):
            self._acquire()
        if self.source not in self.records:
            raise ScpiError(2244, MESSAGES[2244])
        return self.records[self.source]

    def _span(self, record: np.ndarray) -> tuple[int, int]:
        """[first, last) points of the record DATa:STARt/STOP select (1-based, inclusive)."""
        first = min(self.start, self.stop) - 1
        last = min(max(self.start, self.stop), len(record))
        return first, max(first, last)

    def _levels(self) -> int:
        return LEVELS_PER_DIV[self.width]

    def _unsigned_shift(self) -> int:
        return (1 << (8 * self.width - 1)) if self.binary_format == "RP" else 0

    def _fields(self) -> dict[str, str]:
        record = self._record()
        first, last = self._span(record)
        channel = self.channels[self.source]
        levels = self._levels()
        spacing = 1.0 / self.record_rate
        wfid = (
            f'"Ch{self.source}, {channel["coupling"]} coupling, {channel["scale"]:.4g}V/div,'
            f' {self._scale():.4g}s/div, {len(record)} points, {self._mode_word().title()} mode"'
        )
        return {
            "wfid": wfid,
            "nr_pt": str(last - first),
            "pt_fmt": "Y",
            "pt_order": "LINEAR",
            "xunit": '"s"',
            "xincr": self._fmt(spacing),
            # The record is centred on the trigger (time 0): horizontal position 50 %.
            "xzero": self._fmt((first - len(record) / 2) * spacing),
            "pt_off": "0",
            "yunit": '"V"',
            "ymult": self._fmt(channel["scale"] / levels),
            "yoff": self._fmt(channel["position"] * levels + self._unsigned_shift()),
            "yzero": self._fmt(channel["offset"]),
        }

    def _field(self, key: str):
        def query(params, suffixes):
            self._no_params(params)
            return self._fields()[key]

        return query

    def _query_preamble(self, params, suffixes):
        self._no_params(params)
        fields = self._fields()
        values = [
            ("BYT_NR", str(self.width)),
            ("BIT_NR", str(8 * self.width)),
            ("ENCDG", self._encdg()),
            ("BN_FMT", self.binary_format),
            ("BYT_OR", self.byte_order),
            *((key.upper(), fields[key]) for key in ("wfid", "nr_pt", "pt_fmt", "pt_order")),
            *((key.upper(), fields[key]) for key in ("xunit", "xincr", "xzero", "pt_off")),
            *((key.upper(), fields[key]) for key in ("yunit", "ymult", "yoff", "yzero")),
            ("DOMAIN", "TIME"),
            ("WFMTYPE", "ANALOG"),
            ("CENTERFREQUENCY", "0.0E+0"),
            ("SPAN", "0.0E+0"),
            ("REFLEVEL", "0.0E+0"),
        ]
        if not self.header:
            return ";".join(value for _, value in values)
        return ":WFMOUTPRE:" + ";".join(f"{name} {value}" for name, value in values)

    def _query_curve(self, params, suffixes):
        self._no_params(params)
        record = self._record(fresh=True)
        first, last = self._span(record)
        codes = self._codes(record[first:last])
        if self.ascii:
            return ",".join(map(str, codes.tolist()))
        kind = ("u" if self.binary_format == "RP" else "i") + str(self.width)
        body = codes.astype((">" if self.byte_order == "MSB" else "<") + kind).tobytes()
        length = str(len(body)).encode()
        return b"#" + str(len(length)).encode() + length + body

    def _codes(self, volts: np.ndarray) -> np.ndarray:
        """Digitizing levels from the screen centre, at the ADC's resolution, then RP-shifted."""
        channel = self.channels[self.source]
        divisions = (volts - channel["offset"]) / channel["scale"] + channel["position"]
        adc_steps = (1 << MODE_BITS[self.record_mode]) / (2 * ADC_SPAN_DIV)  # per division
        divisions = np.clip(
            np.round(divisions * adc_steps) / adc_steps, -ADC_SPAN_DIV, ADC_SPAN_DIV
        )
        limit = 1 << (8 * self.width - 1)
        codes = np.clip(np.round(divisions * self._levels()), -limit, limit - 1).astype(np.int32)
        return codes + self._unsigned_shift()
