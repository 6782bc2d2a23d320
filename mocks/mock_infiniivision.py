"""A mock Keysight InfiniiVision DSO-X 3024T oscilloscope: 4 channels, 4 Mpts, 5 GSa/s.

Implemented from the InfiniiVision 3000T X-Series Programmer's Guide:

- `:CHANnel<n>:SCALe|OFFSet|RANGe|COUPling|DISPlay|PROBe`
- `:TIMebase:SCALe|RANGe|POSition|REFerence`
- `:ACQuire:TYPE NORMal|AVERage|HRESolution|PEAK`, `:ACQuire:COUNt`, `:ACQuire:POINts?`,
  `:ACQuire:SRATe?`
- `:DIGitize [CHANnel<n>[,...]]`, `:RUN`, `:STOP`, `:SINGle`
- `:WAVeform:SOURce|FORMat BYTE/WORD/ASCii|BYTeorder|UNSigned|POINts|POINts:MODE`,
  `:WAVeform:PREamble?`, `:WAVeform:DATA?`, `:WAVeform:X/Y INCrement|ORigin|REFerence?`,
  `:WAVeform:COUNt?`, `:WAVeform:TYPE?`
- the IEEE 488.2 commands and `:SYSTem:ERRor?`.

Like the real scope, `:WAVeform:DATA?` answers with an IEEE 488.2 definite-length block with an
8-digit length (`#8NNNNNNNN`) in every format, ASCii included, and the InfiniiVision numeric
parameters take no MIN/MAX. Volts of point i are `(code − yreference)·yincrement + yorigin`, its
time `(i − xreference)·xincrement + xorigin`.

The acquisition: the record spans the timebase range (10 divisions) at the fastest 1-2-5 sample
rate that fits the 4 Mpt memory, each channel reads `SimulatedBench.sample` (scope CHANnel1 is
bench channel 0; channels beyond the bench read 0 V). The ADC spans 10 divisions about the
offset with 8 bits (NORMal, PEAK) or 12 bits (HRESolution, AVERage); AVERage averages COUNt
acquisitions.
"""

from __future__ import annotations

import time

import numpy as np
from smtjlab.mocks.bench import SimulatedBench, servable
from smtjlab.mocks.scpi_parser import ScpiDevice, ScpiError, boolean, choice, number, one

CHANNELS = 4
MEMORY_POINTS = 4_000_000
MAX_SAMPLE_RATE = 5e9
NORMAL_MODE_POINTS = 62_500
ADC_DIVISIONS = 10
FORMAT_CODES = {"BYTE": 0, "WORD": 1, "ASC": 4}
TYPE_CODES = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}
TYPE_BITS = {"NORM": 8, "PEAK": 8, "AVER": 12, "HRES": 12}


def _sample_rate(time_range: float, recorded_hz: float | None = None) -> float:
    """The fastest rate in a 1-2-5 sequence whose record over `time_range` fits the memory.

    Replaying a recording, the front end is no faster than the recording and takes one of its
    integer fractions (smtjlab.mocks.bench.servable), so replayed time runs at its own pace.
    """
    limit = min(MAX_SAMPLE_RATE, MEMORY_POINTS / time_range)
    if recorded_hz is not None:
        limit = min(limit, recorded_hz)
    exponent = int(np.floor(np.log10(limit)))
    for power in range(exponent, exponent - 13, -1):
        for mantissa in (5.0, 2.0, 1.0):
            rate = mantissa * 10.0**power
            fits = rate <= limit * (1 + 1e-12)
            if fits and (recorded_hz is None or servable(recorded_hz, rate)):
                return float(rate)
    return float(limit) if recorded_hz is None else recorded_hz


