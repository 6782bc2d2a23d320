"""A mock Keithley 2450 (or 2460, 2470) SourceMeter in its native SCPI command set.

Implemented from the Model 2450 Reference Manual (2450-901-01), section 6 (SCPI command
reference) and appendix B (common commands); the 2460 and 2470 differ only in their ranges:

- `*LANG?` (SCPI), `*LANG TSP|SCPI|SCPI2400` (takes effect after a power cycle)
- `:SOURce[1]:FUNCtion[:MODE] VOLTage|CURRent`
- `:SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude] <n>|MIN|MAX|DEF`, `:CURRent[...]` likewise
- `:SOURce[1]:VOLTage:RANGe <n>`, `:RANGe:AUTO <b>` (2450: 20 mV, 200 mV, 2 V, 20 V, 200 V)
- `:SOURce[1]:VOLTage:ILIMit[:LEVel] <n>` (the current limit, default 105 µA), `:TRIPped?`;
  `:SOURce[1]:CURRent:VLIMit[:LEVel] <n>` (default 21 V), `:TRIPped?`
- `:SOURce[1]:VOLTage:PROTection[:LEVel] PROT2|PROT5|...|NONE` (overvoltage protection),
  `:PROTection:TRIPped?`; `:SOURce[1]:<function>:READ:BACK <b>`, `:DELay <n>`, `:DELay:AUTO <b>`
- `[:SENSe[1]]:FUNCtion[:ON] "VOLTage"|"CURRent"|"RESistance"` (queried as `"CURR:DC"`)
- `[:SENSe[1]]:<function>[:DC]:RANGe[:UPPer] <n>`, `:RANGe:AUTO <b>`, `:NPLCycles <n>`,
  `:RSENse <b>`, `:AZERo[:STATe] <b>`; `[:SENSe[1]]:COUNt <n>`
- `:OUTPut[1][:STATe] <b>`, `:OUTPut[1][:<function>]:SMODe NORMal|HIMPedance|ZERO|GUARd`,
  `:OUTPut[1]:INTerlock:TRIPped?`
- `:READ? ["<buffer>"[,<elements>]]`, `:MEASure[:<function>][:DC]? ["<buffer>"[,<elements>]]`
- reading buffers: `:TRACe:MAKE "<name>",<size>`, `:TRACe:DELete`, `:TRACe:CLEar`,
  `:TRACe:POINts`, `:TRACe:ACTual?`, `:TRACe:ACTual:STARt?`, `:TRACe:ACTual:END?`,
  `:TRACe:DATA? <start>,<end>[,"<buffer>"[,<elements>]]`, `:TRACe:TRIGger`,
  `:TRACe:STATistics:AVERage?`; `:TRIGger:LOAD "SimpleLoop",<count>[,<delay>[,"<buffer>"]]`,
  `:INITiate[:IMMediate]`, `:ABORt`; `:SOURce[1]:SWEep:<function>:LINear` (run by `:INITiate`:
  the buffer cleared, the output on, one reading per level; the output stays on at the last)
- `:ROUTe:TERMinals FRONt|REAR`, `:FORMat[:DATA] ASCii`, `:SYSTem:CLEar`, `:SYSTem:ERRor...?`

The 2450 measures with the output off too (its normal output-off state holds 0 V), so a reading
then is of the unbiased device. A reading at the current limit reads the limit and sets the
tripped flag; one beyond a fixed measure range reads 9.9E+37, the 2450's overflow. Readings come
from the shared `SimulatedBench`, through the junction the output is wired to.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from smtjlab.mocks.bench import DEFAULT_OUTPUT, SimulatedBench
from smtjlab.mocks.scpi_parser import (
    ScpiDevice,
    ScpiError,
    boolean,
    choice,
    number,
    one,
    string,
)

OVERFLOW = 9.9e37
OVER_RANGE = 1.05  # every range reads up to 105 % of its name
DEFAULT_BUFFERS = ("defbuffer1", "defbuffer2")
DEFAULT_BUFFER_SIZE = 100_000
MAX_COUNT = 300_000
# `:READ?` / `:TRACe:DATA?` buffer elements, long form, as the manual lists them.
ELEMENTS = (
    "DATE",
    "FORMatted",
    "FRACtional",
    "READing",
    "RELative",
    "SEConds",
    "SOURce",
    "SOURFORMatted",
    "SOURSTATus",
    "SOURUNIT",
    "STATus",
    "TIME",
    "TSTamp",
    "UNIT",
)
UNITS = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}
SENSE_REPLY = {"CURR": '"CURR:DC"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}
OFF_MODES = ("NORMal", "HIMPedance", "ZERO", "GUARd")
# Source status bits of a buffer reading (manual, :TRACe:DATA? "SOURSTATus").
SOURCE_OVP, SOURCE_READBACK, SOURCE_LIMITED, SOURCE_FOUR_WIRE, SOURCE_OUTPUT_ON = 1, 2, 8, 16, 32


@dataclass(frozen=True)
class Model:
    """The ranges that tell the family apart (each model's reference manual and datasheet)."""

    name: str
    voltage_ranges: tuple[float, ...]
    current_ranges: tuple[float, ...]
    max_v: float  # the largest level and voltage limit
    max_i: float  # the largest current level and current limit
    protection_levels: tuple[int, ...]
    default_vlimit: float  # the voltage limit of the current source after *RST


MODELS = {
    "2450": Model(
        "2450",
        (0.02, 0.2, 2.0, 20.0, 200.0),
        (10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0),
        210.0,
        1.05,
        (2, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180),
        21.0,
    ),
    "2460": Model(
        "2460",
        (0.2, 2.0, 7.0, 10.0, 20.0, 100.0),
        (1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 4.0, 5.0, 7.0),
        105.0,
        7.35,
        (2, 5, 10, 20, 40, 60, 80, 100),
        7.35,
    ),
    "2470": Model(
        "2470",
        (0.2, 2.0, 20.0, 200.0, 1000.0),
        (10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0),
        1100.0,
        1.05,
        (2, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180, 500, 1000),
        0.21,
    ),
}


@dataclass
class _Reading:
    reading: float
    source: float
    seconds: float  # wall-clock UTC seconds when it was made
    source_status: int
    function: str


@dataclass
class _Buffer:
    size: int
    readings: deque = field(default_factory=deque)
    # The index of the oldest reading kept (readings roll off a full buffer's front).
    start: int = 1

    def add(self, reading: _Reading) -> None:
        if len(self.readings) >= self.size:
            self.readings.popleft()
            self.start += 1
        self.readings.append(reading)

    def clear(self) -> None:
        self.readings.clear()
        self.start = 1


@dataclass(frozen=True)
class SimpleLoop:
    """`:TRIGger:LOAD "SimpleLoop"`: `count` readings into `buffer`."""

    count: int
    buffer: str


@dataclass(frozen=True)
class Sweep:
    """`:SOURce:SWEep:...:LINear`: a reading at each level, stopping at the limit if `abort`."""

    function: str
    levels: list[float]
    abort: bool
    buffer: str


class MockKeithley2450(ScpiDevice):
    """A 2450-family SMU on the bench: its source drives the bench output named `output`."""

    NO_ERROR = '0,"No error"'
    NUMBER_FORMAT = "{:.6E}"

    def __init__(
        self, bench: SimulatedBench, output: str = DEFAULT_OUTPUT, model: str = "2450"
    ) -> None:
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, not {model!r}")
        self.model = MODELS[model]
        self.IDN = f"KEITHLEY INSTRUMENTS,MODEL {model},04512345,1.7.12b"
        self.bench = bench
        self.bench_output = output
        self.language = "SCPI"
        self.next_language = "SCPI"
        self.reset()
        src, sense = ":SOURce#", "[:SENSe#]"
        self.command("*LANG", self._set_language, lambda p, s: self.language)
        self.command(f"{src}:FUNCtion[:MODE]", self._set_source_function, self._query_function)
        for function, key, limit in (("VOLTage", "VOLT", "ILIMit"), ("CURRent", "CURR", "VLIMit")):
            self._source_commands(src, function, key, limit)
        for function, key in (
            ("CURRent[:DC]", "CURR"),
            ("VOLTage[:DC]", "VOLT"),
            ("RESistance", "RES"),
        ):
            self._sense_commands(f"{sense}:{function}", key)
        self.command(f"{src}:VOLTage:PROTection[:LEVel]", self._set_ovp, self._query_ovp)
        self.command(f"{src}:VOLTage:PROTection:TRIPped", query=self._query_ovp_tripped)
        self.command(f"{sense}:FUNCtion[:ON]", self._set_sense_function, self._query_sense)
        self.command(f"{sense}:COUNt", self._set_count, self._query_count)
        self.command(":OUTPut#[:STATe]", self._set_output, self._query_output)
        self.command(":OUTPut#[:VOLTage]:SMODe", self._set_off_mode, self._query_off_mode)
        self.command(":OUTPut#:CURRent:SMODe", self._set_off_mode, self._query_off_mode)
        self.command(":OUTPut#:INTerlock:TRIPped", query=lambda p, s: "1")
        self.command(":READ", query=self._query_read)
        for function, key in (
            ("VOLTage[:DC]", "VOLT"),
            ("CURRent[:DC]", "CURR"),
            ("RESistance", "RES"),
        ):
            self.command(
                f":MEASure:{function}", query=lambda p, s, key=key: self._query_measure(p, key)
            )
        self.command(":MEASure", query=lambda p, s: self._query_measure(p, self.sense))
        self.command(":TRACe:MAKE", set=self._set_make)
        self.command(":TRACe:DELete", set=self._set_delete)
        self.command(":TRACe:CLEar", set=self._set_clear)
        self.command(":TRACe:POINts", self._set_points, self._query_points)
        self.command(":TRACe:ACTual:STARt", query=self._query_actual_start)
        self.command(":TRACe:ACTual:END", query=self._query_actual_end)
        self.command(":TRACe:ACTual", query=self._query_actual)
        self.command(":TRACe:DATA", query=self._query_data)
        self.command(":TRACe:TRIGger", set=self._set_trace_trigger)
        self.command(":TRACe:STATistics:AVERage", query=self._query_average)
        for function, key in (("VOLTage", "VOLT"), ("CURRent", "CURR")):
            self.command(
                f"{src}:SWEep:{function}:LINear",
                set=lambda p, s, key=key: self._set_sweep(p, key),
            )
        self.command(":FETCh", query=self._query_fetch)
        self.command(":TRIGger:LOAD", set=self._set_trigger_load)
        self.command(":INITiate[:IMMediate]", set=self._set_initiate)
        self.command(":ABORt", set=lambda p, s: self._no_params(p))
        self.command(":ROUTe:TERMinals", self._set_terminals, lambda p, s: self.terminals)
        self.command(":FORMat[:DATA]", self._set_data_format, lambda p, s: "ASC")
        self.command(":SYSTem:CLEar", set=lambda p, s: self._no_params(p) or self.errors.clear())
        self.command(":SYSTem:LFRequency", query=lambda p, s: self._no_params(p) or "60")
        self.command(":STATus:PRESet", set=lambda p, s: self._no_params(p))
        self.command(":STATus:CLEar", set=lambda p, s: self._no_params(p) or self.clear_status())
        self.command(f"{sense}:AZERo:ONCE", set=lambda p, s: self._no_params(p))

    def _source_commands(self, src: str, function: str, key: str, limit: str) -> None:
        self.command(
            f"{src}:{function}[:LEVel][:IMMediate][:AMPLitude]",
            lambda p, s: self._set_level(p, key),
            lambda p, s: self._numeric_query(p, self.level[key], *self._level_bounds(key)),
        )
        self.command(
            f"{src}:{function}:RANGe:AUTO",
            lambda p, s: self._set_flag(p, self.source_auto, key),
            lambda p, s: str(int(self.source_auto[key])),
        )
        self.command(
            f"{src}:{function}:RANGe",
            lambda p, s: self._set_source_range(p, key),
            lambda p, s: self._numeric_query(p, self.source_range[key], *self._range_bounds(key)),
        )
        self.command(
            f"{src}:{function}:{limit}[:LEVel]:TRIPped",
            query=lambda p, s: str(int(self._no_params(p) or self.tripped[key])),
        )
        self.command(
            f"{src}:{function}:{limit}[:LEVel]",
            lambda p, s: self._set_limit(p, key),
            lambda p, s: self._numeric_query(p, self.limit[key], *self._limit_bounds(key)),
        )
        self.command(
            f"{src}:{function}:READ:BACK",
            lambda p, s: self._set_flag(p, self.readback, key),
            lambda p, s: str(int(self.readback[key])),
        )
        self.command(
            f"{src}:{function}:DELay:AUTO",
            lambda p, s: self._set_flag(p, self.delay_auto, key),
            lambda p, s: str(int(self.delay_auto[key])),
        )
        self.command(
            f"{src}:{function}:DELay",
            lambda p, s: self._set_delay(p, key),
            lambda p, s: self._numeric_query(p, self.delay[key], 0.0, 10_000.0, 0.0),
        )

    def _sense_commands(self, head: str, key: str) -> None:
        self.command(
            f"{head}:RANGe:AUTO",
            lambda p, s: self._set_flag(p, self.measure_auto, key),
            lambda p, s: str(int(self.measure_auto[key])),
        )
        self.command(
            f"{head}:RANGe[:UPPer]",
            lambda p, s: self._set_measure_range(p, key),
            lambda p, s: self._numeric_query(
                p, self.measure_range[key], *self._measure_bounds(key)
            ),
        )
        self.command(
            f"{head}:NPLCycles",
            lambda p, s: self._set_nplc(p, key),
            lambda p, s: self._numeric_query(p, self.nplc[key], 0.01, 10.0, 1.0),
        )
        self.command(
            f"{head}:RSENse",
            lambda p, s: self._set_flag(p, self.rsense, key),
            lambda p, s: str(int(self.rsense[key])),
        )
        self.command(
            f"{head}:AZERo[:STATe]",
            lambda p, s: self._set_flag(p, self.autozero, key),
            lambda p, s: str(int(self.autozero[key])),
        )

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """*RST defaults (manual, each command's "Default value")."""
        model = self.model
        self.function = "VOLT"
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.source_range = {"VOLT": 0.2, "CURR": 1e-6}
        self.source_auto = {"VOLT": True, "CURR": True}
        self.limit = {"VOLT": 105e-6, "CURR": model.default_vlimit}
        self.tripped = {"VOLT": False, "CURR": False}
        self.readback = {"VOLT": True, "CURR": True}
        self.delay = {"VOLT": 0.0, "CURR": 0.0}
        self.delay_auto = {"VOLT": True, "CURR": True}
        self.ovp: int | None = None  # NONE: no overvoltage protection
        self.sense = "CURR"
        self.measure_range = {"CURR": 1e-4, "VOLT": 0.2, "RES": 2e5}
        self.measure_auto = {"CURR": True, "VOLT": True, "RES": True}
        self.nplc = {"CURR": 1.0, "VOLT": 1.0, "RES": 1.0}
        self.rsense = {"CURR": False, "VOLT": False, "RES": False}
        self.autozero = {"CURR": True, "VOLT": True, "RES": True}
        self.count = 1
        self.output_on = False
        self.off_mode = "NORM"
        self.terminals = "FRON"
        self.buffers = {name: _Buffer(DEFAULT_BUFFER_SIZE) for name in DEFAULT_BUFFERS}
        # What :INITiate runs: a SimpleLoop (count, buffer) or a sweep, as last loaded.
        self.trigger_model: SimpleLoop | Sweep | None = None
        self._drive()

    @property
    def applied_v(self) -> float:
        """The voltage at the terminals: the level, held under the overvoltage protection."""
        if self.function == "VOLT":
            volts = self.level["VOLT"]
        else:
            # A current source: the divider's resistance at the parallel state sets the voltage.
            params = self.bench.devices[0].params
            volts = self.level["CURR"] * (params.r_parallel + params.r_load)
            volts = max(-self.limit["CURR"], min(self.limit["CURR"], volts))
        if self.ovp is not None:
            volts = max(-self.ovp, min(self.ovp, volts))
        return volts

    def _drive(self) -> None:
        """Put the source state on the shared bench; the normal output-off state holds 0 V."""
        self.bench.set_output(self.bench_output, self.applied_v, self.output_on)

    # -- source --------------------------------------------------------------------------------

    def _set_language(self, params, suffixes):
        self.next_language = choice(one(params), ("TSP", "SCPI", "SCPI2400"))

    def _set_source_function(self, params, suffixes):
        self.function = choice(one(params), ("VOLTage", "CURRent"))
        self._drive()

    def _query_function(self, params, suffixes):
        self._no_params(params)
        return self.function

    def _level_bounds(self, key: str) -> tuple[float, float, float]:
        top = self.model.max_v if key == "VOLT" else self.model.max_i
        return -top, top, 0.0

    def _range_bounds(self, key: str) -> tuple[float, float, float]:
        ranges = self.model.voltage_ranges if key == "VOLT" else self.model.current_ranges
        return ranges[0], ranges[-1], ranges[1 if key == "VOLT" else 2]

    def _limit_bounds(self, key: str) -> tuple[float, float, float]:
        if key == "VOLT":  # the current limit of the voltage source
            return 1e-9, self.model.max_i, 105e-6
        return 0.02, self.model.max_v, self.model.default_vlimit

    def _set_level(self, params, key):
        low, high, default = self._level_bounds(key)
        value = number(one(params), low, high, default=default)
        if not self.source_auto[key] and abs(value) > self._holds(key):
            raise ScpiError(-222, "Data out of range; level exceeds the source range")
        self.level[key] = value
        if self.source_auto[key]:
            self.source_range[key] = _range_for(abs(value), self._ranges(key))
        self._drive()

    def _holds(self, key: str) -> float:
        """The largest level the present source range holds (the top range: the model's max)."""
        ranges, present = self._ranges(key), self.source_range[key]
        top = self.model.max_v if key == "VOLT" else self.model.max_i
        return top if present == ranges[-1] else present * OVER_RANGE

    def _ranges(self, key: str) -> tuple[float, ...]:
        return self.model.voltage_ranges if key == "VOLT" else self.model.current_ranges

    def _set_source_range(self, params, key):
        low, high, default = self._range_bounds(key)
        value = number(one(params), -high * OVER_RANGE, high * OVER_RANGE, default, low, high)
        self.source_range[key] = _range_for(abs(value), self._ranges(key))
        self.source_auto[key] = False
        if abs(self.level[key]) > self._holds(key):
            raise ScpiError(-221, "Settings conflict; source level exceeds the new range")

    def _set_limit(self, params, key):
        low, high, default = self._limit_bounds(key)
        value = number(one(params), -high, high, default=default, minimum=low, maximum=high)
        # Limits are absolute values (manual: "Limits are absolute values").
        if abs(value) < low:
            raise ScpiError(-222, f"Data out of range; the smallest limit is {low:g}")
        self.limit[key] = abs(value)
        self._drive()

    def _set_delay(self, params, key):
        self.delay[key] = number(one(params), 0.0, 10_000.0, default=0.0)
        self.delay_auto[key] = False

    def _set_ovp(self, params, suffixes):
        word = one(params).upper()
        if word == "NONE":
            self.ovp = None
        else:
            levels = {f"PROT{level}": level for level in self.model.protection_levels}
            if word not in levels:
                raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
            self.ovp = levels[word]
        self._drive()

    def _query_ovp(self, params, suffixes):
        self._no_params(params)
        return "NONE" if self.ovp is None else f"PROT{self.ovp}"

    def _query_ovp_tripped(self, params, suffixes):
        self._no_params(params)
        return str(int(self.ovp is not None and abs(self.level["VOLT"]) > self.ovp))

    # -- sense ---------------------------------------------------------------------------------

    def _set_sense_function(self, params, suffixes):
        text = string(one(params)).upper()
        head, _, tail = text.partition(":")
        key = choice(head, ("VOLTage", "CURRent", "RESistance"))
        if tail and (tail != "DC" or key == "RES"):
            raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
        self.sense = key

    def _query_sense(self, params, suffixes):
        self._no_params(params)
        return SENSE_REPLY[self.sense]

    def _measure_bounds(self, name: str) -> tuple[float, float, float]:
        if name == "CURR":
            ranges = self.model.current_ranges
            return ranges[0], ranges[-1], 1e-4
        if name == "VOLT":
            ranges = self.model.voltage_ranges
            return ranges[0], ranges[-1], 0.2
        return 20.0, 200e6, 2e5

    def _set_measure_range(self, params, name):
        low, high, default = self._measure_bounds(name)
        value = number(one(params), -high * OVER_RANGE, high * OVER_RANGE, default, low, high)
        ranges = (
            self.model.current_ranges
            if name == "CURR"
            else self.model.voltage_ranges
            if name == "VOLT"
            else (20.0, 200.0, 2e3, 20e3, 200e3, 2e6, 20e6, 200e6)
        )
        self.measure_range[name] = _range_for(abs(value), ranges)
        self.measure_auto[name] = False

    def _set_nplc(self, params, name):
        self.nplc[name] = number(one(params), 0.01, 10.0, default=1.0)

    def _set_count(self, params, suffixes):
        self.count = int(number(one(params), 1, MAX_COUNT, default=1))

    def _query_count(self, params, suffixes):
        return self._numeric_query(params, self.count, 1, MAX_COUNT, 1)

    # -- output --------------------------------------------------------------------------------

    def _set_output(self, params, suffixes):
        self.output_on = boolean(one(params))
        if not self.output_on:
            self.tripped = {"VOLT": False, "CURR": False}
        self._drive()

    def _query_output(self, params, suffixes):
        self._no_params(params)
        return str(int(self.output_on))

    def _set_off_mode(self, params, suffixes):
        self.off_mode = choice(one(params), OFF_MODES)

    def _query_off_mode(self, params, suffixes):
        self._no_params(params)
        return self.off_mode

    def _set_terminals(self, params, suffixes):
        self.terminals = choice(one(params), ("FRONt", "REAR"))

    def _set_data_format(self, params, suffixes):
        choice(one(params), ("ASCii",))

    # -- measuring -----------------------------------------------------------------------------

    def _measure(self, function: str) -> _Reading:
        """One reading of `function` from the bench, as the buffer stores it."""
        source = self.applied_v if self.output_on else 0.0
        nplc = self.nplc.get(function, 1.0)
        current = self.bench.current_a(nplc / 60.0, output=self.bench_output)
        limited = False
        if self.output_on and self.function == "VOLT" and abs(current) >= self.limit["VOLT"]:
            current = self.limit["VOLT"] if current >= 0 else -self.limit["VOLT"]
            limited = True
            self.tripped["VOLT"] = True
        if function == "CURR":
            value = current
        elif function == "VOLT":
            value = source
        else:
            value = source / current if current else OVERFLOW
        fixed = not self.measure_auto[function]
        if fixed and abs(value) > self.measure_range[function] * OVER_RANGE:
            value = OVERFLOW
        source_status = (
            (SOURCE_OVP if self.ovp is not None and abs(self.level["VOLT"]) > self.ovp else 0)
            | (SOURCE_READBACK if self.readback[self.function] else 0)
            | (SOURCE_LIMITED if limited else 0)
            | (SOURCE_FOUR_WIRE if self.rsense.get(function, False) else 0)
            | (SOURCE_OUTPUT_ON if self.output_on else 0)
        )
        return _Reading(value, source, time.time(), source_status, function)

    def _take(self, function: str, buffer: str, count: int) -> _Reading:
        target = self._buffer(buffer)
        for _ in range(count):
            reading = self._measure(function)
            target.add(reading)
        return reading

    def _buffer(self, name: str) -> _Buffer:
        if name not in self.buffers:
            raise ScpiError(-224, f"Illegal parameter value; buffer {name} not found")
        return self.buffers[name]

    def _buffer_and_elements(self, params: list[str]) -> tuple[str, list[str]]:
        if not params:
            return DEFAULT_BUFFERS[0], ["READ"]
        buffer = string(params[0])
        self._buffer(buffer)
        elements = [choice(param, ELEMENTS) for param in params[1:]] or ["READ"]
        if len(elements) > 14:
            raise ScpiError(-108, "Parameter not allowed; at most 14 buffer elements")
        return buffer, elements

    def _format(self, reading: _Reading, elements: list[str], first: _Reading) -> str:
        seconds = int(reading.seconds)
        fraction = reading.seconds - seconds
        utc = time.gmtime(seconds)
        clock = f"{time.strftime('%H:%M:%S', utc)}.{int(fraction * 1e9):09d}"
        source_unit = UNITS[self.function]
        values = {
            "READ": self.format_number(reading.reading),
            "SOUR": self.format_number(reading.source),
            "REL": self.format_number(reading.seconds - first.seconds),
            "SEC": str(seconds),
            "FRAC": self.format_number(fraction),
            "STAT": "0",  # no measurement condition (filter, limit test) is simulated
            "SOURSTAT": str(reading.source_status),
            "UNIT": UNITS[reading.function],
            "SOURUNIT": source_unit,
            "FORM": f"{reading.reading:+.5E} {UNITS[reading.function][0]}",
            "SOURFORM": f"{reading.source:+.5E} {source_unit[0]}",
            "DATE": time.strftime("%m/%d/%Y", utc),
            "TIME": clock,
            "TST": f"{time.strftime('%m/%d/%Y', utc)} {clock}",
        }
        return ",".join(values[element] for element in elements)

    def _query_read(self, params, suffixes):
        buffer, elements = self._buffer_and_elements(params)
        reading = self._take(self.sense, buffer, self.count)
        return self._format(reading, elements, self.buffers[buffer].readings[0])

    def _query_measure(self, params, function):
        # :MEASure:<function>? selects that measure function, then reads (manual 6-6).
        self.sense = function
        return self._query_read(params, [])

    # -- reading buffers -----------------------------------------------------------------------

    def _set_make(self, params, suffixes):
        if len(params) not in (2, 3):
            raise ScpiError(-109 if len(params) < 2 else -108)
        name = string(params[0])
        if name in DEFAULT_BUFFERS or not name or not name[0].isalpha():
            raise ScpiError(-224, f"Illegal parameter value; {params[0]}")
        size = int(number(params[1], 10, 27_500_000))
        if len(params) == 3:
            choice(params[2], ("STANdard", "COMPact", "FULL", "WRITable", "FULLWRITable"))
        self.buffers[name] = _Buffer(size)

    def _set_delete(self, params, suffixes):
        name = string(one(params))
        if name in DEFAULT_BUFFERS:
            raise ScpiError(-224, f"Illegal parameter value; {params[0]} cannot be deleted")
        self._buffer(name)
        del self.buffers[name]

    def _named(self, params: list[str], at: int = 0) -> _Buffer:
        if len(params) > at + 1:
            raise ScpiError(-108)
        return self._buffer(string(params[at]) if len(params) > at else DEFAULT_BUFFERS[0])

    def _set_clear(self, params, suffixes):
        self._named(params).clear()

    def _set_points(self, params, suffixes):
        if not params:
            raise ScpiError(-109)
        target = self._named(params, at=1)
        size = int(number(params[0], 1 if target in self._defaults() else 10, 27_500_000))
        target.size = size
        target.clear()

    def _defaults(self) -> list[_Buffer]:
        return [self.buffers[name] for name in DEFAULT_BUFFERS]

    def _query_points(self, params, suffixes):
        return str(self._named(params).size)

    def _query_actual(self, params, suffixes):
        return str(len(self._named(params).readings))

    def _query_actual_start(self, params, suffixes):
        target = self._named(params)
        return str(target.start if target.readings else 0)

    def _query_actual_end(self, params, suffixes):
        target = self._named(params)
        return str(target.start + len(target.readings) - 1 if target.readings else 0)

    def _query_data(self, params, suffixes):
        if len(params) < 2:
            raise ScpiError(-109)
        start = int(number(params[0], 1, 27_500_000, allow_minmax=False))
        end = int(number(params[1], 1, 27_500_000, allow_minmax=False))
        buffer, elements = self._buffer_and_elements(params[2:])
        target = self.buffers[buffer]
        last = target.start + len(target.readings) - 1
        if not target.readings or start > end or start < target.start or end > last:
            raise ScpiError(-222, f"Data out of range; indexes {start} to {end}")
        first = target.readings[0]
        chosen = [target.readings[k - target.start] for k in range(start, end + 1)]
        return ",".join(self._format(reading, elements, first) for reading in chosen)

    def _set_trace_trigger(self, params, suffixes):
        name = string(one(params)) if params else DEFAULT_BUFFERS[0]
        self._take(self.sense, name, 1)

    def _query_average(self, params, suffixes):
        readings = self._named(params).readings
        if not readings:
            return self.format_number(OVERFLOW)
        return self.format_number(sum(r.reading for r in readings) / len(readings))

    def _set_trigger_load(self, params, suffixes):
        if not params:
            raise ScpiError(-109)
        name = string(params[0])
        if name != "SimpleLoop":
            raise ScpiError(-224, f"Illegal parameter value; trigger model {name} not mocked")
        count = int(number(params[1], 1, MAX_COUNT)) if len(params) > 1 else 1
        if len(params) > 2:
            number(params[2], 0.0, 10_000.0)
        buffer = string(params[3]) if len(params) > 3 else DEFAULT_BUFFERS[0]
        self._buffer(buffer)
        self.trigger_model = SimpleLoop(count, buffer)

    def _set_sweep(self, params, key):
        """`:SOURce:SWEep:<function>:LINear <start>,<stop>,<points>[,<delay>,<count>,<rangeType>,
        <failAbort>,<dual>,"<bufferName>"]`: builds the sweep's trigger model."""
        if len(params) < 3:
            raise ScpiError(-109)
        if len(params) > 9:
            raise ScpiError(-108)
        low, high, _ = self._level_bounds(key)
        start, stop = (number(param, low, high, allow_minmax=False) for param in params[:2])
        points = int(number(params[2], 2, 1e6, allow_minmax=False))
        delay = number(params[3], -1, 10_000, allow_minmax=False) if len(params) > 3 else -1
        if delay not in (-1, 0) and delay < 50e-6:  # -1 is auto delay, 0 none
            raise ScpiError(-222, f"Data out of range; delay {params[3]}")
        count = int(number(params[4], 0, 268_435_455)) if len(params) > 4 else 1
        if count == 0:
            raise ScpiError(-224, "Illegal parameter value; the mock runs no infinite sweep")
        if len(params) > 5:
            choice(params[5], ("AUTO", "BEST", "FIXed"))
        abort = boolean(params[6]) if len(params) > 6 else True
        dual = boolean(params[7]) if len(params) > 7 else False
        buffer = string(params[8]) if len(params) > 8 else DEFAULT_BUFFERS[0]
        self._buffer(buffer)
        step = (stop - start) / (points - 1)
        levels = [start + step * k for k in range(points)]
        if dual:
            levels += levels[::-1]
        self.function = key
        self.trigger_model = Sweep(key, levels * count, abort, buffer)

    def _set_initiate(self, params, suffixes):
        self._no_params(params)
        model = self.trigger_model
        if model is None:
            raise ScpiError(-200, "Execution error; no trigger model loaded")
        if isinstance(model, SimpleLoop):
            self._take(self.sense, model.buffer, model.count)
            return
        # A sweep: clear the buffer, output on, then source-measure each level in turn.
        self.buffers[model.buffer].clear()
        self.output_on = True
        for level in model.levels:
            self.level[model.function] = level
            self._drive()
            self._take(self.sense, model.buffer, 1)
            if model.abort and self.tripped[model.function]:
                break

    def _query_fetch(self, params, suffixes):
        buffer, elements = self._buffer_and_elements(params)
        readings = self.buffers[buffer].readings
        if not readings:
            raise ScpiError(-230, "Data corrupt or stale; the buffer is empty")
        return self._format(readings[-1], elements, readings[0])

    # -- helpers -------------------------------------------------------------------------------

    def _set_flag(self, params, table: dict, key: str) -> None:
        table[key] = boolean(one(params))

    def _numeric_query(self, params, value, low, high, default):
        """`<setting>?` or `<setting>? MINimum|MAXimum|DEFault`."""
        if not params:
            return self.format_number(value)
        word = choice(one(params), ("MINimum", "MAXimum", "DEFault"))
        return self.format_number({"MIN": low, "MAX": high, "DEF": default}[word])


def _range_for(magnitude: float, ranges: tuple[float, ...]) -> float:
    """The lowest range that holds `magnitude` (each reads to 105 % of its name)."""
    for value in ranges:
        if magnitude <= value * OVER_RANGE:
            return value
    return ranges[-1]
