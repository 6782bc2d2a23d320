"""Station files (DESIGN §5.5): the instruments on a bench, their roles, the devices wired to them.

    station = Station.load("lab.toml")             # parsed and validated, one line per mistake
    station = Station.mock(source="replay")         # the built-in mock station (`--mock`)
    station = Station.from_resources(["GPIB0::24::INSTR", "USB0::...::INSTR"])   # `--resource`
    with Bench.open(station) as bench: ...          # smtjlab.bench: the one door to the bench

A station names each mistake with the file, the table and the key. Checks that need the
instruments themselves (a resource that does not answer, a `model` its `*IDN?` contradicts, a role
the instrument found cannot play) are made when the bench opens, in the same words.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib
from pyvisa import rname

from smtjlab.errors import SmtjlabError
from smtjlab.instruments import registry
from smtjlab.instruments.roles import ROLES
from smtjlab.instruments.safety import BiasLimits, limits_from_table

MOCK_LIBRARY = "@smtjlab"
# The built-in mock station's instruments: a Keithley 2400 at its factory GPIB address and a
# Keysight DSO-X 3024T on USB.
MOCK_SMU_RESOURCE = "GPIB0::24::INSTR"
MOCK_SCOPE_RESOURCE = "USB0::0x2A8D::0x1796::MY00000001::INSTR"
# A device's readout framing by default: 25 mV/div about 0.15 V holds both readout levels of the
# divider over the whole safe bias range; 10 samples per τc of the default mock device (1 µs).
DEFAULT_SCALE_V = 0.025
DEFAULT_OFFSET_V = 0.15
DEFAULT_SAMPLE_RATE = 10e6
MOCK_SOURCES = ("model", "replay")
ARRAY_MAX = 4  # devices of the built-in mock array: one per channel of its 4-channel scope
ARRAY_SMU = "keysight-b2900"  # the built-in array's two-channel SMUs


class StationError(SmtjlabError):
    """A station file that is not valid, or a station whose instruments do not match it."""


@dataclass(frozen=True)
class InstrumentSpec:
    name: str
    resource: str
    role: str | None  # None only for `--resource` stations: *IDN? decides
    model: str | None = None


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    source: str
    readout: str
    source_channel: int = 1
    readout_channel: int = 1
    scale_v: float = DEFAULT_SCALE_V
    offset_v: float = DEFAULT_OFFSET_V
    sample_rate: float = DEFAULT_SAMPLE_RATE


@dataclass(frozen=True)
class MockSpec:
    source: str = "model"
    recording: Path | None = None
    seed: int = 0
    spread: str | None = None  # "wafer" | "none"; default: "wafer" for more than one device
    realtime: bool = False  # the mock scope takes each record's real duration


@dataclass(frozen=True)
class Station:
    instruments: tuple[InstrumentSpec, ...]
    devices: tuple[DeviceSpec, ...] = ()
    limits: BiasLimits = field(default_factory=BiasLimits)
    visa_library: str = ""
    simulation: MockSpec | None = None  # the [mock] table
    path: Path | None = None

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "station"

    @property
    def is_mock(self) -> bool:
        return self.visa_library.endswith(MOCK_LIBRARY)

    def with_limits(self, limits: BiasLimits) -> Station:
        return replace(self, limits=limits)

    # -- the ways a station is made ------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike) -> Station:
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as error:
            raise StationError(f"{path}: cannot read station file ({error.strerror})") from None
        except UnicodeDecodeError:
            raise StationError(f"{path}: not a station file (not UTF-8 text)") from None
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise StationError(f"{path}: not valid TOML ({error})") from None
        return parse(table, path)

    @classmethod
    def mock(
        cls,
        source: str = "model",
        seed: int = 0,
        *,
        recording: str | os.PathLike | None = None,
        limits: BiasLimits | None = None,
        channels: int = 1,
        devices: int = 1,
        scale_v: float = DEFAULT_SCALE_V,
        offset_v: float = DEFAULT_OFFSET_V,
        sample_rate: float = DEFAULT_SAMPLE_RATE,
    ) -> Station:
        """The built-in mock station.

        One device (`devices = 1`): one SMU biasing `channels` junctions read by one scope (all at
        one bias). An array (`devices = N`, up to 4): two-channel SMUs, one channel per device,
        each device of one wafer (its own V50, width, τc, readout), read on its own scope channel.
        """
        if source not in MOCK_SOURCES:
            raise StationError(f"mock source must be one of {MOCK_SOURCES}, not {source!r}")
        if not 1 <= devices <= ARRAY_MAX:
            raise StationError(f"--devices must be 1 to {ARRAY_MAX} (one 4-channel scope)")
        simulation = MockSpec(source, Path(recording) if recording else None, seed)
        scope = InstrumentSpec("scope", MOCK_SCOPE_RESOURCE, "scope", "infiniivision")
        if devices > 1:
            smus = tuple(
                InstrumentSpec(f"smu-{chr(97 + k)}", f"GPIB0::{23 - k}::INSTR", "source", ARRAY_SMU)
                for k in range((devices + 1) // 2)
            )
            array = tuple(
                DeviceSpec(
                    f"mtj-{index + 1}",
                    smus[index // 2].name,
                    "scope",
                    index % 2 + 1,
                    index + 1,
                    scale_v,
                    offset_v,
                    sample_rate,
                )
                for index in range(devices)
            )
            wafer = replace(simulation, spread="wafer")
            return cls((*smus, scope), array, limits or BiasLimits(), MOCK_LIBRARY, wafer)
        one = tuple(
            DeviceSpec(f"mtj-{channel}", "smu", "scope", 1, channel, scale_v, offset_v, sample_rate)
            for channel in range(1, channels + 1)
        )
        return cls(
            instruments=(InstrumentSpec("smu", MOCK_SMU_RESOURCE, "source", "keithley2400"), scope),
            devices=one,
            limits=limits or BiasLimits(),
            visa_library=MOCK_LIBRARY,
            simulation=replace(simulation, spread="none"),  # the nominal device on every channel
        )

    @classmethod
    def from_resources(
        cls, resources: list[str], *, limits: BiasLimits | None = None, visa_library: str = ""
    ) -> Station:
        """A station of VISA resources whose roles their `*IDN?` tells (`--resource SMU SCOPE`)."""
        specs = []
        for index, resource in enumerate(resources, 1):
            _check_resource(resource, f"--resource {resource!r}")
            specs.append(InstrumentSpec(f"instrument{index}", resource, None))
        return cls(tuple(specs), (), limits or BiasLimits(), visa_library)


# -- parsing --------------------------------------------------------------------------------------

_TOP = {"visa_library", "limits", "instrument", "device", "mock"}
_INSTRUMENT = {"name", "resource", "role", "model"}
_DEVICE = {
    "name",
    "source",
    "source_channel",
    "readout",
    "readout_channel",
    "scale_v",
    "offset_v",
    "sample_rate",
}
_MOCK = {"source", "recording", "seed", "spread", "realtime"}
MOCK_SPREADS = ("wafer", "none")


class _Problems:
    """Every mistake found, one line each, raised together."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, table: str, message: str) -> None:
        self.lines.append(f"{self.path}: {table}: {message}")

    def raise_any(self) -> None:
        if self.lines:
            raise StationError("\n".join(self.lines))


