"""The Keithley 2450 family (2450, 2460, 2461, 2470) in its native SCPI command set.

Commands follow the Model 2450 Interactive SourceMeter Reference Manual (2450-901-01), section 6,
and the 2460/2461/2470 manuals, whose SCPI trees are the same. The 2450 keeps the 2400's source
and output headers (`:SOURce:VOLTage:LEVel`, `:OUTPut:STATe`) but not the rest:

- the current compliance is a source limit, `:SOURce:VOLTage:ILIMit`, not `:SENSe:...:PROTection`;
- a measurement goes into a reading buffer (`defbuffer1` unless told otherwise), and `:READ?`
  returns the buffer elements asked for (`:READ? "defbuffer1",SOURce,READing`) instead of the
  2400's `:FORMat:ELEMents` list;
- the instrument speaks one of three command sets (`*LANG?`: SCPI, TSP, or SCPI2400, the 2400
  emulation); this driver speaks SCPI and refuses to start on the others, since every command
  it sends would be an error there.

The safety surface (`set_bias`, `set_compliance`, `shutdown`, limits and ramps) is `SourceMeter`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvisa
from smtjlab.instruments.keithley import SourceMeter
from smtjlab.instruments.registry import register
from smtjlab.instruments.safety import BiasLimits
from smtjlab.instruments.scpi import Flag, InstrumentError, Number, ScpiInstrument, Setting

DEFAULT_BUFFER = "defbuffer1"
# What `:SENSe:FUNCtion?` answers, by the measure function it names.
SENSE_FUNCTIONS = {"CURR:DC": "current", "VOLT:DC": "voltage", "RES": "resistance"}


@dataclass(frozen=True)
class BufferReading:
    """One measurement as the buffer holds it: the reading, the source value, the time."""

    reading: float
    source: float
    relative_time_s: float


@register("keithley2450", role="source")
class Keithley2450(SourceMeter):
    """Keithley 2450/2460/2461/2470 SourceMeter over SCPI (`*LANG SCPI`), sourcing voltage."""

    # The 2450 manual of 2013 (Rev. B) shows "KEITHLEY INSTRUMENTS INC.,MODEL 2450,...", later
    # manuals and firmware "KEITHLEY INSTRUMENTS,MODEL 2470,...": both are this family.
    IDN_PATTERN = r"KEITHLEY INSTRUMENTS(?: INC\.)?,MODEL 24(?:50|60|61|70)\b"

    # The family's widest ranges (2470: ±1100 V; 2460/2461: 7.35 A); each model's own range is
    # the instrument's to enforce, and the bias limits sit far inside all of them.
    _compliance = Setting(":SOURce:VOLTage:ILIMit:LEVel", "current limit in A", Number(-7.35, 7.35))
    compliance_tripped = Setting(
        ":SOURce:VOLTage:ILIMit:LEVel:TRIPped",
        "the output is held at the current limit",
        Flag(),
        readonly=True,
    )
    voltage_range = Setting(
        ":SOURce:VOLTage:RANGe",
        "source range in V (selects the lowest range that holds it)",
        Number(-1100, 1100),
    )
    voltage_autorange = Setting(":SOURce:VOLTage:RANGe:AUTO", "source auto range", Flag())
    readback = Setting(
        ":SOURce:VOLTage:READ:BACK", "record the measured, not the programmed, source value", Flag()
    )
    nplc = Setting(
        ":SENSe:CURRent:NPLCycles", "integration time in power-line cycles", Number(0.01, 10)
    )
    current_range = Setting(
        ":SENSe:CURRent:RANGe", "current measurement range in A", Number(-7.35, 7.35)
    )
    current_autorange = Setting(":SENSe:CURRent:RANGe:AUTO", "current auto range", Flag())
    remote_sense = Setting(":SENSe:CURRent:RSENse", "four-wire sensing", Flag())

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        limits: BiasLimits | None = None,
        **kwargs,
    ) -> None:
        # The command set is checked before anything else is sent: in TSP or 2400 emulation
        # every SCPI command below would be refused.
        ScpiInstrument.__init__(self, resource, **kwargs)
        language = self.query("*LANG?")
        if language.upper() != "SCPI":
            raise InstrumentError(
                f"{self.name}: the instrument speaks {language!r}, not 'SCPI'; send *LANG SCPI"
                " (or pick SCPI under MENU > System > Settings > Command Set) and power-cycle it"
            )
        super().__init__(resource, limits, **kwargs)

    # -- measuring -----------------------------------------------------------------------------

    @property
    def sense_function(self) -> str:
        """What `:READ?` measures: "current", "voltage" or "resistance"."""

        def parse(text: str) -> str:
            name = text.strip('"').upper()
            if name not in SENSE_FUNCTIONS:
                raise ValueError(f"unexpected reply {text!r}")
            return SENSE_FUNCTIONS[name]

        return self.query(":SENSe:FUNCtion?", parse)

    def sense_current(self) -> None:
        """Measure current: `:SENSe:FUNCtion "CURRent"`."""
        self.write(':SENSe:FUNCtion "CURRent"')

    def read(self, buffer: str = DEFAULT_BUFFER) -> BufferReading:
        """Make one measurement into `buffer` and return it with its source value and time."""
        command = f':READ? "{_name(buffer)}",READing,SOURce,RELative'
        return self._buffer_reading(self.query_floats(command), command)

    def measure_current(self, buffer: str = DEFAULT_BUFFER) -> float:
        """One current reading in A: `:MEASure:CURRent?`, which also selects current sensing."""
        command = f':MEASure:CURRent? "{_name(buffer)}"'
        return self.query(command, float)

    # -- reading buffers -----------------------------------------------------------------------

    def buffer_count(self, buffer: str = DEFAULT_BUFFER) -> int:
        """How many readings `buffer` holds: `:TRACe:ACTual?`."""
        return self.query(f':TRACe:ACTual? "{_name(buffer)}"', int)

    def clear_buffer(self, buffer: str = DEFAULT_BUFFER) -> None:
        """Empty `buffer`: `:TRACe:CLEar`."""
        self.write(f':TRACe:CLEar "{_name(buffer)}"')

    def buffer_readings(self, buffer: str = DEFAULT_BUFFER) -> list[BufferReading]:
        """Every reading `buffer` holds, oldest first: `:TRACe:DATA? 1,<n>`."""
        count = self.buffer_count(buffer)
        if count == 0:
            return []
        command = f':TRACe:DATA? 1,{count},"{_name(buffer)}",READing,SOURce,RELative'
        values = self.query_floats(command)
        if len(values) != 3 * count:
            raise InstrumentError(
                f"{self.name}: {command!r} returned {len(values)} values for {count} readings"
            )
        return [self._buffer_reading(values[k : k + 3], command) for k in range(0, len(values), 3)]

    def _buffer_reading(self, values: list[float], command: str) -> BufferReading:
        if len(values) != 3:
            raise InstrumentError(
                f"{self.name}: {command!r} returned {len(values)} values, not reading,source,time"
            )
        return BufferReading(*values)


def _name(buffer: str) -> str:
    """A buffer name as a quoted SCPI string may hold it (letters, digits and underscores)."""
    if not buffer or not buffer.replace("_", "").isalnum() or not buffer[0].isalpha():
        raise InstrumentError(f"{buffer!r} is not a reading buffer name")
    return buffer
