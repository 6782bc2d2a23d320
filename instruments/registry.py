"""The driver registry: a model name and an *IDN? pattern for every driver, and its role.

A driver module registers its class where the class is defined:

    @register("keithley2400", role="source")
    class Keithley2400(SourceMeter):
        IDN_PATTERN = r"KEITHLEY INSTRUMENTS INC\\.,MODEL 24[0-4]\\d\\b"

A station's `model` picks the driver (`by_model`); without one, the instrument's *IDN? reply
does (`by_idn`); a model that contradicts the reply is an error (`check_idn`). Adding a model is
its driver module, one line in `DRIVER_MODULES`, its mock and its tests.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from smtjlab.instruments.roles import ROLES
from smtjlab.instruments.scpi import InstrumentError

# The modules whose import registers their drivers, loaded on first use of the registry.
DRIVER_MODULES = (
    "smtjlab.instruments.keithley",
    "smtjlab.instruments.keithley2450",
    "smtjlab.instruments.keithley2600",
    "smtjlab.instruments.infiniivision",
    "smtjlab.instruments.keysight_b2900",
    "smtjlab.instruments.tektronix",
)


@dataclass(frozen=True)
class Driver:
    model: str
    role: str
    cls: type
    idn_pattern: str

    def matches(self, idn: str) -> bool:
        return re.search(self.idn_pattern, idn) is not None

    @property
    def channels(self) -> int:
        return int(getattr(self.cls, "CHANNELS", 1))


_DRIVERS: dict[str, Driver] = {}


def register(model: str, *, role: str):
    """Class decorator: make a driver known by `model`, for `role`, by its `IDN_PATTERN`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")

    def add(cls: type) -> type:
        if model in _DRIVERS and _DRIVERS[model].cls is not cls:
            raise ValueError(f"model {model!r} is registered twice")
        _DRIVERS[model] = Driver(model, role, cls, cls.IDN_PATTERN)
        return cls

    return add


def drivers() -> dict[str, Driver]:
    """Every registered driver, by model name."""
    for module in DRIVER_MODULES:
        importlib.import_module(module)
    return dict(_DRIVERS)


def by_model(model: str) -> Driver:
    known = drivers()
    if model not in known:
        raise InstrumentError(f"unknown model {model!r}; known models: {', '.join(sorted(known))}")
    return known[model]


def by_idn(idn: str, where: str = "instrument") -> Driver:
    for driver in drivers().values():
        if driver.matches(idn):
            return driver
    raise InstrumentError(
        f"{where}: no driver knows {idn!r} (models: {', '.join(sorted(drivers()))})"
    )


def check_idn(driver: Driver, idn: str, where: str = "instrument") -> None:
    """Refuse a model that contradicts what the instrument says it is."""
    if not driver.matches(idn):
        raise InstrumentError(f"{where}: model {driver.model!r} does not match its *IDN? {idn!r}")
