"""Find instruments: list VISA resources, ask each *IDN?, pick the driver that matches.

    rm = pyvisa.ResourceManager()              # or mocks.visa_library.mock_resource_manager()
    for found in list_instruments(rm):
        print(found.resource, found.idn, found.driver)
    smu = open_instrument("GPIB0::24::INSTR", rm, limits=load_limits())

A malformed resource string, an address nobody answers at, or an instrument no driver knows
each raise `InstrumentError` with one line saying which and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvisa
from pyvisa import errors, rname
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.scpi import InstrumentError, ScpiInstrument

DRIVERS: tuple[type[ScpiInstrument], ...] = (Keithley2400, InfiniiVision)
IDN_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Found:
    resource: str
    idn: str | None
    driver: str | None
    problem: str | None = None


def check_resource_name(resource_name: str) -> str:
    """Validate a VISA resource string such as `GPIB0::24::INSTR`; return it unchanged."""
    try:
        rname.parse_resource_name(resource_name)
    except rname.InvalidResourceName as error:
        raise InstrumentError(f"malformed resource string {resource_name!r}: {error}") from None
    return resource_name


def driver_for(idn: str, resource_name: str = "instrument") -> type[ScpiInstrument]:
    for driver in DRIVERS:
        if driver.matches(idn):
            return driver
    known = ", ".join(driver.__name__ for driver in DRIVERS)
    raise InstrumentError(f"{resource_name}: unknown instrument {idn!r} (drivers: {known})")


def identify(rm: pyvisa.ResourceManager, resource_name: str) -> str:
    """The *IDN? reply of the instrument at `resource_name`."""
    check_resource_name(resource_name)
    try:
        resource = rm.open_resource(resource_name, read_termination="\n", write_termination="\n")
    except errors.VisaIOError as error:
        raise InstrumentError(f"{resource_name}: cannot open ({error.description})") from None
    except (ValueError, OSError) as error:
        # pyvisa-py raises these when the interface's own library is missing (linux-gpib,
        # pyusb) or the port cannot be opened; its message runs over several lines.
        reason = " ".join(str(error).split())
        raise InstrumentError(f"{resource_name}: cannot open ({reason})") from None
    try:
        resource.timeout = IDN_TIMEOUT_MS
        return resource.query("*IDN?").strip()
    except errors.VisaIOError as error:
        raise InstrumentError(
            f"{resource_name}: no answer to *IDN? ({error.description})"
        ) from None
    except UnicodeDecodeError:
        raise InstrumentError(f"{resource_name}: garbled answer to *IDN?") from None
    finally:
        resource.close()


def list_instruments(rm: pyvisa.ResourceManager, query: str = "?*::INSTR") -> list[Found]:
    """Every resource matching `query`, with its *IDN? and driver, or the problem found."""
    try:
        names = rm.list_resources(query)
    except errors.VisaIOError:
        return []  # VISA reports "no resources" as an error
    found = []
    for name in names:
        try:
            idn = identify(rm, name)
        except InstrumentError as error:
            found.append(Found(name, None, None, str(error)))
            continue
        try:
            driver = driver_for(idn, name).__name__
        except InstrumentError as error:
            found.append(Found(name, idn, None, str(error)))
            continue
        found.append(Found(name, idn, driver))
    return found


def open_instrument(
    resource_name: str, rm: pyvisa.ResourceManager | None = None, **driver_kwargs
) -> ScpiInstrument:
    """Open `resource_name` with the driver its *IDN? names; `driver_kwargs` go to the driver."""
    rm = rm if rm is not None else pyvisa.ResourceManager()
    idn = identify(rm, resource_name)
    driver = driver_for(idn, resource_name)
    resource = rm.open_resource(resource_name)
    try:
        return driver(resource, **driver_kwargs)
    except BaseException:
        resource.close()
        raise