def parse(table: dict[str, Any], path: Path) -> Station:
    """Validate a station's TOML tables (DESIGN §5.5); every mistake is one line of the error."""
    problems = _Problems(path)
    _unknown(problems, "top level", table, _TOP)
    visa_library = _typed(problems, "top level", table, "visa_library", str, "")
    limits = _limits(problems, path, table.get("limits", {}))

    instruments: list[InstrumentSpec] = []
    for index, entry in enumerate(_tables(problems, table, "instrument"), 1):
        where = f"[[instrument]] #{index}"
        _unknown(problems, where, entry, _INSTRUMENT)
        name = _typed(problems, where, entry, "name", str, None)
        resource = _typed(problems, where, entry, "resource", str, None)
        role = _typed(problems, where, entry, "role", str, None)
        model = _typed(problems, where, entry, "model", str, None)
        if name is not None:
            where = f"[[instrument]] {name!r}"
        if resource is not None:
            try:
                _check_resource(resource, "")
            except StationError as error:
                problems.add(where, f"key 'resource': {error}")
        if role is not None and role not in ROLES:
            problems.add(where, f"key 'role': {role!r} is not one of {', '.join(ROLES)}")
        if model is not None:
            try:
                driver = registry.by_model(model)
            except SmtjlabError as error:
                problems.add(where, f"key 'model': {error}")
            else:
                if role is not None and driver.role != role:
                    problems.add(
                        where, f"key 'role': a {model} is a {driver.role}, it cannot be a {role}"
                    )
                    role = ""  # reported here; devices wired to it are not blamed again
        elif visa_library.endswith(MOCK_LIBRARY):
            problems.add(where, "key 'model' is required on the mock bench (@smtjlab)")
        if None not in (name, resource, role):
            role = role or None
            if any(spec.name == name for spec in instruments):
                problems.add(where, f"key 'name': {name!r} names two instruments")
            instruments.append(InstrumentSpec(name, resource, role, model))
    if not instruments and "instrument" not in table:
        problems.add("top level", "no [[instrument]] tables: a station needs its instruments")

    by_name = {spec.name: spec for spec in instruments}
    devices: list[DeviceSpec] = []
    for index, entry in enumerate(_tables(problems, table, "device"), 1):
        where = f"[[device]] #{index}"
        _unknown(problems, where, entry, _DEVICE)
        values = {
            "name": _typed(problems, where, entry, "name", str, None),
            "source": _typed(problems, where, entry, "source", str, None),
            "readout": _typed(problems, where, entry, "readout", str, None),
            "source_channel": _channel(problems, where, entry, "source_channel"),
            "readout_channel": _channel(problems, where, entry, "readout_channel"),
            "scale_v": _positive(problems, where, entry, "scale_v", DEFAULT_SCALE_V),
            "offset_v": _number(problems, where, entry, "offset_v", DEFAULT_OFFSET_V),
            "sample_rate": _positive(problems, where, entry, "sample_rate", DEFAULT_SAMPLE_RATE),
        }
        if values["name"] is not None:
            where = f"[[device]] {values['name']!r}"
            if any(device.name == values["name"] for device in devices):
                problems.add(where, f"key 'name': {values['name']!r} names two devices")
        roles = {"source": ("source",), "readout": ("scope", "digitizer")}
        for key, wanted in roles.items():
            named = values[key]
            if named is None:
                continue
            spec = by_name.get(named)
            if spec is None:
                problems.add(where, f"key {key!r}: no [[instrument]] is named {named!r}")
            elif spec.role and spec.role not in wanted:
                problems.add(where, f"key {key!r}: {named!r} is a {spec.role}, not a {wanted[0]}")
            else:
                _check_channel(problems, where, spec, values[f"{key}_channel"], f"{key}_channel")
        if None not in (values["name"], values["source"], values["readout"]) and all(
            values[key] is not None for key in ("source_channel", "readout_channel")
        ):
            devices.append(DeviceSpec(**values))

    mock = None
    if "mock" in table:
        mock = _mock(problems, path, table["mock"], visa_library)
    elif visa_library.endswith(MOCK_LIBRARY):
        mock = MockSpec()
    problems.raise_any()
    return Station(tuple(instruments), tuple(devices), limits, visa_library, mock, path)


