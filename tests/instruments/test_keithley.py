"""Protocol tests: each Keithley 2400 driver method against the exchange in the 2400 manual."""

import pytest
from smtjlab.instruments.keithley import Keithley2400, Reading
from smtjlab.instruments.safety import BiasLimitError, BiasLimits
from smtjlab.instruments.scpi import InstrumentError

OK = (":SYSTem:ERRor?", '0,"No error"')
FAST = BiasLimits(max_abs_v=0.5, compliance_a=1e-4, ramp_step_v=0.01, ramp_rate_v_per_s=1e6)
CONNECT = [
    (":OUTPut:STATe?", "0"),
    (":SOURce:VOLTage:LEVel?", "+0.000000E+00"),
    (":SOURce:FUNCtion VOLTage", None),
    OK,
    (":SENSe:CURRent:PROTection:LEVel 0.0001", None),
    OK,
    (":FORMat:ELEMents?", "VOLT,CURR,RES,TIME,STAT"),
]


def connected(expect, exchanges):
    return expect(Keithley2400, CONNECT + exchanges, limits=FAST)


def biased(expect, exchanges):
    """A 2400 whose output is on at 0.02 V."""
    return expect(
        Keithley2400,
        [
            (":OUTPut:STATe?", "1"),
            (":SOURce:VOLTage:LEVel?", "+2.000000E-02"),
            (":SENSe:CURRent:PROTection:LEVel 0.0001", None),
            OK,
            (":FORMat:ELEMents?", "VOLT,CURR"),
            *exchanges,
        ],
        limits=FAST,
    )


def test_connect_reads_the_state_selects_voltage_sourcing_and_the_compliance(expect):
    smu = connected(expect, [])
    assert smu.bias_v == 0.0 and not smu.output_enabled
    assert smu.elements == ("voltage", "current", "resistance", "time", "status")


def test_connect_to_an_output_already_on_keeps_its_function_and_level(expect):
    smu = biased(expect, [])
    assert smu.output_enabled and smu.bias_v == pytest.approx(0.02)
    assert smu.elements == ("voltage", "current")


def test_connect_refuses_an_output_left_on_beyond_the_limits(expect):
    with pytest.raises(BiasLimitError, match="output is on at 2 V"):
        expect(
            Keithley2400,
            [(":OUTPut:STATe?", "1"), (":SOURce:VOLTage:LEVel?", "+2.000000E+00")],
            limits=FAST,
        )


def test_set_bias_turns_the_output_on_at_zero_then_ramps(expect):
    smu = connected(
        expect,
        [
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":OUTPut:STATe ON", None),
            OK,
            (":SOURce:VOLTage:LEVel 0.01", None),
            OK,
            (":SOURce:VOLTage:LEVel 0.02", None),
            OK,
            (":SOURce:VOLTage:LEVel 0.025", None),
            OK,
        ],
    )
    smu.set_bias(0.025)
    assert smu.bias_v == pytest.approx(0.025)


def test_set_bias_down_ramps_with_the_output_left_on(expect):
    smu = biased(
        expect,
        [
            (":SOURce:VOLTage:LEVel 0.01", None),
            OK,
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":SOURce:VOLTage:LEVel -0.01", None),
            OK,
        ],
    )
    smu.set_bias(-0.01)


def test_shutdown_reads_the_level_ramps_to_zero_and_turns_the_output_off(expect):
    smu = biased(
        expect,
        [
            (":SOURce:VOLTage:LEVel?", "+2.000000E-02"),
            (":SOURce:VOLTage:LEVel 0.01", None),
            OK,
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":OUTPut:STATe OFF", None),
            OK,
            (":OUTPut:STATe?", "0"),  # read back: the output is confirmed off
        ],
    )
    smu.shutdown()
    assert not smu.output_enabled and smu.bias_v == 0.0
    smu.shutdown()  # already off: nothing more is sent


def test_close_shuts_down_and_a_closed_driver_sends_nothing(expect):
    smu = biased(
        expect,
        [
            (":SOURce:VOLTage:LEVel?", "+1.000000E-02"),
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":OUTPut:STATe OFF", None),
            OK,
            (":OUTPut:STATe?", "0"),
        ],
    )
    smu.close()


