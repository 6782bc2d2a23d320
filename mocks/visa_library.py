"""A PyVISA backend (`VisaLibraryBase` subclass) hosting the mock instruments (DESIGN §5.4).

By name, through the `pyvisa_smtjlab` shim, like any PyVISA backend:

    pyvisa.ResourceManager("@smtjlab")                 # the built-in mock station
    pyvisa.ResourceManager("lab/station.toml@smtjlab") # the instruments a station file declares

Each library path is its own simulated world (PyVISA keeps one library per path), shared by the
instruments of that station. `mock_resource_manager` builds one in code, for tests.

Drivers talk to the mocks through the real PyVISA message stack: `Resource.write`, `read`,
`query_binary_values`, terminations, timeouts and device clear all run PyVISA's own code; only
the bottom layer (viOpen, viRead, viWrite, ...) is simulated here.

    >>> rm = mock_resource_manager(SimulatedBench(source="model"))
    >>> rm.list_resources()
    ('GPIB0::24::INSTR', 'USB0::0x2A8D::0x1796::MY00000001::INSTR')
    >>> rm.open_resource(KEITHLEY_RESOURCE, read_termination="\\n").query("*IDN?")

The bottom layer behaves like VISA over GPIB/USBTMC: each write is one message with END on its
last byte; a read returns at most `count` bytes, stops after the termination character when
VI_ATTR_TERMCHAR_EN is set, and reports END with the message's last byte; reading when the
instrument has nothing to say waits for the session timeout and fails with VI_ERROR_TMO.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyvisa
from pyvisa import constants, errors, highlevel, rname
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.faults import FaultInjector, garble, shorten_block
from smtjlab.mocks.scpi_parser import ScpiError

from smtjlab.station import MOCK_SCOPE_RESOURCE as SCOPE_RESOURCE
from smtjlab.station import MOCK_SMU_RESOURCE as KEITHLEY_RESOURCE

Attr = constants.ResourceAttribute
StatusCode = constants.StatusCode
_libraries = itertools.count()
DEFAULT_STATION = "default-station"  # the library path PyVISA gives "@smtjlab"
_PROGRAMMATIC = "smtjlab-mock-"


class MessageDevice(Protocol):
    """What the library needs from a mock instrument."""

    def write(self, data: bytes) -> None: ...

    def read(self) -> bytes | None: ...

    def clear(self) -> None: ...


@dataclass
class _Link:
    """The cable to one instrument: its pending response, faults and recent traffic."""

    name: str
    device: MessageDevice
    faults: FaultInjector
    written: deque = field(default_factory=lambda: deque(maxlen=10_000))
    pending: bytes | None = None
    offset: int = 0
    dropped: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)


@dataclass
class _Session:
    link: _Link
    attrs: dict[Any, Any]


class MockVisaLibrary(highlevel.VisaLibraryBase):
    """viOpen/viRead/viWrite/... for mock instruments. Build it with `mock_resource_manager`."""

    @staticmethod
    def get_library_paths() -> tuple[highlevel.LibraryPath, ...]:
        return (highlevel.LibraryPath(DEFAULT_STATION),)

    @staticmethod
    def get_debug_info() -> list[str]:
        return ["smtjlab mock VISA library: the simulated instruments of a station (DESIGN §5.5)"]

    def _init(self) -> None:
        self.links: dict[str, _Link] = {}
        self.sessions: dict[int, _Session | None] = {}
        self.bench: SimulatedBench | None = None
        self._handles = itertools.count(1000)
        station = _station_at(str(self.library_path))
        if station is not None:
            from smtjlab.mocks.station import build_world

            self.bench, devices = build_world(station)
            seed = station.simulation.seed if station.simulation else 0
            for index, (name, device) in enumerate(devices.items()):
                self.add_device(name, device, seed=seed + index)

    # -- setup ---------------------------------------------------------------------------------

    def add_device(self, resource_name: str, device: MessageDevice, seed: int = 0) -> None:
        key = _canonical(resource_name)
        self.links[key] = _Link(resource_name, device, FaultInjector(seed))

    def device(self, resource_name: str) -> MessageDevice:
        return self._link_named(resource_name).device

    def faults(self, resource_name: str) -> FaultInjector:
        return self._link_named(resource_name).faults

    def written(self, resource_name: str) -> list[str]:
        """Every message written to an instrument, oldest first (the last 10,000)."""
        return [data.decode("ascii", "replace") for data in self._link_named(resource_name).written]

    def _link_named(self, resource_name: str) -> _Link:
        try:
            return self.links[_canonical(resource_name)]
        except (KeyError, ValueError):
            raise KeyError(f"no mock instrument at {resource_name!r}") from None

    # -- resource manager ----------------------------------------------------------------------

    def open_default_resource_manager(self) -> tuple[int, StatusCode]:
        handle = next(self._handles)
        self.sessions[handle] = None
        return handle, StatusCode.success

    def list_resources(self, session: int, query: str = "?*::INSTR") -> tuple[str, ...]:
        found = rname.filter([link.name for link in self.links.values()], query)
        if not found:
            raise errors.VisaIOError(StatusCode.error_resource_not_found)
        return tuple(found)

    def open(
        self,
        session: int,
        resource_name: str,
        access_mode: constants.AccessModes = constants.AccessModes.no_lock,
        open_timeout: int = constants.VI_TMO_IMMEDIATE,
    ) -> tuple[int, StatusCode]:
        try:
            parsed = rname.parse_resource_name(resource_name)
        except rname.InvalidResourceName:
            raise errors.VisaIOError(StatusCode.error_invalid_resource_name) from None
        link = self.links.get(_canonical(resource_name))
        if link is None:
            raise errors.VisaIOError(StatusCode.error_resource_not_found)
        with link.lock:
            link.dropped = False  # reopening reconnects a dropped cable
            link.pending = None
        handle = next(self._handles)
        self.sessions[handle] = _Session(
            link,
            {
                Attr.resource_name: str(parsed),
                Attr.interface_type: parsed.interface_type_const,
                Attr.interface_number: int(getattr(parsed, "board", 0) or 0),
                Attr.resource_class: parsed.resource_class,
                Attr.timeout_value: 2000,
                Attr.termchar: ord("\n"),
                Attr.termchar_enabled: False,
                Attr.send_end_enabled: True,
                Attr.suppress_end_enabled: False,
            },
        )
        return handle, StatusCode.success

    def close(self, session: int) -> StatusCode:
        if self.sessions.pop(session, "missing") == "missing":
            raise errors.VisaIOError(StatusCode.error_invalid_object)
        return StatusCode.success

    # -- attributes ----------------------------------------------------------------------------

    def get_attribute(self, session: int, attribute: Any) -> tuple[Any, StatusCode]:
        attrs = self._session(session).attrs
        if attribute not in attrs:
            raise errors.VisaIOError(StatusCode.error_nonsupported_attribute)
        return attrs[attribute], StatusCode.success

    def set_attribute(self, session: int, attribute: Any, attribute_state: Any) -> StatusCode:
        self._session(session).attrs[attribute] = attribute_state
        return StatusCode.success

    # -- I/O -----------------------------------------------------------------------------------

    def write(self, session: int, data: bytes) -> tuple[int, StatusCode]:
        link = self._session(session).link
        with link.lock:
            self._check_connected(link)
            link.written.append(bytes(data))
            # A new message discards what was left of the last response, like the output queue.
            link.pending = None
            if link.faults.draw("scpi_error") and hasattr(link.device, "push_error"):
                link.device.push_error(ScpiError(-200, "Execution error; injected fault"))
            else:
                link.device.write(bytes(data))
        return len(data), StatusCode.success

    def read(self, session: int, count: int) -> tuple[bytes, StatusCode]:
        state = self._session(session)
        link, attrs = state.link, state.attrs
        with link.lock:
            self._check_connected(link)
            if link.pending is None:
                message = link.device.read()
                if message is None or link.faults.draw("timeout"):
                    if message is None and hasattr(link.device, "query_unterminated"):
                        link.device.query_unterminated()
                    self._wait_timeout(attrs[Attr.timeout_value])
                if message.startswith(b"#") and link.faults.draw("short_block"):
                    message = shorten_block(message)
                if link.faults.draw("garbled"):
                    message = garble(message)
                link.pending, link.offset = message, 0
            message, start = link.pending, link.offset
            end = min(start + count, len(message))
            status = StatusCode.success_max_count_read
            if attrs[Attr.termchar_enabled]:
                stop = message.find(bytes([attrs[Attr.termchar]]), start, end)
                if stop >= 0:
                    end, status = stop + 1, StatusCode.success_termination_character_read
            if end == len(message):
                link.pending = None
                if status != StatusCode.success_termination_character_read:
                    status = StatusCode.success
            else:
                link.offset = end
            return message[start:end], status

    def clear(self, session: int) -> StatusCode:
        link = self._session(session).link
        with link.lock:
            self._check_connected(link)
            link.pending = None
            link.device.clear()
        return StatusCode.success

    def read_stb(self, session: int) -> tuple[int, StatusCode]:
        link = self._session(session).link
        self._check_connected(link)
        return getattr(link.device, "status_byte", lambda: 0)(), StatusCode.success

    def flush(self, session: int, mask: Any) -> StatusCode:
        return StatusCode.success

    def disable_event(self, session: int, event_type: Any, mechanism: Any) -> StatusCode:
        return StatusCode.success

    def discard_events(self, session: int, event_type: Any, mechanism: Any) -> StatusCode:
        return StatusCode.success

    # -- helpers -------------------------------------------------------------------------------

    def _session(self, session: int) -> _Session:
        state = self.sessions.get(session)
        if state is None:
            raise errors.VisaIOError(StatusCode.error_invalid_object)
        return state

    def _check_connected(self, link: _Link) -> None:
        if link.dropped or link.faults.draw("disconnect"):
            link.dropped = True
            link.pending = None
            raise errors.VisaIOError(StatusCode.error_connection_lost)

    @staticmethod
    def _wait_timeout(timeout_ms: int) -> None:
        # An infinite timeout would hang forever on real hardware; the mock caps it at 60 s.
        time.sleep(min(timeout_ms, 60_000) / 1000)
        raise errors.VisaIOError(StatusCode.error_timeout)


def _station_at(library_path: str):
    """The station a library path names: the built-in one, an in-memory one, or a file."""
    from smtjlab.station import Station, hosted_station

    if library_path.startswith(_PROGRAMMATIC):
        return None  # mock_resource_manager adds its own instruments
    if library_path == DEFAULT_STATION:
        return Station.mock()
    return hosted_station(library_path) or Station.load(library_path)


def _canonical(resource_name: str) -> str:
    return str(rname.parse_resource_name(resource_name)).upper()


def mock_resource_manager(
    bench: SimulatedBench | None = None,
    *,
    devices: Mapping[str, MessageDevice] | None = None,
    seed: int = 0,
) -> pyvisa.ResourceManager:
    """A `pyvisa.ResourceManager` whose instruments are mocks sharing one `SimulatedBench`.

    Default instruments: a Keithley 2400 at `KEITHLEY_RESOURCE` ("GPIB0::24::INSTR") and an
    InfiniiVision DSO-X 3024T at `SCOPE_RESOURCE` ("USB0::0x2A8D::0x1796::MY00000001::INSTR").
    `devices` replaces them (any objects with write/read/clear), e.g. an expected-exchange
    script in protocol tests. The library is `rm.visalib`: its `bench`, `device(name)`,
    `faults(name)` and `written(name)` reach behind the cable.
    """
    from smtjlab.mocks.mock_infiniivision import MockInfiniiVision
    from smtjlab.mocks.mock_keithley import MockKeithley2400

    library = MockVisaLibrary(f"{_PROGRAMMATIC}{next(_libraries)}")
    if devices is None:
        bench = bench if bench is not None else SimulatedBench()
        devices = {
            KEITHLEY_RESOURCE: MockKeithley2400(bench),
            SCOPE_RESOURCE: MockInfiniiVision(bench),
        }
    library.bench = bench
    for index, (name, device) in enumerate(devices.items()):
        library.add_device(name, device, seed=seed + index)
    return pyvisa.ResourceManager(library)
