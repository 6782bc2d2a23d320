"""A station's simulated world: one s-MTJ per `[[device]]`, the mock of every `[[instrument]]`.

`MOCKS` maps a registered model name to its mock. Every mock of one station shares one
`SimulatedBench`: device k is junction k, biased by the output its `source`/`source_channel`
names and read on its `readout`/`readout_channel`, so the bias one SMU channel sets changes what
the scope channel wired to the same device records, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_infiniivision import MockInfiniiVision
from smtjlab.mocks.mock_keithley import MockKeithley2400
from smtjlab.mocks.mock_keithley2450 import MockKeithley2450
from smtjlab.mocks.mock_keithley2600 import MockKeithley2600
from smtjlab.mocks.mock_keysight_b2900 import MockKeysightB2900
from smtjlab.mocks.mock_tektronix import MockTektronixMSO
from smtjlab.mocks.smtj import WaferSpread

from smtjlab.station import DeviceSpec, InstrumentSpec, Station, StationError

# model -> mock(world, instrument name, {instrument channel: junction}); sources name their
# outputs "<instrument>:<channel>" on the world.
MockFactory = Callable[[SimulatedBench, str, dict[int, int]], object]
MOCKS: dict[str, MockFactory] = {
    "keithley2400": lambda world, name, junctions: MockKeithley2400(world, f"{name}:1"),
    "keithley2450": lambda world, name, junctions: MockKeithley2450(world, f"{name}:1"),
    "keithley2600": lambda world, name, junctions: MockKeithley2600(world, name),
    "infiniivision": lambda world, name, junctions: MockInfiniiVision(world, junctions),
    "keysight-b2900": lambda world, name, junctions: MockKeysightB2900(world, name),
    "tektronix-mso": lambda world, name, junctions: MockTektronixMSO(world, junctions),
}


def output_name(device: DeviceSpec) -> str:
    return f"{device.source}:{device.source_channel}"


def build_world(station: Station) -> tuple[SimulatedBench, dict[str, object]]:
    """The shared world of `station` and its mock instruments, by VISA resource."""
    devices = list(station.devices) or _implicit_device(station)
    mock = station.simulation
    spread = mock.spread if mock and mock.spread else ("wafer" if len(devices) > 1 else "none")
    world = SimulatedBench(
        mock.source if mock else "model",
        channels=len(devices),
        seed=mock.seed if mock else 0,
        recording=mock.recording if mock else None,
        wiring=[output_name(device) for device in devices],
        spread=WaferSpread() if spread == "wafer" else None,
    )
    world.realtime = bool(mock and mock.realtime)
    mocks: dict[str, object] = {}
    for spec in station.instruments:
        factory = MOCKS.get(spec.model or "")
        if factory is None:
            known = ", ".join(sorted(MOCKS))
            raise StationError(
                f"{station.where}: [[instrument]] {spec.name!r}: key 'model': no mock of"
                f" {spec.model!r} (mocks: {known})"
            )
        junctions = {
            device.readout_channel: index
            for index, device in enumerate(devices)
            if device.readout == spec.name
        }
        mocks[spec.resource] = factory(world, spec.name, junctions)
    return world, mocks


def _implicit_device(station: Station) -> list[DeviceSpec]:
    """A station without devices: one junction between its first source and first scope."""
    source = _first(station.instruments, "source")
    readout = _first(station.instruments, "scope")
    if source is None or readout is None:
        return [DeviceSpec("mtj", "-", "-")]  # a world with one junction nobody is wired to
    return [DeviceSpec("mtj", source.name, readout.name)]


def _first(specs: tuple[InstrumentSpec, ...], role: str) -> InstrumentSpec | None:
    return next((spec for spec in specs if spec.role == role), None)
