"""A mock Keysight B2900 source/measure unit (a B2902B by default): one or two channels.

Implemented from the Keysight B2900 SCPI Command Reference (B2910-90030), chapter 4; `c` is
the channel suffix (1 by default, 2 on two-channel models, anything else -114):

- `[:SOURce[c]]:FUNCtion:MODE VOLTage|CURRent`
- `[:SOURce[c]]:VOLTage[:LEVel][:IMMediate][:AMPLitude] <n>|MIN|MAX|DEF` (±210 V)
- `[:SOURce[c]]:VOLTage:RANGe <n>|MIN|MAX|DEF`, `:RANGe:AUTO <b>` (ranges 0.2/2/20/200 V,
  each usable to 105 %)
- `[:SOURce[c]]:CURRent[:LEVel][:IMMediate][:AMPLitude] <n>` (±3.03 A)
- `:SENSe[c]:CURRent[:DC]:PROTection[:LEVel] <n>` (compliance, DEF 100 µA), `:TRIPped?`
- `:SENSe[c]:CURRent[:DC]:NPLCycles <n>` (4E-4 to 100 at 50 Hz, DEF 1)
- `:OUTPut[c][:STATe] <b>`, `:OUTPut[c]:ON:AUTO <b>` (DEF ON)
- `:MEASure[:SCALar]:CURRent[:DC]? [(@1)|(@2)|(@1,2)|(@1:2)|(@2,1)|(@2:1)]`: channel 1's
  reading first whatever the list's order
- `:SYSTem:ERRor[:NEXT]?` (`+0,"No error"`) and the IEEE 488.2 commands.

Each channel drives its own output on the shared world, `"<instrument>:<channel>"`. A reading
is the current that output drives through its junction and the load, limited by the
compliance. As on the instrument, a measurement on a channel whose output is off first turns
the output on while `:OUTPut:ON:AUTO` is ON; with it OFF, the open output measures 0 A.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.scpi_parser import ScpiDevice, ScpiError, boolean, choice, number, one

# (range, largest level it sources): each voltage range reaches 105 % of its name.
VOLTAGE_RANGES = ((0.2, 0.21), (2.0, 2.1), (20.0, 21.0), (200.0, 210.0))
MAX_VOLTS = 210.0
MAX_AMPS = 3.03
DEFAULT_COMPLIANCE = 100e-6
NPLC_RANGE = (4e-4, 100.0)  # at a 50 Hz line
LINE_HZ = 50.0
# The models the mock can be, and their channels.
MODELS = {"B2901A": 1, "B2902A": 2, "B2911A": 1, "B2912A": 2, "B2901B": 1, "B2902B": 2}
_CHANNEL_LIST = re.compile(r"^\(@(\d)(?:([,:])(\d))?\)$")


@dataclass
class _Channel:
    """One channel's settings, at their *RST values."""

    function: str = "VOLT"
    voltage: float = 0.0
    current: float = 0.0
    voltage_range: float = 0.2  # what auto range picks for 0 V
    voltage_auto: bool = True
    compliance: float = DEFAULT_COMPLIANCE
    nplc: float = 1.0
    output_on: bool = False
    auto_on: bool = True
    tripped: bool = False


