"""The mock Keithley 2400 speaks the manual's SCPI, through plain PyVISA as any driver would."""

import pytest
from pyvisa import errors
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, mock_resource_manager


@pytest.fixture
def k2400():
    bench = SimulatedBench()
    rm = mock_resource_manager(bench)
    resource = rm.open_resource(KEITHLEY_RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    resource.bench = bench
    return resource


def errors_of(resource):
    found = []
    while not (reply := resource.query(":SYST:ERR?")).startswith("0,"):
        found.append(int(reply.split(",")[0]))
    return found


@pytest.mark.parametrize(
    "command",
    [
        ":SOURce:VOLTage:LEVel 0.1",
        ":SOUR:VOLT 0.1",
        ":sour:volt:lev:imm:ampl 1E-1",
        ":Source1:Voltage:Level +.1",
        "SOUR:VOLT 100e-3",
    ],
)
def test_long_short_mixed_case_optional_nodes_and_numeric_forms(k2400, command):
    k2400.write(command)
    assert k2400.query(":SOURce:VOLTage?") == "+1.000000E-01"
    assert errors_of(k2400) == []


def test_chained_commands_follow_the_ieee_path_rule(k2400):
    k2400.write(":SOUR:VOLT:RANG 2;LEV 0.2;:OUTP ON;:SENS:CURR:PROT 1E-3;NPLC 0.1")
    assert k2400.query(":SOUR:VOLT:RANG?;LEV?;:OUTP?;:SENS:CURR:PROT?;NPLC?").split(";") == [
        "+2.100000E+00",
        "+2.000000E-01",
        "1",
        "+1.000000E-03",
        "+1.000000E-01",
    ]
    assert k2400.bench.bias_v == pytest.approx(0.2)


def test_min_max_def_where_the_manual_allows_them(k2400):
    k2400.write(":SOUR:VOLT:LEV MAX;:SENS:CURR:PROT MIN;:SENS:CURR:NPLC MIN")
    assert k2400.query(":SOUR:VOLT?") == "+2.100000E+02"
    assert k2400.query(":SENS:CURR:PROT?") == "+1.050000E+00"  # the 2400 keeps |compliance|
    assert k2400.query(":SENS:CURR:NPLC?") == "+1.000000E-02"
    assert k2400.query(":SOUR:VOLT? MIN") == "-2.100000E+02"
    k2400.write(":SOUR:VOLT DEF;:SENS:CURR:PROT DEFAULT")
    assert k2400.query(":SOUR:VOLT?;:SENS:CURR:PROT?") == "+0.000000E+00;+1.050000E-04"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (":SOUR:VOLTS 1", -113),
        (":SOUR:VOLT 300", -222),
        (":SENS:CURR:NPLC 20", -222),
        (":OUTP MAYBE", -224),
        (":SENS:CURR:NPLC fast", -104),
        (":SOUR:VOLT 1mV", -131),
        (":SOUR:VOLT", -109),
        (":SOUR:VOLT 1,2", -108),
        (":SENS:FUNC CURR", -104),
        (":SOUR:VOLT:RANG 0.2;:SOUR:VOLT 1", -222),
    ],
)
def test_the_error_queue_holds_the_standard_errors(k2400, command, code):
    k2400.write(command)
    assert errors_of(k2400) == [code]


def test_error_queue_overflow_clear_and_summary_queries(k2400):
    for _ in range(12):
        k2400.write(":NOPE")
    assert k2400.query(":SYST:ERR:COUN?") == "10"
    assert k2400.query(":SYST:ERR:ALL?").endswith('-350,"Queue overflow"')
    k2400.write(":NOPE;*CLS")  # a command error skips the rest of the message
    assert k2400.query(":SYST:ERR:COUN?") == "1"
    k2400.write("*CLS")
    assert k2400.query(":SYST:ERR?") == '0,"No error"'


