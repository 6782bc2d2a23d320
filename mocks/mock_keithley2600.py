"""A mock Keithley 2600B System SourceMeter, spoken to in TSP (`mocks/tsp_interpreter.py`).

From the Series 2600B Reference Manual (TSP command reference) and the models' specifications:

- `smua` and, on the two-channel models, `smub`; each channel's source drives the world output
  `"<instrument>:1"` / `"<instrument>:2"`, so two junctions on two channels are biased apart;
- `smuX.source.func` (`smuX.OUTPUT_DCVOLTS` 1, `OUTPUT_DCAMPS` 0), `.levelv`, `.leveli`,
  `.limitv`, `.limiti`, `.rangev`, `.rangei`, `.autorangev`, `.autorangei`, `.output`
  (`OUTPUT_OFF` 0, `OUTPUT_ON` 1, `OUTPUT_HIGH_Z` 2), `.compliance` (read-only, true while
  the source is held at its limit);
- `smuX.measure.i()`, `.v()`, `.iv()` (current, then voltage), `.r()`, `.p()`, `.nplc`
  (0.001 to 25), `.rangei`, `.rangev`, `.autorangei`, `.autorangev`, `.autozero`, `.count`;
- `smuX.sense` (`SENSE_LOCAL` 0, `SENSE_REMOTE` 1), `smuX.reset()`;
- `status.measurement.instrument.smuX.condition` (bit 0: at the voltage limit, bit 1: at the
  current limit);
- `localnode.model`, `.serialno`, `.revision`, `.description`, `.linefreq`, `.reset()`,
  `reset()`, `delay(s)`, `print`, `errorqueue`, `format.asciiprecision` and `*IDN?`.

Ranges are the model's: 100 mV to 40 V and up to 3 A on the 2601B/2602B/2604B, 200 mV to
200 V and up to 1.5 A on the others; a source level may reach 101 % of the top range. A value
beyond the range is refused with 1101 "Parameter too big" (or 1102 "Parameter too small") and
the setting keeps its old value. Readings come from the shared world: the current the output
drives through its junction and the load, held at `limiti` when it would exceed it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.tsp_interpreter import (
    Attribute,
    Interpreter,
    TspObject,
    number_in,
    one_of,
)

VOLTS_40 = (0.1, 1.0, 6.0, 40.0)
VOLTS_200 = (0.2, 2.0, 20.0, 200.0)
_AMPS = (100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0)
AMPS_3 = (*_AMPS, 3.0)
AMPS_1_5 = (*_AMPS, 1.5)
OVER_RANGE = 1.01  # source and limit values may reach 101 % of the top range
VOLTAGE_LIMIT, CURRENT_LIMIT = 1.0, 2.0  # the measurement status condition register's bits


@dataclass(frozen=True)
class Model:
    """What differs between the 2600B models: channels and ranges."""

    name: str
    channels: int
    voltage_ranges: tuple[float, ...]
    current_ranges: tuple[float, ...]


MODELS = {
    model.name: model
    for model in (
        Model("2601B", 1, VOLTS_40, AMPS_3),
        Model("2602B", 2, VOLTS_40, AMPS_3),
        Model("2604B", 2, VOLTS_40, AMPS_3),
        Model("2611B", 1, VOLTS_200, AMPS_1_5),
        Model("2612B", 2, VOLTS_200, AMPS_1_5),
        Model("2614B", 2, VOLTS_200, AMPS_1_5),
        Model("2634B", 2, VOLTS_200, (1e-9, 10e-9, *AMPS_1_5)),
        Model("2635B", 1, VOLTS_200, (100e-12, 1e-9, 10e-9, *AMPS_1_5)),
        Model("2636B", 2, VOLTS_200, (100e-12, 1e-9, 10e-9, *AMPS_1_5)),
    )
}

DCAMPS, DCVOLTS = 0.0, 1.0
OUTPUT_OFF, OUTPUT_ON, OUTPUT_HIGH_Z = 0.0, 1.0, 2.0
CONSTANTS = {
    "OUTPUT_DCAMPS": DCAMPS,
    "OUTPUT_DCVOLTS": DCVOLTS,
    "OUTPUT_OFF": OUTPUT_OFF,
    "OUTPUT_ON": OUTPUT_ON,
    "OUTPUT_HIGH_Z": OUTPUT_HIGH_Z,
    "AUTORANGE_OFF": 0.0,
    "AUTORANGE_ON": 1.0,
    "AUTORANGE_FOLLOW_LIMIT": 2.0,
    "AUTOZERO_OFF": 0.0,
    "AUTOZERO_ONCE": 1.0,
    "AUTOZERO_AUTO": 2.0,
    "SENSE_LOCAL": 0.0,
    "SENSE_REMOTE": 1.0,
    "SENSE_CALA": 3.0,
}


class SmuChannel:
    """One SMU channel (`smua`, `smub`): its source and measure settings and the world output."""

    def __init__(self, letter: str, model: Model, world: SimulatedBench, output: str) -> None:
        self.path = f"smu{letter}"
        self.model = model
        self.world = world
        self.output_name = output
        self.linefreq = 60.0
        self.reset()

    def reset(self) -> None:
        """The channel's reset defaults (smuX.reset())."""
        self.func = DCVOLTS
        self.levelv = self.leveli = 0.0
        self.limitv, self.limiti = 20.0, 100e-3
        self.rangev, self.rangei = self.model.voltage_ranges[0], self.model.current_ranges[0]
        self.autorangev = self.autorangei = 1.0
        self.output = OUTPUT_OFF
        self.nplc = 1.0
        self.measure_rangei, self.measure_rangev = self.rangei, self.rangev
        self.measure_autorangei = self.measure_autorangev = 1.0
        self.autozero = 2.0
        self.count = 1.0
        self.sense = 0.0
        self._drive()

    # -- the TSP objects ------------------------------------------------------------------------

    def tsp_object(self) -> TspObject:
        volts_max = OVER_RANGE * self.model.voltage_ranges[-1]
        amps_max = OVER_RANGE * self.model.current_ranges[-1]
        amps_min = 0.1 * self.model.current_ranges[0]
        p = self.path
        source = TspObject(
            f"{p}.source",
            {
                "func": self._setting("func", lambda v: one_of(v, (0.0, 1.0), f"{p}.source.func")),
                "levelv": self._setting(
                    "levelv", lambda v: number_in(v, -volts_max, volts_max, f"{p}.source.levelv")
                ),
                "leveli": self._setting(
                    "leveli", lambda v: number_in(v, -amps_max, amps_max, f"{p}.source.leveli")
                ),
                "limitv": self._setting(
                    "limitv", lambda v: number_in(v, 10e-3, volts_max, f"{p}.source.limitv")
                ),
                "limiti": self._setting(
                    "limiti", lambda v: number_in(v, amps_min, amps_max, f"{p}.source.limiti")
                ),
                "rangev": self._range("rangev", self.model.voltage_ranges, "autorangev"),
                "rangei": self._range("rangei", self.model.current_ranges, "autorangei"),
                "autorangev": self._setting("autorangev", self._flag("source.autorangev")),
                "autorangei": self._setting("autorangei", self._flag("source.autorangei")),
                "output": self._setting(
                    "output", lambda v: one_of(v, (0.0, 1.0, 2.0), f"{p}.source.output")
                ),
                "compliance": Attribute(self._in_compliance),
            },
        )
        measure = TspObject(
            f"{p}.measure",
            {
                "i": lambda *buffer: [self.measure_i()],
                "v": lambda *buffer: [self.measure_v()],
                "iv": lambda *buffers: [self.measure_i(), self.measure_v()],
                "r": lambda *buffer: [self._resistance()],
                "p": lambda *buffer: [self.measure_i() * self.measure_v()],
                "nplc": self._setting(
                    "nplc", lambda v: number_in(v, 0.001, 25.0, f"{p}.measure.nplc")
                ),
                "rangei": self._range("measure_rangei", self.model.current_ranges, None),
                "rangev": self._range("measure_rangev", self.model.voltage_ranges, None),
                "autorangei": self._setting("measure_autorangei", self._flag("autorangei")),
                "autorangev": self._setting("measure_autorangev", self._flag("autorangev")),
                "autozero": self._setting(
                    "autozero", lambda v: one_of(v, (0.0, 1.0, 2.0), f"{p}.measure.autozero")
                ),
                "count": self._setting(
                    "count", lambda v: float(int(number_in(v, 1, 60000, f"{p}.measure.count")))
                ),
            },
        )
        members: dict[str, Any] = dict(CONSTANTS)
        members.update(
            source=source,
            measure=measure,
            sense=self._setting("sense", lambda v: one_of(v, (0.0, 1.0, 3.0), f"{p}.sense")),
            reset=lambda *args: self.reset(),
        )
        return TspObject(p, members)

    def _setting(self, name: str, check) -> Attribute:
        def store(value: Any) -> None:
            setattr(self, name, check(value))
            if name in ("levelv", "leveli") and self._autorange(name):
                self._follow_range(name)
            self._drive()

        return Attribute(lambda: getattr(self, name), store)

    def _flag(self, name: str):
        return lambda value: one_of(value, (0.0, 1.0), f"{self.path}.{name}")

    def _range(self, name: str, ranges: tuple[float, ...], autorange: str | None) -> Attribute:
        """Setting a range picks the lowest that holds the value and turns autorange off."""

        def store(value: Any) -> None:
            magnitude = abs(number_in(value, -ranges[-1], ranges[-1], f"{self.path}.{name}"))
            setattr(self, name, next(r for r in ranges if magnitude <= r * (1 + 1e-9)))
            if autorange:
                setattr(self, autorange, 0.0)

        return Attribute(lambda: getattr(self, name), store)

    def _autorange(self, level: str) -> bool:
        return bool(self.autorangev if level == "levelv" else self.autorangei)

    def _follow_range(self, level: str) -> None:
        ranges = self.model.voltage_ranges if level == "levelv" else self.model.current_ranges
        magnitude = abs(getattr(self, level))
        chosen = next((r for r in ranges if magnitude <= r * OVER_RANGE), ranges[-1])
        setattr(self, "rangev" if level == "levelv" else "rangei", chosen)

    # -- the world ------------------------------------------------------------------------------

    @property
    def output_on(self) -> bool:
        return self.output == OUTPUT_ON

    def _drive(self) -> None:
        """Put what the channel sources on the shared world."""
        if self.func == DCVOLTS:
            applied = self.levelv
        else:
            # A current source: the divider at its parallel state sets the voltage, up to limitv.
            params = self.world.devices[0].params
            applied = self.leveli * (params.r_parallel + params.r_load)
            applied = max(-self.limitv, min(self.limitv, applied))
        self.world.set_output(self.output_name, applied, self.output_on)

    def _driven_current(self) -> float:
        return self.world.current_a(self.nplc / self.linefreq, output=self.output_name)

    def measure_i(self) -> float:
        if not self.output_on:
            return 0.0
        if self.func == DCAMPS:
            return self.leveli
        current = self._driven_current()
        return max(-self.limiti, min(self.limiti, current))

    def measure_v(self) -> float:
        return self.world.output(self.output_name)[0] if self.output_on else 0.0

    def _resistance(self) -> float:
        current = self.measure_i()
        return self.measure_v() / current if current else 9.91e37  # the instrument's NaN

    def _in_compliance(self) -> bool:
        return self.condition() != 0.0

    def condition(self) -> float:
        """status.measurement.instrument.smuX.condition: bit 0 voltage limit, bit 1 current."""
        if not self.output_on:
            return 0.0
        if self.func == DCVOLTS:
            return CURRENT_LIMIT if abs(self._driven_current()) >= self.limiti else 0.0
        params = self.world.devices[0].params
        wanted = abs(self.leveli) * (params.r_parallel + params.r_load)
        return VOLTAGE_LIMIT if wanted >= self.limitv else 0.0


