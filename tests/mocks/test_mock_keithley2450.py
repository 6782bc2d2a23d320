"""The mock Keithley 2450 speaks its native SCPI, through plain PyVISA as any driver would."""

import pytest
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keithley2450 import MockKeithley2450
from smtjlab.mocks.visa_library import mock_resource_manager

RESOURCE = "USB0::0x05E6::0x2450::04512345::INSTR"


def open_mock(model="2450"):
    bench = SimulatedBench()
    rm = mock_resource_manager(devices={RESOURCE: MockKeithley2450(bench, "smu:1", model)})
    resource = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    resource.bench = bench
    return resource


@pytest.fixture
def k2450():
    return open_mock()


def errors_of(resource):
    found = []
    while not (reply := resource.query(":SYST:ERR?")).startswith("0,"):
        found.append(int(reply.split(",")[0]))
    return found


def test_identity_command_set_and_defaults(k2450):
    assert k2450.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450,")
    assert k2450.query("*LANG?") == "SCPI"
    assert k2450.query(":SOUR:FUNC?;:SENS:FUNC?;:SOUR:VOLT:ILIM?;:OUTP?").split(";") == [
        "VOLT",
        '"CURR:DC"',
        "1.050000E-04",
        "0",
    ]
    k2450.write("*LANG TSP")  # takes effect after a power cycle
    assert k2450.query("*LANG?") == "SCPI" and errors_of(k2450) == []


@pytest.mark.parametrize(
    "command",
    [
        ":SOURce:VOLTage:LEVel 0.1",
        ":SOUR:VOLT 0.1",
        ":sour1:volt:lev:imm:ampl 1E-1",
        "SOURce:Voltage +.1",
    ],
)
def test_long_short_mixed_case_optional_nodes_and_numeric_forms(k2450, command):
    k2450.write(command)
    assert k2450.query(":SOURce:VOLTage?") == "1.000000E-01"
    assert errors_of(k2450) == []


def test_chained_commands_follow_the_ieee_path_rule(k2450):
    k2450.write(":SOUR:VOLT:RANG 2;LEV 0.2;ILIM 1E-3;:OUTP ON;:SENS:CURR:NPLC 0.1;RANG:AUTO 0")
    replies = k2450.query(":SOUR:VOLT:RANG?;LEV?;ILIM?;:OUTP?;:SENS:CURR:NPLC?;RANG:AUTO?")
    assert replies.split(";") == [
        "2.000000E+00",
        "2.000000E-01",
        "1.000000E-03",
        "1",
        "1.000000E-01",
        "0",
    ]
    assert k2450.bench.bias_v == pytest.approx(0.2)


def test_range_limits_are_the_models_and_errors_are_queued_in_order(k2450):
    k2450.write(":SOUR:VOLT 211")  # the 2450's top range reads to 210 V
    k2450.write(":SOUR:VOLT:ILIM 1.1")  # at most 1.05 A
    k2450.write(":SOUR:VOLT:ILIM 1E-10")  # at least 1 nA
    k2450.write(":SENS:CURR:NPLC 11")
    k2450.write(":SOUR:VOLT:BOGUS 1")
    k2450.write(':SENS:FUNC "FREQ"')
    k2450.write(":OUTP MAYBE")
    assert errors_of(k2450) == [-222, -222, -222, -222, -113, -224, -224]
    assert k2450.query(":SOUR:VOLT:LEV?;ILIM?") == "0.000000E+00;1.050000E-04"


def test_the_2460_and_2470_have_their_own_ranges():
    k2460, k2470 = open_mock("2460"), open_mock("2470")
    assert k2460.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2460,")
    assert k2460.query(":SOUR:VOLT? MAX;:SOUR:VOLT:ILIM? MAX") == "1.050000E+02;7.350000E+00"
    assert k2470.query(":SOUR:VOLT? MAX;:SOUR:VOLT:ILIM? MAX") == "1.100000E+03;1.050000E+00"
    k2460.write(":SOUR:VOLT 150")
    assert errors_of(k2460) == [-222]


def test_a_fixed_source_range_refuses_a_level_beyond_it(k2450):
    k2450.write(":SOUR:VOLT:RANG 0.2;:SOUR:VOLT 0.3")
    assert errors_of(k2450) == [-222]
    k2450.write(":SOUR:VOLT 0.15;:SOUR:VOLT:RANG 0.02")
    assert errors_of(k2450) == [-221]


def test_overvoltage_protection_holds_the_output(k2450):
    k2450.write(":SOUR:VOLT:PROT PROT2;:SOUR:VOLT 5;:OUTP ON")
    assert k2450.query(":SOUR:VOLT:PROT?;PROT:TRIP?") == "PROT2;1"
    assert k2450.bench.bias_v == pytest.approx(2.0)
    k2450.write(":SOUR:VOLT:PROT PROT3")
    assert errors_of(k2450) == [-224]


