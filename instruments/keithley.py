"""Source-measure units: a SCPI base with bias safety built in, and the Keithley 2400 series.

Commands follow the Model 2400 Series SourceMeter User's Manual, section 18. `SourceMeter` holds
what every SCPI SMU shares; a model is a small subclass that names its headers. The Keithley
2450 in its native SCPI (`keithley2450.py`), for example, sets its compliance as a source limit
and reads through a buffer, so it overrides one setting and adds its own reads:

    class Keithley2450(SourceMeter):
        IDN_PATTERN = r"KEITHLEY INSTRUMENTS(?: INC\\.)?,MODEL 24(?:50|60|61|70)\\b"
        _compliance = Setting(":SOURce:VOLTage:ILIMit:LEVel", kind=Number(-7.35, 7.35))

A Keysight B2900 keeps the 2400's source, output and protection headers and names its own IDN
pattern and element header.

The voltage level, output state and compliance are private: they change only through
`set_bias`, `set_compliance` and `shutdown`, which enforce `BiasLimits` (see `safety.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvisa
from smtjlab.instruments.registry import register
from smtjlab.instruments.safety import BiasLimitError, BiasLimits, SettingBias
from smtjlab.instruments.scpi import (
    Choice,
    Flag,
    InstrumentError,
    Number,
    ScpiInstrument,
    Setting,
    short_form,
)

ELEMENTS = {
    "voltage": "VOLTage",
    "current": "CURRent",
    "resistance": "RESistance",
    "time": "TIME",
    "status": "STATus",
}


@dataclass(frozen=True)
class Reading:
    """One :READ? result; elements not enabled with `elements` are None."""

    voltage: float | None = None
    current: float | None = None
    resistance: float | None = None
    time: float | None = None
    status: float | None = None


class SourceMeter(SettingBias, ScpiInstrument):
    """A SCPI source-measure unit sourcing voltage under `BiasLimits`; use it as a context manager.

    On connect it reads the present level and output state, refuses to take over an output that
    is on beyond the limits, selects voltage sourcing (only while the output is off) and sets
    the compliance to the limit's.
    """

    CHANNELS = 1

    _function = Setting(":SOURce:FUNCtion", "source function", Choice({"voltage": "VOLTage"}))
    _level = Setting(":SOURce:VOLTage:LEVel", "source voltage level in V", Number(-210, 210))
    _output_state = Setting(":OUTPut:STATe", "output relay", Flag())
    _compliance = Setting(
        ":SENSe:CURRent:PROTection:LEVel", "current compliance in A", Number(0, 1.05)
    )

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        limits: BiasLimits | None = None,
        **kwargs,
    ) -> None:
        ScpiInstrument.__init__(self, resource, **kwargs)
        self.limits = limits or BiasLimits()
        highest = type(self)._level.kind.high
        if self.limits.max_abs_v > highest:  # before anything is sent
            raise BiasLimitError(
                f"{self.limits.source}: max_abs_v = {self.limits.max_abs_v:g} V is beyond"
                f" {self.name}'s source range (±{highest:g} V)"
            )
        self._adopt_output(check_function=False)  # the 2400's function query is voltage only
        self._write_compliance(self.limits.compliance_a)

    def source(self, channel: int = 1) -> SourceMeter:
        """The output channel `channel` (a single-channel SMU is its own only source)."""
        if channel != 1:
            raise InstrumentError(f"{self.name}: no source channel {channel} (it has 1)")
        return self


@register("keithley2400", role="source")
class Keithley2400(SourceMeter):
    """Keithley 2400-series SourceMeter (2400, 2401, 2410, 2420, 2425, 2430, 2440) over SCPI."""

    IDN_PATTERN = r"KEITHLEY INSTRUMENTS INC\.,MODEL 24[0-4]\d\b"

    voltage_range = Setting(
        ":SOURce:VOLTage:RANGe",
        "source range in V (selects the lowest range that holds it)",
        Number(-210, 210),
    )
    voltage_autorange = Setting(":SOURce:VOLTage:RANGe:AUTO", "source auto range", Flag())
    nplc = Setting(
        ":SENSe:CURRent:NPLCycles", "integration time in power-line cycles", Number(0.01, 10)
    )
    current_range = Setting(
        ":SENSe:CURRent:RANGe", "current measurement range in A", Number(-1.05, 1.05)
    )
    current_autorange = Setting(":SENSe:CURRent:RANGe:AUTO", "current auto range", Flag())
    compliance_tripped = Setting(
        ":SENSe:CURRent:PROTection:TRIPped",
        "the last reading hit the compliance",
        Flag(),
        readonly=True,
    )

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        limits: BiasLimits | None = None,
        **kwargs,
    ) -> None:
        super().__init__(resource, limits, **kwargs)
        self._elements: tuple[str, ...] = self._query_elements()

    def sense_current(self) -> None:
        """Measure current: `:SENSe:FUNCtion "CURRent"`."""
        self.write(':SENSe:FUNCtion "CURRent"')

    @property
    def elements(self) -> tuple[str, ...]:
        """What :READ? returns, in the instrument's fixed order (voltage, current, ...)."""
        return self._elements

    @elements.setter
    def elements(self, names: tuple[str, ...] | list[str]) -> None:
        unknown = set(names) - set(ELEMENTS)
        if not names or unknown:
            raise InstrumentError(f"{self.name}: elements must be some of {list(ELEMENTS)}")
        ordered = tuple(name for name in ELEMENTS if name in names)
        self.write(":FORMat:ELEMents " + ",".join(ELEMENTS[name] for name in ordered))
        self._elements = ordered

    def _query_elements(self) -> tuple[str, ...]:
        def parse(text: str) -> tuple[str, ...]:
            words = {word.strip().upper() for word in text.split(",")}
            return tuple(
                name
                for name, mnemonic in ELEMENTS.items()
                if mnemonic.upper() in words or short_form(mnemonic) in words
            )

        return self.query(":FORMat:ELEMents?", parse)

    def read(self) -> Reading:
        """Trigger and return one reading (`:READ?`); the output must be on."""
        self._require_output(":READ?")
        values = self.query_floats(":READ?")
        return self._reading(values, ":READ?")

    def measure_current(self) -> float:
        """One current reading in A with `:MEASure:CURRent?` (which selects current sensing)."""
        self._require_output(":MEASure:CURRent?")
        values = self.query_floats(":MEASure:CURRent?")
        current = self._reading(values, ":MEASure:CURRent?").current
        if current is None:
            raise InstrumentError(f"{self.name}: :MEASure:CURRent? returned no current element")
        return current

    def _reading(self, values: list[float], command: str) -> Reading:
        if len(values) != len(self._elements):
            raise InstrumentError(
                f"{self.name}: {command!r} returned {len(values)} values for the elements"
                f" {list(self._elements)}"
            )
        return Reading(**dict(zip(self._elements, values, strict=True)))

    def _require_output(self, command: str) -> None:
        if not self._output:
            raise InstrumentError(f"{self.name}: {command} needs the output on; set a bias first")