class MockKeithley2600(Interpreter):
    """A 2600B on the bench: channel n drives the world output `f"{name}:{n}"`."""

    def __init__(self, world: SimulatedBench, name: str = "smu", model: str = "2636B") -> None:
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"no 2600B model {model!r}; models: {', '.join(MODELS)}")
        self.model = MODELS[model]
        self.IDN = f"Keithley Instruments Inc., Model {model}, 4500001, 4.0.5"
        self.world = world
        self.channels = [
            SmuChannel(letter, self.model, world, f"{name}:{index}")
            for index, letter in enumerate("ab"[: self.model.channels], 1)
        ]
        for channel in self.channels:
            self.globals[channel.path] = channel.tsp_object()
        self.globals.update(
            localnode=TspObject(
                "localnode",
                {
                    "model": Attribute(lambda: model),
                    "serialno": Attribute(lambda: "4500001"),
                    "revision": Attribute(lambda: "4.0.5"),
                    "description": Attribute(lambda: f"Keithley Instruments SMU {model}"),
                    "linefreq": Attribute(lambda: self.channels[0].linefreq, self._set_linefreq),
                    "reset": lambda *args: self.reset(),
                },
            ),
            delay=self._delay,
            status=_status_objects(self.channels),
        )

    def reset(self) -> None:
        """reset() / *RST: every channel to its defaults, output off."""
        for channel in getattr(self, "channels", []):
            channel.reset()
        self.ascii_precision = 6

    def _set_linefreq(self, value: Any) -> None:
        frequency = one_of(value, (50.0, 60.0), "localnode.linefreq")
        for channel in self.channels:
            channel.linefreq = frequency

    @staticmethod
    def _delay(seconds: Any = None) -> None:
        # Real time, capped: a script's pause must not stall a test for long.
        time.sleep(min(number_in(seconds, 0.0, 1e6, "delay"), 0.1))


def _status_objects(channels: list[SmuChannel]) -> TspObject:
    """`status.measurement.instrument.smuX.condition`: which limit each channel is held at."""
    instrument = "status.measurement.instrument"
    per_channel = {
        channel.path: TspObject(
            f"{instrument}.{channel.path}", {"condition": Attribute(channel.condition)}
        )
        for channel in channels
    }
    measurement = TspObject(
        "status.measurement", {"instrument": TspObject(instrument, per_channel)}
    )
    return TspObject("status", {"measurement": measurement})