def _unknown(problems: _Problems, where: str, entry: dict, known: set[str]) -> None:
    for key in entry:
        if key not in known:
            problems.add(where, f"unknown key {key!r} (known: {', '.join(sorted(known))})")


def _tables(problems: _Problems, table: dict, key: str) -> list[dict]:
    entries = table.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(item, dict) for item in entries):
        problems.add(f"[[{key}]]", f"must be an array of tables ([[{key}]]), not {entries!r}")
        return []
    return entries


def _typed(problems: _Problems, where: str, entry: dict, key: str, kind: type, default: Any):
    if key not in entry:
        if default is None and kind is str and key != "model":
            problems.add(where, f"key {key!r} is missing")
        return default
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        problems.add(where, f"key {key!r} must be a {kind.__name__}, not {value!r}")
        return default
    return value


def _number(problems: _Problems, where: str, entry: dict, key: str, default: float) -> float | None:
    if key not in entry:
        return default
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.add(where, f"key {key!r} must be a finite number, not {value!r}")
        return None
    return float(value)


def _positive(problems: _Problems, where: str, entry: dict, key: str, default: float):
    value = _number(problems, where, entry, key, default)
    if value is not None and value <= 0:
        problems.add(where, f"key {key!r} must be positive, not {value!r}")
        return None
    return value