def test_read_fills_the_default_buffer_with_the_current_the_bias_drives(k2450):
    k2450.write(":SOUR:VOLT 0.3;:OUTP ON")
    current = float(k2450.query(":READ?"))
    # The divider at 0.3 V drives tens of µA (docs/device-model.md); readings are stored.
    assert 1e-6 < current < 1e-4
    reading, source, relative = k2450.query(':READ? "defbuffer1",READ,SOUR,REL').split(",")
    assert float(source) == pytest.approx(0.3) and float(relative) >= 0
    assert k2450.query(":TRAC:ACT?") == "2"
    assert k2450.query(":TRAC:ACT:STAR?;END?") == "1;2"
    data = k2450.query(":TRAC:DATA? 1,2").split(",")
    assert float(data[0]) == pytest.approx(current) and float(data[1]) == pytest.approx(
        float(reading)
    )


def test_more_bias_more_current_and_the_limit_holds_it(k2450):
    currents = []
    for bias in (0.2, 0.3, 0.4):
        k2450.write(f":SOUR:VOLT {bias};:OUTP ON")
        currents.append(float(k2450.query(":MEAS:CURR?")))
    assert currents[0] < currents[1] < currents[2]
    k2450.write(":SOUR:VOLT:ILIM 1E-6")
    assert float(k2450.query(":READ?")) == pytest.approx(1e-6)
    assert k2450.query(":SOUR:VOLT:ILIM:TRIP?") == "1"
    status = int(k2450.query(':READ? "defbuffer1",SOURSTAT'))
    assert status & 8 and status & 32  # source level limited, output on


def test_a_reading_with_the_output_off_is_of_the_unbiased_device(k2450):
    assert float(k2450.query(":READ?")) == pytest.approx(0.0, abs=1e-7)
    assert errors_of(k2450) == []


def test_sense_functions_and_a_fixed_range_overflow(k2450):
    k2450.write(':SOUR:VOLT 0.3;:OUTP ON;:SENS:FUNC "VOLT"')
    assert k2450.query(":SENS:FUNC?") == '"VOLT:DC"'
    assert float(k2450.query(":READ?")) == pytest.approx(0.3)
    k2450.write(':SENS:FUNC "CURR";:SENS:CURR:RANG 1E-8')
    assert float(k2450.query(":READ?")) == pytest.approx(9.9e37)
    k2450.write(":SENS:CURR:RANG:AUTO ON;:SENS:COUN 5")
    k2450.query(":READ?")
    assert k2450.query(":TRAC:ACT?") == "7"  # 1 + 1, then five readings for one :READ?


def test_user_buffers_and_the_simple_loop_trigger_model(k2450):
    k2450.write(':TRAC:MAKE "sweep",100;:SOUR:VOLT 0.3;:OUTP ON')
    k2450.write(':TRIG:LOAD "SimpleLoop",4,0,"sweep";:INIT;*WAI')
    assert k2450.query(':TRAC:ACT? "sweep"') == "4"
    values = k2450.query(':TRAC:DATA? 1,4,"sweep",READ,SOUR').split(",")
    assert len(values) == 8 and all(float(v) == pytest.approx(0.3) for v in values[1::2])
    average = float(k2450.query(':TRAC:STAT:AVER? "sweep"'))
    assert average == pytest.approx(sum(map(float, values[0::2])) / 4)
    k2450.write(':TRAC:CLE "sweep"')
    assert k2450.query(':TRAC:ACT? "sweep"') == "0"
    k2450.write(':TRAC:DATA? 1,1,"sweep"')
    k2450.write(':TRAC:DEL "sweep";:READ? "sweep"')
    k2450.write(':TRAC:DEL "defbuffer1"')
    assert errors_of(k2450) == [-222, -224, -224]


def test_a_full_buffer_rolls_its_oldest_readings_off(k2450):
    k2450.write(":TRAC:POIN 2;:OUTP ON")
    for _ in range(3):
        k2450.query(":READ?")
    assert k2450.query(":TRAC:ACT?;ACT:STAR?;:TRAC:ACT:END?") == "2;2;3"
    k2450.write(":TRAC:DATA? 1,3")
    assert errors_of(k2450) == [-222]


def test_reset_restores_the_defaults_and_turns_the_output_off(k2450):
    k2450.write(":SOUR:VOLT 0.3;:OUTP ON;:SOUR:VOLT:ILIM 1E-3")
    k2450.write("*RST")
    assert k2450.query(":OUTP?;:SOUR:VOLT:LEV?;ILIM?") == "0;0.000000E+00;1.050000E-04"
    assert not k2450.bench.output_on