class MockKeysightB2900(ScpiDevice):
    """A B2900 on the bench; channel c drives the world output `"<name>:c"`."""

    NO_ERROR = '+0,"No error"'

    def __init__(self, bench: SimulatedBench, name: str, model: str = "B2902B") -> None:
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, not {model!r}")
        self.bench = bench
        self.name = name
        self.model = model
        maker = "Agilent" if model.endswith("A") else "Keysight"
        self.IDN = f"{maker} Technologies,{model},MY56760001,5.0.2031.3009"
        self.channels: dict[int, _Channel] = {}
        self.reset()
        src = "[:SOURce#]"
        sense = ":SENSe#:CURRent[:DC]"
        level = "[:LEVel][:IMMediate][:AMPLitude]"
        self.command(f"{src}:FUNCtion:MODE", self._set_function, self._query_function)
        self.command(f"{src}:VOLTage:RANGe:AUTO", self._set_v_auto, self._query_v_auto)
        self.command(f"{src}:VOLTage:RANGe", self._set_v_range, self._query_v_range)
        self.command(f"{src}:VOLTage{level}", self._set_v, self._query_v)
        self.command(f"{src}:CURRent{level}", self._set_i, self._query_i)
        self.command(f"{sense}:PROTection:TRIPped", query=self._query_tripped)
        self.command(f"{sense}:PROTection[:LEVel]", self._set_compliance, self._query_compliance)
        self.command(f"{sense}:NPLCycles", self._set_nplc, self._query_nplc)
        self.command(":OUTPut#:ON:AUTO", self._set_auto_on, self._query_auto_on)
        self.command(":OUTPut#[:STATe]", self._set_output, self._query_output)
        self.command(":MEASure[:SCALar]:CURRent[:DC]", query=self._query_measure)

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """*RST: every channel at its defaults, its output off."""
        self.channels = {c: _Channel() for c in range(1, MODELS[self.model] + 1)}
        for channel in self.channels:
            self._drive(channel)

    def output_name(self, channel: int) -> str:
        return f"{self.name}:{channel}"

    def _channel(self, suffixes: list[int]) -> _Channel:
        return self.channels[self._number(suffixes[0])]

    def _number(self, channel: int) -> int:
        if channel not in self.channels:
            raise ScpiError(-114, f"Header suffix out of range; channel {channel}")
        return channel

    def _drive(self, channel: int) -> None:
        """Put one channel's source on the shared world."""
        state = self.channels[channel]
        output = self.output_name(channel)
        if state.function == "VOLT":
            applied = state.voltage
        else:
            # A current source: the divider at the parallel state decides the voltage.
            wired = self.bench.wiring.index(output) if output in self.bench.wiring else 0
            params = self.bench.devices[wired].params
            applied = state.current * (params.r_parallel + params.r_load)
        self.bench.set_output(output, applied, state.output_on)

    # -- source --------------------------------------------------------------------------------

    def _set_function(self, params, suffixes):
        self._channel(suffixes).function = choice(one(params), ("VOLTage", "CURRent"))
        self._drive(suffixes[0])

    def _query_function(self, params, suffixes):
        self._no_params(params)
        return self._channel(suffixes).function

    def _set_v(self, params, suffixes):
        state = self._channel(suffixes)
        value = number(one(params), -MAX_VOLTS, MAX_VOLTS, default=0.0)
        if state.voltage_auto:
            state.voltage_range = _range_for(abs(value))
        elif abs(value) > _reach(state.voltage_range):
            raise ScpiError(-222, "Data out of range; level exceeds the source range")
        state.voltage = value
        self._drive(suffixes[0])

    def _query_v(self, params, suffixes):
        return self._numeric_query(params, self._channel(suffixes).voltage, 0.0, MAX_VOLTS)

    def _set_v_range(self, params, suffixes):
        state = self._channel(suffixes)
        value = number(one(params), -MAX_VOLTS, MAX_VOLTS, default=0.2, minimum=0.2, maximum=200)
        chosen = _range_for(abs(value))
        if abs(state.voltage) > _reach(chosen):
            raise ScpiError(-221, "Settings conflict; source level exceeds the new range")
        state.voltage_range = chosen
        state.voltage_auto = False

    def _query_v_range(self, params, suffixes):
        state = self._channel(suffixes)
        return self._numeric_query(params, state.voltage_range, 0.2, 200.0, minimum=0.2)

    def _set_v_auto(self, params, suffixes):
        self._channel(suffixes).voltage_auto = boolean(one(params))

    def _query_v_auto(self, params, suffixes):
        self._no_params(params)
        return str(int(self._channel(suffixes).voltage_auto))

    def _set_i(self, params, suffixes):
        self._channel(suffixes).current = number(one(params), -MAX_AMPS, MAX_AMPS, default=0.0)
        self._drive(suffixes[0])

    def _query_i(self, params, suffixes):
        return self._numeric_query(params, self._channel(suffixes).current, 0.0, MAX_AMPS)

    # -- sense ---------------------------------------------------------------------------------

    def _set_compliance(self, params, suffixes):
        value = number(one(params), -MAX_AMPS, MAX_AMPS, default=DEFAULT_COMPLIANCE)
        # The level sets both polarities: the limit is its magnitude.
        self._channel(suffixes).compliance = abs(value)

    def _query_compliance(self, params, suffixes):
        state = self._channel(suffixes)
        return self._numeric_query(params, state.compliance, DEFAULT_COMPLIANCE, MAX_AMPS)

    def _query_tripped(self, params, suffixes):
        self._no_params(params)
        return str(int(self._channel(suffixes).tripped))

    def _set_nplc(self, params, suffixes):
        self._channel(suffixes).nplc = number(one(params), *NPLC_RANGE, default=1.0)

    def _query_nplc(self, params, suffixes):
        state = self._channel(suffixes)
        return self._numeric_query(params, state.nplc, 1.0, NPLC_RANGE[1], NPLC_RANGE[0])

    # -- output --------------------------------------------------------------------------------

    def _set_output(self, params, suffixes):
        self._channel(suffixes).output_on = boolean(one(params))
        self._drive(suffixes[0])

    def _query_output(self, params, suffixes):
        self._no_params(params)
        return str(int(self._channel(suffixes).output_on))

    def _set_auto_on(self, params, suffixes):
        self._channel(suffixes).auto_on = boolean(one(params))

    def _query_auto_on(self, params, suffixes):
        self._no_params(params)
        return str(int(self._channel(suffixes).auto_on))

    # -- measurement ---------------------------------------------------------------------------

    def _query_measure(self, params, suffixes):
        channels = self._channel_list(params)
        return ",".join(self.format_number(self._measure(channel)) for channel in channels)

    def _channel_list(self, params: list[str]) -> list[int]:
        """`(@1)`, `(@1,2)`, `(@2:1)`...: the channels named, in channel order (default 1)."""
        if not params:
            return [1]
        text = ",".join(params).replace(" ", "")  # the parser split `(@1,2)` at its comma
        found = _CHANNEL_LIST.match(text)
        if found is None:
            raise ScpiError(-104, f"Data type error; expected a channel list, got {text}")
        first, _, second = found.groups()
        named = {int(first)} | ({int(second)} if second else set())
        for channel in named:
            if channel not in self.channels:
                raise ScpiError(-222, f"Data out of range; no channel {channel}")
        return sorted(named)

    def _measure(self, channel: int) -> float:
        state = self.channels[channel]
        if not state.output_on and state.auto_on:
            state.output_on = True
            self._drive(channel)
        if not state.output_on:
            state.tripped = False
            return 0.0
        current = self.bench.current_a(state.nplc / LINE_HZ, output=self.output_name(channel))
        state.tripped = abs(current) >= state.compliance
        if state.tripped:
            current = state.compliance if current >= 0 else -state.compliance
        return current

    # -- helpers -------------------------------------------------------------------------------

    def _numeric_query(self, params, value, default, maximum, minimum=None):
        """`<setting>?` or `<setting>? MINimum|MAXimum|DEFault`."""
        if not params:
            return self.format_number(value)
        word = choice(one(params), ("MINimum", "MAXimum", "DEFault"))
        low = -maximum if minimum is None else minimum
        return self.format_number({"MIN": low, "MAX": maximum, "DEF": default}[word])


def _reach(voltage_range: float) -> float:
    """The largest level a voltage range sources."""
    return dict(VOLTAGE_RANGES)[voltage_range]


def _range_for(magnitude: float) -> float:
    """The lowest voltage range that sources `magnitude`."""
    for voltage_range, reach in VOLTAGE_RANGES:
        if magnitude <= reach:
            return voltage_range
    return VOLTAGE_RANGES[-1][0]