def test_set_compliance_within_the_limit(expect):
    smu = connected(expect, [(":SENSe:CURRent:PROTection:LEVel 5e-05", None), OK])
    smu.set_compliance(50e-6)
    with pytest.raises(BiasLimitError, match=r"compliance 0\.001 A refused"):
        smu.set_compliance(1e-3)


@pytest.mark.parametrize(
    ("attribute", "value", "command"),
    [
        ("voltage_range", 2, ":SOURce:VOLTage:RANGe 2"),
        ("voltage_autorange", True, ":SOURce:VOLTage:RANGe:AUTO ON"),
        ("nplc", 0.1, ":SENSe:CURRent:NPLCycles 0.1"),
        ("current_range", 1e-5, ":SENSe:CURRent:RANGe 1e-05"),
        ("current_autorange", False, ":SENSe:CURRent:RANGe:AUTO OFF"),
    ],
)
def test_settings_write_their_header(expect, attribute, value, command):
    smu = connected(expect, [(command, None), OK])
    setattr(smu, attribute, value)


@pytest.mark.parametrize(
    ("attribute", "query", "reply", "value"),
    [
        ("voltage_range", ":SOURce:VOLTage:RANGe?", "+2.100000E+00", 2.1),
        ("voltage_autorange", ":SOURce:VOLTage:RANGe:AUTO?", "1", True),
        ("nplc", ":SENSe:CURRent:NPLCycles?", "+1.000000E+00", 1.0),
        ("current_range", ":SENSe:CURRent:RANGe?", "+1.050000E-04", 1.05e-4),
        ("current_autorange", ":SENSe:CURRent:RANGe:AUTO?", "0", False),
        ("compliance_tripped", ":SENSe:CURRent:PROTection:TRIPped?", "1", True),
        ("compliance_a", ":SENSe:CURRent:PROTection:LEVel?", "+1.000000E-04", 1e-4),
        ("source_voltage", ":SOURce:VOLTage:LEVel?", "+3.000000E-01", 0.3),
    ],
)
def test_settings_query_their_header(expect, attribute, query, reply, value):
    smu = connected(expect, [(query, reply)])
    assert getattr(smu, attribute) == pytest.approx(value)


def test_out_of_range_settings_and_read_only_ones_send_nothing(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="nplc: 20 is outside"):
        smu.nplc = 20
    with pytest.raises(AttributeError):
        smu.compliance_tripped = True


def test_instrument_errors_name_the_command_that_caused_them(expect):
    smu = connected(
        expect,
        [
            (":SENSe:CURRent:NPLCycles 0.5", None),
            (":SYSTem:ERRor?", '-221,"Settings conflict"'),
            OK,
        ],
    )
    with pytest.raises(InstrumentError, match=r"':SENSe:CURRent:NPLCycles 0.5'.*-221"):
        smu.nplc = 0.5


def test_sense_current(expect):
    connected(expect, [(':SENSe:FUNCtion "CURRent"', None), OK]).sense_current()


def test_elements_select_what_read_returns(expect):
    smu = biased(
        expect,
        [
            (":FORMat:ELEMents VOLTage,CURRent,TIME", None),
            OK,
            (":READ?", "+1.000000E-01,+2.063235E-05,+6.222361E-03"),
        ],
    )
    smu.elements = ["time", "current", "voltage"]
    assert smu.elements == ("voltage", "current", "time")
    assert smu.read() == Reading(voltage=0.1, current=2.063235e-05, time=6.222361e-03)


def test_read_returns_the_enabled_elements(expect):
    smu = biased(expect, [(":READ?", "+2.000000E-02,+1.500000E-06")])
    assert smu.read() == Reading(voltage=0.02, current=1.5e-06)


def test_read_and_measure_need_the_output_on_and_send_nothing_without(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="needs the output on"):
        smu.read()
    with pytest.raises(InstrumentError, match="needs the output on"):
        smu.measure_current()


def test_measure_current(expect):
    smu = biased(expect, [(":MEASure:CURRent?", "+2.000000E-02,+1.234000E-06")])
    assert smu.measure_current() == pytest.approx(1.234e-6)


def test_a_reply_with_the_wrong_number_of_elements_is_an_error(expect):
    smu = biased(expect, [(":READ?", "+2.000000E-02")])
    with pytest.raises(InstrumentError, match="returned 1 values"):
        smu.read()