def test_query_interrupted_and_unterminated(k2400):
    k2400.write("*IDN?")
    k2400.write(":OUTP?")  # the IDN reply was never read
    assert k2400.read() == "0"
    with pytest.raises(errors.VisaIOError):
        k2400.read()  # nothing to say
    assert errors_of(k2400) == [-410, -420]
    assert k2400.query("*ESR?") == str(0x04)  # query error bit


def test_every_setting_can_be_queried(k2400):
    replies = k2400.query(
        ":SOUR:FUNC?;:SOUR:VOLT:MODE?;:SOUR:VOLT:RANG:AUTO?;:SOUR:CURR?;:SENS:FUNC?;"
        ":SENS:FUNC:OFF?;:SENS:FUNC:CONC?;:SENS:CURR:RANG?;:SENS:CURR:RANG:AUTO?;"
        ":FORM:ELEM?;:FORM?;:TRIG:COUN?;:SYST:RSEN?;:SENS:CURR:PROT:TRIP?"
    )
    assert replies.split(";") == [
        "VOLT",
        "FIX",
        "1",
        "+0.000000E+00",
        '"CURR:DC"',
        '"VOLT:DC","RES"',
        "1",
        "+1.050000E-04",
        "1",
        "VOLT,CURR,RES,TIME,STAT",
        "ASC",
        "+1.000000E+00",
        "0",
        "0",
    ]


def test_read_with_the_output_off_queues_803_and_sends_nothing(k2400):
    with pytest.raises(errors.VisaIOError):
        k2400.query(":READ?")
    assert errors_of(k2400) == [803, -420]


def test_a_manual_style_source_measure_sequence(k2400):
    # The 2400 manual's basic source-V measure-I program, at an s-MTJ's bias.
    for line in (
        "*RST",
        ":SOUR:FUNC VOLT",
        ":SOUR:VOLT:MODE FIXED",
        ":SOUR:VOLT:RANG 2",
        ":SOUR:VOLT:LEV 0.3",
        ":SENS:CURR:PROT 10E-3",
        ':SENS:FUNC "CURR"',
        ":SENS:CURR:RANG 10E-3",
        ":FORM:ELEM CURR",
        ":OUTP ON",
    ):
        k2400.write(line)
    current = float(k2400.query(":READ?"))
    low, high = 0.3 / 18e3, 0.3 / 12e3  # antiparallel and parallel junction + 6 kΩ load
    assert 0.8 * low < current < 1.2 * high
    k2400.write(":OUTP OFF")
    assert errors_of(k2400) == []
    assert not k2400.bench.output_on


def test_readings_follow_elements_trigger_count_and_compliance(k2400):
    k2400.write(":SOUR:VOLT 0.4;:OUTP ON;:TRIG:COUN 3;:FORM:ELEM VOLT,CURR,STAT")
    values = [float(v) for v in k2400.query(":READ?").split(",")]
    assert len(values) == 9 and values[0] == pytest.approx(0.4) and values[2] == 0
    k2400.write(":SENS:CURR:PROT 1E-6")
    values = [float(v) for v in k2400.query(":READ?").split(",")]
    assert values[1] == pytest.approx(1e-6) and values[2] == 8  # compliance bit
    assert k2400.query(":SENS:CURR:PROT:TRIP?") == "1"
    assert k2400.query(":FETC?") == k2400.query(":FETC?")


def test_measure_current_configures_and_turns_the_output_on(k2400):
    k2400.write(":SOUR:VOLT 0.25;:FORM:ELEM CURR")
    assert float(k2400.query(":MEAS:CURR?")) > 0
    assert k2400.query(":OUTP?;:SENS:FUNC?") == '1;"CURR:DC"'


def test_reset_restores_defaults_and_the_bench_follows(k2400):
    k2400.write(":SOUR:VOLT 0.3;:OUTP ON")
    assert k2400.bench.bias_v == pytest.approx(0.3)
    k2400.write("*RST")
    assert k2400.query(":SOUR:VOLT?;:OUTP?") == "+0.000000E+00;0"
    assert k2400.bench.bias_v == 0.0
