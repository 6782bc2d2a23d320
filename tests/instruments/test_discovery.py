"""Discovery: list resources, ask *IDN?, pick the driver; one clear line when it cannot."""

import pytest
from smtjlab.instruments import discovery
from smtjlab.instruments.discovery import (
    Found,
    check_resource_name,
    list_instruments,
    open_instrument,
)
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.instruments.keithley import Keithley2400
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keithley import MockKeithley2400
from smtjlab.mocks.scpi_parser import ScpiDevice
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE, mock_resource_manager


class Widget(ScpiDevice):
    IDN = "ACME INSTRUMENTS,WIDGET 9,1,1.0"


class Silent(ScpiDevice):
    def read(self):
        return None


def test_list_instruments_names_each_driver():
    found = list_instruments(mock_resource_manager())
    assert [(f.resource, f.model, f.role) for f in found] == [
        (KEITHLEY_RESOURCE, "keithley2400", "source"),
        (SCOPE_RESOURCE, "infiniivision", "scope"),
    ]
    assert found[0].idn.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")


def test_open_instrument_picks_the_driver_from_idn():
    rm = mock_resource_manager()
    with open_instrument(KEITHLEY_RESOURCE, rm) as smu:
        assert isinstance(smu, Keithley2400)
    with open_instrument(SCOPE_RESOURCE, rm) as scope:
        assert isinstance(scope, InfiniiVision)


def test_a_model_that_contradicts_the_idn_is_refused():
    rm = mock_resource_manager()
    with pytest.raises(InstrumentError, match="'infiniivision' does not match its \\*IDN\\?"):
        open_instrument(KEITHLEY_RESOURCE, rm, model="infiniivision")
    with open_instrument(KEITHLEY_RESOURCE, rm, model="keithley2400") as smu:
        assert isinstance(smu, Keithley2400)


def test_other_models_of_a_family_match_its_driver():
    assert Keithley2400.matches("KEITHLEY INSTRUMENTS INC.,MODEL 2410,1,C32")
    assert InfiniiVision.matches("AGILENT TECHNOLOGIES,MSO-X 4104A,MY1,07.00")
    assert not Keithley2400.matches("KEITHLEY INSTRUMENTS INC.,MODEL 2000,1,A01")


@pytest.mark.parametrize("name", ["FOO::bar", "GPIB0::INSTR::24::x", ""])
def test_a_malformed_resource_string_is_one_clear_error(name):
    with pytest.raises(InstrumentError, match="malformed resource string") as raised:
        check_resource_name(name)
    assert "\n" not in str(raised.value)
    with pytest.raises(InstrumentError, match="malformed resource string"):
        open_instrument(name, mock_resource_manager())


def test_an_unknown_instrument_is_one_clear_error():
    rm = mock_resource_manager(devices={"TCPIP0::10.0.0.5::INSTR": Widget()})
    with pytest.raises(InstrumentError, match="no driver knows 'ACME INSTRUMENTS,WIDGET 9"):
        open_instrument("TCPIP0::10.0.0.5::INSTR", rm)
    (found,) = list_instruments(rm)
    assert found.model is None and "no driver knows" in found.problem


def test_an_empty_address_and_a_silent_instrument(monkeypatch):
    monkeypatch.setattr(discovery, "IDN_TIMEOUT_MS", 20)
    rm = mock_resource_manager(
        devices={
            "GPIB0::5::INSTR": Silent(),
            "GPIB0::24::INSTR": MockKeithley2400(SimulatedBench()),
        }
    )
    with pytest.raises(InstrumentError, match="GPIB0::7::INSTR: cannot open"):
        open_instrument("GPIB0::7::INSTR", rm)
    silent, smu = list_instruments(rm)
    assert silent.model is None and "GPIB0::5::INSTR: no answer to *IDN?" in silent.problem
    assert smu == Found("GPIB0::24::INSTR", MockKeithley2400.IDN, "keithley2400", "source")
    assert list_instruments(rm, "ASRL?*") == []


@pytest.mark.parametrize(
    "problem",
    [
        ValueError("Please install linux-gpib to use this resource type.\nNo module named 'gpib'"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_a_backend_that_cannot_open_the_interface_is_one_line(monkeypatch, problem):
    rm = mock_resource_manager()

    def refuse(*args, **kwargs):
        raise problem

    monkeypatch.setattr(rm, "open_resource", refuse)
    with pytest.raises(InstrumentError, match=r"^GPIB0::24::INSTR: cannot open \(") as raised:
        open_instrument("GPIB0::24::INSTR", rm)
    assert "\n" not in str(raised.value)
