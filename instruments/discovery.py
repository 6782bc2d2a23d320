"""Find instruments: list VISA resources, ask each *IDN?, pick the registered driver that matches.

    rm = pyvisa.ResourceManager()              # or pyvisa.ResourceManager("@smtjlab")
    for found in list_instruments(rm):
        print(found.resource, found.idn, found.model, found.role)
    smu = open_instrument("GPIB0::24::INSTR", rm, limits=load_limits())
    smu = open_instrument("GPIB0::24::INSTR", rm, model="keithley2400")   # checked against *IDN?

A malformed resource string, an address nobody answers at, or an instrument no driver knows
each raise `InstrumentError` with one line saying which and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvisa
from pyvisa import errors, rname
from smtjlab.instruments import registry
from smtjlab.instruments.scpi import InstrumentError

IDN_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Found:
    resource: str
    idn: str | None
    model: str | None
    role: str | None = None
    problem: str | None = None


def check_resource_name(resource_name: str) -> str:
    """Validate a VISA resource string such as `GPIB0::24::INSTR`; return it unchanged."""
    try:
        rname.parse_resource_name(resource_name)
    except rname.InvalidResourceName as error:
        raise InstrumentError(f"malformed resource string {resource_name!r}: {error}") from None
    return resource_name


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
            found.append(Found(name, None, None, None, str(error)))
            continue
        try:
            driver = registry.by_idn(idn, name)
        except InstrumentError as error:
            found.append(Found(name, idn, None, None, str(error)))
            continue
        found.append(Found(name, idn, driver.model, driver.role))
    return found


def open_instrument(
    resource_name: str,
    rm: pyvisa.ResourceManager | None = None,
    *,
    model: str | None = None,
    **driver_kwargs: Any,
) -> Any:
    """Open `resource_name` with the driver of `model` (checked against *IDN?) or of its *IDN?.

    `driver_kwargs` go to the driver (for example `limits=` for a source).
    """
    rm = rm if rm is not None else pyvisa.ResourceManager()
    idn = identify(rm, resource_name)
    if model is None:
        driver = registry.by_idn(idn, resource_name)
    else:
        driver = registry.by_model(model)
        registry.check_idn(driver, idn, resource_name)
    resource = rm.open_resource(resource_name)
    try:
        return driver.cls(resource, **driver_kwargs)
    except BaseException:
        resource.close()
        raise