def _channel(problems: _Problems, where: str, entry: dict, key: str) -> int | None:
    value = entry.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.add(where, f"key {key!r} must be a channel number 1, 2, ..., not {value!r}")
        return None
    return value


def _check_channel(
    problems: _Problems, where: str, spec: InstrumentSpec, channel: int | None, key: str
) -> None:
    if channel is None or spec.model is None:
        return  # a model-less instrument's channels are checked once *IDN? names it
    try:
        channels = registry.by_model(spec.model).channels
    except SmtjlabError:
        return  # reported on the instrument's own table
    if channel > channels:
        problems.add(
            where,
            f"key {key!r}: {spec.name!r} ({spec.model}) has no channel {channel}"
            f" (it has {channels})",
        )


def _check_resource(resource: str, where: str) -> None:
    try:
        rname.parse_resource_name(resource)
    except rname.InvalidResourceName as error:
        reason = " ".join(str(error).split())
        prefix = f"{where}: " if where else ""
        raise StationError(f"{prefix}malformed VISA resource {resource!r} ({reason})") from None


def _limits(problems: _Problems, path: Path, table: Any) -> BiasLimits:
    if not isinstance(table, dict):
        problems.add("[limits]", f"must be a table, not {table!r}")
        return BiasLimits()
    try:
        return limits_from_table(table, f"{path} [limits]")
    except SmtjlabError as error:
        problems.lines.append(str(error))
        return BiasLimits()


def _mock(problems: _Problems, path: Path, table: Any, visa_library: str) -> MockSpec | None:
    if not isinstance(table, dict):
        problems.add("[mock]", f"must be a table, not {table!r}")
        return None
    if not visa_library.endswith(MOCK_LIBRARY):
        problems.add("[mock]", f"only for visa_library = {MOCK_LIBRARY!r}, not {visa_library!r}")
    _unknown(problems, "[mock]", table, _MOCK)
    source = _typed(problems, "[mock]", table, "source", str, "model")
    if source not in MOCK_SOURCES:
        problems.add("[mock]", f"key 'source': {source!r} is not one of {', '.join(MOCK_SOURCES)}")
    recording = _typed(problems, "[mock]", table, "recording", str, "")  # used by replay only
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add("[mock]", f"key 'seed' must be a whole number >= 0, not {seed!r}")
        seed = 0
    spread = _typed(problems, "[mock]", table, "spread", str, "")
    if spread and spread not in MOCK_SPREADS:
        problems.add("[mock]", f"key 'spread': {spread!r} is not one of {', '.join(MOCK_SPREADS)}")
    realtime = _typed(problems, "[mock]", table, "realtime", bool, False)
    resolved = (path.parent / recording) if recording else None
    return MockSpec(source, resolved, seed, spread or None, realtime)


# -- stations the mock VISA library hosts without a file -----------------------------------------

_IN_MEMORY: dict[str, Station] = {}
_keys = itertools.count()


def hosted(station: Station) -> str:
    """The PyVISA library spec that hosts `station` in a fresh simulated world of its own."""
    key = f"memory-station-{next(_keys)}"
    _IN_MEMORY[key] = station
    return f"{key}{MOCK_LIBRARY}"


def hosted_station(key: str) -> Station | None:
    """The in-memory station behind a library path made by `hosted`, if it is one."""
    return _IN_MEMORY.pop(key, None)