class MockInfiniiVision(ScpiDevice):
    """The scope on the bench; what it records is what the shared s-MTJs do at the SMU's bias."""

    IDN = "KEYSIGHT TECHNOLOGIES,DSO-X 3024T,MY00000001,07.50.2021102830"
    ERROR_QUEUE_SIZE = 30
    NO_ERROR = '+0,"No error"'
    NUMBER_FORMAT = "{:+.8E}"

    def __init__(self, bench: SimulatedBench, junctions: dict[int, int] | None = None) -> None:
        super().__init__()
        self.bench = bench
        # Which junction of the bench each analog input reads: CHANnel n -> junction n−1 unless
        # a station wires it otherwise; an input wired to none reads 0 V.
        self.junctions = (
            junctions if junctions is not None else {n: n - 1 for n in range(1, bench.channels + 1)}
        )
        self.reset()
        ch = ":CHANnel#"
        self.command(f"{ch}:SCALe", self._set_scale, lambda p, s: self._fmt(self._ch(s)["scale"]))
        self.command(
            f"{ch}:RANGe", self._set_range, lambda p, s: self._fmt(8 * self._ch(s)["scale"])
        )
        self.command(
            f"{ch}:OFFSet", self._set_offset, lambda p, s: self._fmt(self._ch(s)["offset"])
        )
        self.command(f"{ch}:COUPling", self._set_coupling, lambda p, s: self._ch(s)["coupling"])
        self.command(f"{ch}:DISPlay", self._set_display, lambda p, s: str(int(self._ch(s)["on"])))
        self.command(f"{ch}:PROBe", self._set_probe, lambda p, s: self._fmt(self._ch(s)["probe"]))
        self.command(":TIMebase:SCALe", self._set_tscale, lambda p, s: self._fmt(self.time_scale))
        self.command(
            ":TIMebase:RANGe", self._set_trange, lambda p, s: self._fmt(10 * self.time_scale)
        )
        self.command(":TIMebase:POSition", self._set_tpos, lambda p, s: self._fmt(self.position))
        self.command(":TIMebase:REFerence", self._set_tref, lambda p, s: self.reference)
        self.command(":ACQuire:TYPE", self._set_type, lambda p, s: self.acquire_type)
        self.command(":ACQuire:COUNt", self._set_count, lambda p, s: str(self.average_count))
        self.command(":ACQuire:POINts", query=lambda p, s: str(self._record_points()))
        self.command(":ACQuire:SRATe", query=lambda p, s: self._fmt(self._rate()))
        self.command(":DIGitize", set=self._digitize)
        self.command(":SINGle", set=lambda p, s: self._digitize([], s))
        self.command(":RUN", set=self._run)
        self.command(":STOP", set=self._stop)
        self.command(":WAVeform:SOURce", self._set_source, lambda p, s: f"CHAN{self.source}")
        self.command(":WAVeform:FORMat", self._set_format, lambda p, s: self.format)
        self.command(":WAVeform:BYTeorder", self._set_order, lambda p, s: self.byte_order)
        self.command(":WAVeform:UNSigned", self._set_unsigned, lambda p, s: str(int(self.unsigned)))
        self.command(":WAVeform:POINts:MODE", self._set_points_mode, lambda p, s: self.points_mode)
        self.command(
            ":WAVeform:POINts", self._set_points, lambda p, s: str(self._transfer_points())
        )
        self.command(":WAVeform:PREamble", query=self._query_preamble)
        self.command(":WAVeform:DATA", query=self._query_data)
        self.command(":WAVeform:COUNt", query=lambda p, s: str(self._count()))
        self.command(":WAVeform:TYPE", query=lambda p, s: self._wave_type())
        for name, index in (
            ("XINCrement", 4),
            ("XORigin", 5),
            ("XREFerence", 6),
            ("YINCrement", 7),
            ("YORigin", 8),
            ("YREFerence", 9),
        ):
            self.command(f":WAVeform:{name}", query=self._preamble_field(index))

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        self.channels = {
            n: {"scale": 1.0, "offset": 0.0, "coupling": "DC", "on": n == 1, "probe": 1.0}
            for n in range(1, CHANNELS + 1)
        }
        self.time_scale = 100e-6
        self.position = 0.0
        self.reference = "CENT"
        self.acquire_type = "NORM"
        self.average_count = 8
        self.running = True
        self.source = 1
        self.format = "BYTE"
        self.byte_order = "MSBF"
        self.unsigned = True
        self.points_mode = "NORM"
        self.requested_points = 1000
        self.records: dict[int, np.ndarray] = {}
        self.record_rate = 0.0
        self.record_start = 0.0
        self.record_type = "NORM"

    def _ch(self, suffixes: list[int]) -> dict:
        n = suffixes[0]
        if n not in self.channels:
            raise ScpiError(-114, f"Header suffix out of range; CHANnel{n}")
        return self.channels[n]

    def _fmt(self, value: float) -> str:
        return self.format_number(value)

    @staticmethod
    def _value(params: list[str], low: float, high: float) -> float:
        return number(one(params), low, high, allow_minmax=False)

    # -- channels and timebase -----------------------------------------------------------------

    def _set_scale(self, params, suffixes):
        self._ch(suffixes)["scale"] = self._value(params, 1e-3, 5.0)

    def _set_range(self, params, suffixes):
        self._ch(suffixes)["scale"] = self._value(params, 8e-3, 40.0) / 8

    def _set_offset(self, params, suffixes):
        self._ch(suffixes)["offset"] = self._value(params, -40.0, 40.0)

    def _set_coupling(self, params, suffixes):
        self._ch(suffixes)["coupling"] = choice(one(params), ("AC", "DC"))

    def _set_display(self, params, suffixes):
        self._ch(suffixes)["on"] = boolean(one(params))

    def _set_probe(self, params, suffixes):
        self._ch(suffixes)["probe"] = self._value(params, 0.001, 10000.0)

    def _set_tscale(self, params, suffixes):
        self.time_scale = self._value(params, 1e-9, 50.0)

    def _set_trange(self, params, suffixes):
        self.time_scale = self._value(params, 1e-8, 500.0) / 10

    def _set_tpos(self, params, suffixes):
        self.position = self._value(params, -500.0, 500.0)

    def _set_tref(self, params, suffixes):
        self.reference = choice(one(params), ("LEFT", "CENTer", "RIGHt"))

    # -- acquisition ---------------------------------------------------------------------------

    def _set_type(self, params, suffixes):
        self.acquire_type = choice(one(params), ("NORMal", "AVERage", "HRESolution", "PEAK"))

    def _set_count(self, params, suffixes):
        self.average_count = int(self._value(params, 2, 65536))

    def _rate(self) -> float:
        return _sample_rate(10 * self.time_scale, self.bench.replay_rate())

    def _record_points(self) -> int:
        return max(1, round(10 * self.time_scale * self._rate()))

    def _digitize(self, params, suffixes):
        if params:
            sources = []
            for param in params:
                word = param.upper().rstrip("0123456789")
                if word not in ("CHAN", "CHANNEL"):
                    raise ScpiError(-224, f"Illegal parameter value; {param}")
                n = int(param[len(word) :] or 1)
                self._ch([n])
                sources.append(n)
        else:
            sources = [n for n, state in self.channels.items() if state["on"]]
        self.running = False
        self._acquire(sources)

    def _run(self, params, suffixes):
        self._no_params(params)
        self.running = True

    def _stop(self, params, suffixes):
        self._no_params(params)
        self.running = False

    def _acquire(self, sources: list[int]) -> None:
        started = time.monotonic()
        rate, points = self._rate(), self._record_points()
        repeats = self.average_count if self.acquire_type == "AVER" else 1
        self.records = {}
        for n in sources:
            junction = self.junctions.get(n)
            if junction is not None:
                volts = self.bench.sample(junction, points, rate)[0]
                for _ in range(repeats - 1):
                    volts = volts + self.bench.sample(junction, points, rate)[0]
                if repeats > 1:
                    volts = volts / np.float32(repeats)
            else:
                volts = np.zeros(points, np.float32)
            if self.channels[n]["coupling"] == "AC":
                volts = volts - volts.mean()
            self.records[n] = volts.astype(np.float32, copy=False)
        self.record_rate = rate
        self.record_start = (
            self.position
            - {"LEFT": 0.0, "CENT": 0.5, "RIGH": 1.0}[self.reference] * 10 * self.time_scale
        )
        self.record_type = self.acquire_type
        if self.bench.realtime:
            # A real scope takes its record's time, however many channels it records at once.
            time.sleep(max(0.0, repeats * points / rate - (time.monotonic() - started)))

    # -- waveform transfer ---------------------------------------------------------------------

    def _set_source(self, params, suffixes):
        text = one(params).upper()
        word = text.rstrip("0123456789")
        if word not in ("CHAN", "CHANNEL"):
            raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
        n = int(text[len(word) :] or 1)
        self._ch([n])
        self.source = n

    def _set_format(self, params, suffixes):
        self.format = choice(one(params), ("BYTE", "WORD", "ASCii"))

    def _set_order(self, params, suffixes):
        self.byte_order = choice(one(params), ("LSBFirst", "MSBFirst"))

    def _set_unsigned(self, params, suffixes):
        self.unsigned = boolean(one(params))

    def _set_points_mode(self, params, suffixes):
        self.points_mode = choice(one(params), ("NORMal", "MAXimum", "RAW"))

    def _set_points(self, params, suffixes):
        text = one(params)
        if text.upper() in ("MAX", "MAXIMUM"):
            self.requested_points = 8_000_000
            return
        self.requested_points = int(number(text, 100, 8_000_000, allow_minmax=False))

    def _available(self) -> int:
        if self.source not in self.records:
            return 0
        available = len(self.records[self.source])
        if self.points_mode == "NORM":
            available = min(available, NORMAL_MODE_POINTS)
        return available

    def _transfer_points(self) -> int:
        available = self._available()
        return min(self.requested_points, available) if available else self.requested_points

    def _count(self) -> int:
        return self.average_count if self.record_type == "AVER" else 1

    def _wave_type(self) -> str:
        return {"NORM": "NORM", "PEAK": "PEAK", "AVER": "AVER", "HRES": "HRES"}[self.record_type]

    def _scaling(self) -> tuple[float, float, int]:
        """(yincrement, yorigin, yreference) of the transfer format."""
        channel = self.channels[self.source]
        full_scale = ADC_DIVISIONS * channel["scale"]
        if self.format == "ASC":
            return 0.0, 0.0, 0
        bits = 8 if self.format == "BYTE" else 16
        reference = (1 << (bits - 1)) if self.unsigned else 0
        return full_scale / (1 << bits), channel["offset"], reference

    def _points(self) -> tuple[np.ndarray, float]:
        """The decimated record of the source channel and its point spacing in seconds."""
        if self.running and self.source in self.channels:
            self._acquire([n for n, state in self.channels.items() if state["on"]])
        if self.source not in self.records:
            raise ScpiError(-230, "Data corrupt or stale; no acquisition for this source")
        record = self.records[self.source]
        count = min(self.requested_points, self._available())
        if count == len(record):
            return record, 1.0 / self.record_rate
        index = (np.arange(count, dtype=np.int64) * len(record)) // count
        return record[index], len(record) / count / self.record_rate

    def _preamble(self) -> list:
        count = self._transfer_points()
        spacing = 10 * self.time_scale / max(self._record_points(), 1)
        if self.source in self.records:
            spacing = len(self.records[self.source]) / count / self.record_rate
        yinc, yorigin, yref = self._scaling()
        return [
            FORMAT_CODES[self.format],
            TYPE_CODES[self.record_type],
            count,
            self._count(),
            spacing,
            self.record_start,
            0,
            yinc,
            yorigin,
            yref,
        ]

    def _format_preamble(self, values: list) -> str:
        return ",".join(
            f"{value:+d}" if isinstance(value, int) else self._fmt(value) for value in values
        )

    def _query_preamble(self, params, suffixes):
        self._no_params(params)
        return self._format_preamble(self._preamble())

    def _preamble_field(self, index: int):
        def query(params, suffixes):
            value = self._preamble()[index]
            return f"{value:+d}" if isinstance(value, int) else self._fmt(value)

        return query

    def _query_data(self, params, suffixes):
        self._no_params(params)
        volts, _ = self._points()
        body = self._ascii(volts) if self.format == "ASC" else self._codes(volts).tobytes()
        return b"#8%08d" % len(body) + body

    def _codes(self, volts: np.ndarray) -> np.ndarray:
        channel = self.channels[self.source]
        bits = TYPE_BITS[self.record_type]
        full_scale = ADC_DIVISIONS * channel["scale"]
        # The ADC: `bits` levels over 10 divisions about the offset, clipped at the rails.
        step = full_scale / (1 << bits)
        levels = np.clip(
            np.round((volts - channel["offset"]) / step), -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        )
        width = 8 if self.format == "BYTE" else 16
        if bits > width:
            levels = np.round(levels / (1 << (bits - width)))
        codes = levels.astype(np.int32) << max(0, width - bits)
        if self.unsigned:
            codes = codes + (1 << (width - 1))
        kind = ("u" if self.unsigned else "i") + ("1" if width == 8 else "2")
        order = "<" if self.byte_order == "LSBF" else ">"
        return codes.astype(order + kind)

    def _ascii(self, volts: np.ndarray) -> bytes:
        # ASCii: each point is volts, quantized by the same ADC, as "+1.23456789E-01".
        channel = self.channels[self.source]
        bits = TYPE_BITS[self.record_type]
        step = ADC_DIVISIONS * channel["scale"] / (1 << bits)
        levels = np.clip(
            np.round((volts - channel["offset"]) / step), -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        )
        values = levels * step + channel["offset"]
        return ",".join(f"{value:+.8E}" for value in values.tolist()).encode()
