"""Keithley Series 2600B System SourceMeters (2601B … 2636B), spoken to in TSP.

Commands follow the Series 2600B Reference Manual, TSP command reference. The instrument has
one channel (`smua`: 2601B, 2611B, 2635B) or two (`smua`, `smub`); each channel is a `Source`
of its own, with the same limits, ramps and safe shutdown as every other source:

    with Keithley2600(rm.open_resource("GPIB0::26::INSTR"), limits) as smu:
        smu.source(1).set_bias(0.30)      # smua.source.levelv = ..., ramped
        smu.source(2).set_bias(0.28)      # smub
        smu.source(1).measure_current()   # print(smua.measure.i())
    # closing ramps every channel to 0 V and turns its output off

On connect the driver asks `localnode.model` how many channels there are; then, per channel,
it reads `source.output`, `source.func` and `source.levelv`, refuses to take over an output left
on beyond the limits (or sourcing current), selects `smuX.OUTPUT_DCVOLTS` while the output is
off and sets `source.limiti` to the limit's compliance.
"""

from __future__ import annotations

import pyvisa
from smtjlab.instruments.keithley import Reading
from smtjlab.instruments.registry import register
from smtjlab.instruments.safety import (
    BiasLimits,
    MultiChannelSource,
    SettingBias,
    SourceState,
)
from smtjlab.instruments.scpi import InstrumentError, Number
from smtjlab.instruments.tsp import Boolean, Constant, TspAttribute, TspInstrument

SINGLE_CHANNEL_MODELS = ("2601B", "2611B", "2635B")
# The family's widest ranges (2611B … 2636B: 202 V; 2601B/2602B: 3.03 A); each model refuses
# what is beyond its own with error 1101 "Parameter too big".
MAX_V = 202.0
MAX_A = 3.03

_ON_OFF = Constant({True: ("{smu}.OUTPUT_ON", 1), False: ("{smu}.OUTPUT_OFF", 0)}, otherwise=False)
_AUTORANGE = Constant({True: ("{smu}.AUTORANGE_ON", 1), False: ("{smu}.AUTORANGE_OFF", 0)})


class SmuChannel(SettingBias):
    """One channel (`smua` or `smub`) of a 2600B: a voltage `Source` under `BiasLimits`."""

    _function = TspAttribute(
        "{smu}.source.func",
        "source function",
        Constant({"voltage": ("{smu}.OUTPUT_DCVOLTS", 1), "current": ("{smu}.OUTPUT_DCAMPS", 0)}),
    )
    _level = TspAttribute("{smu}.source.levelv", "source voltage level in V", Number(-MAX_V, MAX_V))
    # OUTPUT_HIGH_Z (2) is an off state too: the output relay is open.
    _output_state = TspAttribute("{smu}.source.output", "output state", _ON_OFF)
    _compliance = TspAttribute("{smu}.source.limiti", "current limit in A", Number(0, MAX_A))

    voltage_range = TspAttribute(
        "{smu}.source.rangev", "source range in V (the lowest that holds it)", Number(-MAX_V, MAX_V)
    )
    voltage_autorange = TspAttribute("{smu}.source.autorangev", "source auto range", _AUTORANGE)
    nplc = TspAttribute(
        "{smu}.measure.nplc", "integration time in power-line cycles", Number(0.001, 25)
    )
    current_range = TspAttribute(
        "{smu}.measure.rangei", "current measurement range in A", Number(-MAX_A, MAX_A)
    )
    current_autorange = TspAttribute(
        "{smu}.measure.autorangei", "current measurement auto range", _AUTORANGE
    )
    compliance_tripped = TspAttribute(
        "{smu}.source.compliance", "the source is held at its limit", Boolean(), readonly=True
    )

    def __init__(self, instrument: Keithley2600, channel: int) -> None:
        self.instrument = instrument
        self.channel = channel
        self.smu = "smu" + "ab"[channel - 1]
        self.scpi_fields = {"smu": self.smu}
        self.limits = instrument.limits
        self._adopt_output()
        self._write_compliance(self.limits.compliance_a)

    @property
    def name(self) -> str:
        return f"{self.instrument.name} {self.smu}"

    def write(self, command: str) -> None:
        self.instrument.write(command)

    def query(self, command: str, parse=str):
        return self.instrument.query(command, parse)

    def read_state(self) -> SourceState:
        """The level in V and the output state as the instrument reports them, in one query."""
        level, output = self.instrument.print_values(
            f"{self.smu}.source.levelv, {self.smu}.source.output"
        )
        return SourceState(level, output == 1)

    def measure_current(self) -> float:
        """One current reading in A: `print(smuX.measure.i())`; the output must be on."""
        self._require_output("measure.i()")
        return self.instrument.print_values(f"{self.smu}.measure.i()")[0]

    def read(self) -> Reading:
        """Current and voltage from one measurement: `print(smuX.measure.iv())`."""
        self._require_output("measure.iv()")
        values = self.instrument.print_values(f"{self.smu}.measure.iv()")
        if len(values) != 2:
            raise InstrumentError(f"{self.name}: measure.iv() returned {len(values)} values")
        return Reading(voltage=values[1], current=values[0])

    def close(self) -> None:
        """A channel closes with its instrument; closing it alone makes it safe."""
        self.shutdown()

    def _require_output(self, call: str) -> None:
        if not self._output:
            raise InstrumentError(f"{self.name}: {call} needs the output on; set a bias first")


@register("keithley2600", role="source")
class Keithley2600(MultiChannelSource, TspInstrument):
    """Keithley 2600B System SourceMeter: `source(1)` is `smua`, `source(2)` is `smub`."""

    IDN_PATTERN = r"Keithley Instruments.*, Model 26(?:0[124]|1[124]|3[456])B\b"
    CHANNELS = 2  # the most a 2600B has; an instance knows its own model's

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        limits: BiasLimits | None = None,
        **kwargs,
    ) -> None:
        super().__init__(resource, **kwargs)
        self.limits = limits or BiasLimits()
        self.model = self.query("print(localnode.model)")
        self.CHANNELS = 1 if self.model in SINGLE_CHANNEL_MODELS else 2
        self._channels = [SmuChannel(self, channel) for channel in range(1, self.CHANNELS + 1)]

    def source(self, channel: int = 1) -> SmuChannel:
        """Channel `channel`: 1 is `smua`, 2 is `smub`."""
        if not 1 <= channel <= self.CHANNELS:
            raise InstrumentError(
                f"{self.name}: no source channel {channel} (a {self.model} has {self.CHANNELS})"
            )
        return self._channels[channel - 1]
