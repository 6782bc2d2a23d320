"""Keysight (formerly Agilent) B2900 precision source/measure units: one or two channels.

Commands follow the Keysight B2900 SCPI Command Reference (B2910-90030), chapter 4. Every
source and sense header carries the channel as a numeric suffix (`:SOURce2:VOLTage 0.3`,
`:SENSe2:CURRent:PROTection 1e-4`, `:OUTPut2 ON`); spot measurements name their channels in a
channel list (`:MEASure:CURRent? (@1,2)`) and answer channel 1 first.

The B2901/B2911 have one channel, the B2902/B2912 two. `KeysightB2900` is the instrument;
each channel is a `B2900Channel`, a `Source` of its own under the shared `BiasLimits`, so a
station biases two devices from one B2902 (`source_channel = 1` and `2`). Closing the
instrument ramps every channel to 0 V and turns its output off.

On connect each channel turns the instrument's automatic output-on off
(`:OUTPut:ON:AUTO OFF`): left on (the factory default), a measurement would switch an output
on at whatever level it holds, behind the limits' back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import pyvisa
from smtjlab.instruments.registry import register
from smtjlab.instruments.safety import BiasLimits, MultiChannelSource, SettingBias
from smtjlab.instruments.scpi import (
    Choice,
    Flag,
    InstrumentError,
    Number,
    ScpiInstrument,
    Setting,
)

T = TypeVar("T")
# The *IDN? model field: B2901, B2902, B2911, B2912 (A, B or C) and the BL models.
_MODEL = re.compile(r"B29(?:0[12]|1[012])[ABC]L?")
TWO_CHANNEL_MODELS = ("B2902", "B2912")
MAX_VOLTS = 210.0  # the 200 V range with its 5 % over-range
MAX_AMPS = 3.03  # DC, the 3 A range with its over-range


class B2900Channel(SettingBias):
    """One output channel of a B2900: voltage biasing under the limits, and its measurements.

    On connect it reads the output state and level, refuses an output that is on sourcing
    current or beyond the limits, selects voltage sourcing (only while the output is off), turns
    automatic output-on off and sets the compliance to the limit's.
    """

    _output_state = Setting(":OUTPut{channel}", "output switch", Flag())
    _function = Setting(
        ":SOURce{channel}:FUNCtion:MODE",
        "source function",
        Choice({"voltage": "VOLTage", "current": "CURRent"}),
    )
    _level = Setting(
        ":SOURce{channel}:VOLTage", "source voltage level in V", Number(-MAX_VOLTS, MAX_VOLTS)
    )
    _compliance = Setting(
        ":SENSe{channel}:CURRent:PROTection", "current compliance in A", Number(0, MAX_AMPS)
    )
    # Private like the level and output: turned on, it would let a measurement switch the
    # output on behind the limits.
    _auto_output_on = Setting(
        ":OUTPut{channel}:ON:AUTO", "a measurement turns the output on by itself", Flag()
    )
    voltage_range = Setting(
        ":SOURce{channel}:VOLTage:RANGe",
        "source range in V (0.2, 2, 20 or 200; the lowest that holds it)",
        Number(-MAX_VOLTS, MAX_VOLTS),
    )
    voltage_autorange = Setting(":SOURce{channel}:VOLTage:RANGe:AUTO", "source auto range", Flag())
    nplc = Setting(
        ":SENSe{channel}:CURRent:NPLCycles",
        "integration time in power-line cycles",
        Number(4e-4, 120),
    )
    compliance_tripped = Setting(
        ":SENSe{channel}:CURRent:PROTection:TRIPped",
        "the channel is in compliance",
        Flag(),
        readonly=True,
    )

    def __init__(self, instrument: KeysightB2900, channel: int, limits: BiasLimits) -> None:
        self.instrument = instrument
        self.channel = channel
        self.limits = limits
        self.scpi_fields: dict[str, Any] = {"channel": channel}
        self._adopt_output()
        self._auto_output_on = False
        self._write_compliance(limits.compliance_a)

    @property
    def name(self) -> str:
        return f"{self.instrument.name} channel {self.channel}"

    # The channel's settings go through the instrument's session and error checks.
    def write(self, command: str) -> None:
        self.instrument.write(command)

    def query(self, command: str, parse: Callable[[str], T]) -> T:
        return self.instrument.query(command, parse)

    def measure_current(self) -> float:
        """One spot current measurement in A (`:MEASure:CURRent? (@n)`); the output must be on."""
        return self.instrument.measure_current(self.channel)[0]

    def close(self) -> None:
        """A channel closes by making itself safe; the instrument closes the session."""
        self.shutdown()


@register("keysight-b2900", role="source")
class KeysightB2900(MultiChannelSource, ScpiInstrument):
    """Keysight B2900 SMU (B2901/B2902/B2911/B2912, A/B/C): each channel a `B2900Channel`.

    `CHANNELS` is 2 on the class (what a station may wire) and the model's own on an instance.
    """

    IDN_PATTERN = rf"(?:Keysight|Agilent) Technologies,{_MODEL.pattern}\b"
    CHANNELS = 2

    def __init__(
        self,
        resource: pyvisa.resources.MessageBasedResource,
        limits: BiasLimits | None = None,
        **kwargs,
    ) -> None:
        super().__init__(resource, **kwargs)
        self.limits = limits or BiasLimits()
        found = _MODEL.search(self.idn)
        if found is None:
            raise InstrumentError(f"{self.name}: *IDN? names no B2900 model: {self.idn!r}")
        self.model = found.group()
        self.CHANNELS = 2 if self.model.startswith(TWO_CHANNEL_MODELS) else 1
        self._channels: list[B2900Channel] = []
        for channel in range(1, self.CHANNELS + 1):
            self._channels.append(B2900Channel(self, channel, self.limits))

    def source(self, channel: int = 1) -> B2900Channel:
        """Output channel `channel` (1, or 2 on a two-channel model)."""
        if not 1 <= channel <= self.CHANNELS:
            raise InstrumentError(
                f"{self.name}: no source channel {channel} (a {self.model} has {self.CHANNELS})"
            )
        return self._channels[channel - 1]

    def measure_current(self, *channels: int) -> list[float]:
        """Spot current measurements in A, one per channel in `channels` (default: channel 1).

        `:MEASure:CURRent? (@1,2)` answers in channel order, whatever the order asked for.
        """
        chosen = sorted(set(channels or (1,)))
        for channel in chosen:
            if not self.source(channel).output_enabled:
                raise InstrumentError(
                    f"{self.name}: channel {channel} needs its output on to measure;"
                    " set a bias first"
                )
        command = f":MEASure:CURRent? (@{','.join(map(str, chosen))})"
        values = self.query_floats(command)
        if len(values) != len(chosen):
            raise InstrumentError(
                f"{self.name}: {command!r} returned {len(values)} values for {len(chosen)} channels"
            )
        order = {channel: value for channel, value in zip(chosen, values, strict=True)}
        return [order[channel] for channel in channels or (1,)]
