"""The mock Keysight B2900 speaks its SCPI Command Reference, through plain PyVISA."""

import pytest
from pyvisa import errors
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keysight_b2900 import MockKeysightB2900
from smtjlab.mocks.visa_library import mock_resource_manager

RESOURCE = "GPIB0::23::INSTR"


def open_mock(model="B2902B"):
    bench = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    rm = mock_resource_manager(devices={RESOURCE: MockKeysightB2900(bench, "smu", model)})
    resource = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    resource.bench = bench
    return resource


@pytest.fixture
def b2902():
    return open_mock()


def errors_of(resource):
    found = []
    while not (reply := resource.query(":SYST:ERR?")).startswith("+0,"):
        found.append(int(reply.split(",")[0]))
    return found


def test_it_says_what_it_is_and_starts_with_both_outputs_off(b2902):
    assert b2902.query("*IDN?").startswith("Keysight Technologies,B2902B,")
    assert b2902.query(":OUTP1?;:OUTP2?") == "0;0"
    assert b2902.query(":SYSTem:ERRor?") == '+0,"No error"'


@pytest.mark.parametrize(
    "command",
    [
        ":SOURce2:VOLTage:LEVel:IMMediate:AMPLitude 0.1",
        ":SOUR2:VOLT 0.1",
        ":sour2:volt:lev 1E-1",
        "SOURCE2:VOLTAGE +.1",
    ],
)
def test_long_short_mixed_case_optional_nodes_and_numeric_forms(b2902, command):
    b2902.write(command)
    assert b2902.query(":SOURce2:VOLTage?") == "+1.000000E-01"
    assert b2902.query(":SOUR1:VOLT?") == "+0.000000E+00"  # channel 1 untouched
    assert errors_of(b2902) == []


def test_the_source_node_and_channel_1_are_optional(b2902):
    b2902.write(":VOLT 0.2;:FUNC:MODE VOLT")
    assert b2902.query(":SOURce1:VOLTage?") == "+2.000000E-01"
    assert b2902.query(":SOURce:FUNCtion:MODE?") == "VOLT"
    assert errors_of(b2902) == []


def test_each_channel_drives_its_own_world_output(b2902):
    b2902.write(":SOUR1:VOLT 0.25;:OUTP1 ON;:SOUR2:VOLT 0.35;:OUTP2 ON")
    world = b2902.bench
    assert world.output("smu:1") == (pytest.approx(0.25), True)
    assert world.bias_on(0) == pytest.approx(0.25) and world.bias_on(1) == pytest.approx(0.35)
    b2902.write(":OUTP2 OFF")
    assert world.bias_on(1) == 0.0 and world.bias_on(0) == pytest.approx(0.25)
    b2902.write("*RST")
    assert world.output("smu:1") == (0.0, False)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (":SOUR3:VOLT 0.1", -114),  # no channel 3
        (":SOUR1:VOLT 211", -222),  # beyond the 200 V range's 210 V
        (":SENS1:CURR:PROT 3.5", -222),  # beyond the 3.03 A DC maximum
        (":SENS1:CURR:NPLC 1E-5", -222),
        (":SOUR1:VOLT 1V", -131),
        (":SOUR1:VOLT abc", -104),
        (":SOUR1:FUNC:MODE RES", -224),
        (":OUTP1 MAYBE", -224),
        (":SOUR1:VOLTS 1", -113),
        (":OUTP1", -109),
    ],
)
def test_errors_are_the_instruments_own(b2902, command, code):
    b2902.write(command)
    assert errors_of(b2902) == [code]
    assert b2902.query(":SOUR1:VOLT?") == "+0.000000E+00" and not b2902.bench.output_on


def test_a_one_channel_model_refuses_channel_2():
    b2901 = open_mock("B2901A")
    assert b2901.query("*IDN?").startswith("Agilent Technologies,B2901A,")
    b2901.write(":OUTP2 ON")
    assert errors_of(b2901) == [-114]
    with pytest.raises(errors.VisaIOError):
        b2901.query(":MEAS:CURR? (@2)")
    assert errors_of(b2901) == [-222, -420]  # refused, so the read found nothing to read
    assert b2901.bench.output("smu:2") == (0.0, False)


def test_a_fixed_voltage_range_limits_the_level(b2902):
    b2902.write(":SOUR1:VOLT:RANG 2")
    assert b2902.query(":SOUR1:VOLT:RANG:AUTO?;:SOUR1:VOLT:RANG?") == "0;+2.000000E+00"
    b2902.write(":SOUR1:VOLT 2.1")  # 105 % of the range is allowed
    b2902.write(":SOUR1:VOLT 2.2")
    assert errors_of(b2902) == [-222]
    b2902.write(":SOUR1:VOLT:RANG 0.2")
    assert errors_of(b2902) == [-221]  # 2.1 V does not fit the 0.2 V range
    assert b2902.query(":SOUR1:VOLT:RANG?") == "+2.000000E+00"


def test_min_max_def_where_the_manual_allows_them(b2902):
    b2902.write(":SOUR2:VOLT MAX;:SENS2:CURR:PROT DEF;:SENS2:CURR:NPLC MIN")
    assert b2902.query(":SOUR2:VOLT?") == "+2.100000E+02"
    assert b2902.query(":SENS2:CURR:PROT?") == "+1.000000E-04"
    assert b2902.query(":SENS2:CURR:NPLC?") == "+4.000000E-04"
    assert b2902.query(":SENS2:CURR:PROT? MAX") == "+3.030000E+00"
    assert errors_of(b2902) == []


def test_a_measurement_reads_the_current_the_world_drives_channel_1_first(b2902):
    b2902.write(":OUTP1:ON:AUTO OFF;:OUTP2:ON:AUTO OFF")
    assert b2902.query(":MEAS:CURR? (@1,2)") == "+0.000000E+00,+0.000000E+00"  # outputs open
    b2902.write(":SENS1:CURR:PROT 1E-3;:SENS2:CURR:PROT 1E-3")
    b2902.write(":SOUR1:VOLT 0.2;:OUTP1 ON;:SOUR2:VOLT 0.4;:OUTP2 ON")
    low, high = (float(value) for value in b2902.query(":MEAS:CURR? (@2,1)").split(","))
    assert 0 < low < high  # channel 1 (0.2 V) first, though the list named channel 2 first
    (one,) = b2902.query(":MEASure:SCALar:CURRent:DC? (@1:1)").split(",")
    assert float(one) == pytest.approx(low, rel=0.3)
    assert b2902.query(":MEAS:CURR?").count(",") == 0  # no list: channel 1
    assert errors_of(b2902) == []


def test_automatic_output_on_turns_an_output_on_to_measure(b2902):
    b2902.write(":SOUR2:VOLT 0.3")
    assert b2902.query(":OUTP2:ON:AUTO?") == "1"  # the factory default
    assert float(b2902.query(":MEAS:CURR? (@2)")) > 0
    assert b2902.query(":OUTP2?") == "1" and b2902.bench.bias_on(1) == pytest.approx(0.3)


def test_the_compliance_limits_a_reading_and_trips(b2902):
    b2902.write(":SENS1:CURR:PROT 1E-6;:SOUR1:VOLT 0.4;:OUTP1 ON")
    assert float(b2902.query(":MEAS:CURR? (@1)")) == pytest.approx(1e-6)
    assert b2902.query(":SENS1:CURR:PROT:TRIP?") == "1"
    assert b2902.query(":SENS2:CURR:PROT:TRIP?") == "0"
