"""Protocol tests: each Keithley 2450 driver method against the exchange in the 2450 manual (§6)."""

import pytest
import pyvisa
from smtjlab.instruments.keithley2450 import BufferReading, Keithley2450
from smtjlab.instruments.registry import by_idn
from smtjlab.instruments.safety import BiasLimitError, BiasLimits
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keithley2450 import MockKeithley2450
from smtjlab.mocks.visa_library import mock_resource_manager

OK = (":SYSTem:ERRor?", '0,"No error"')
FAST = BiasLimits(max_abs_v=0.5, compliance_a=1e-4, ramp_step_v=0.01, ramp_rate_v_per_s=1e6)
CONNECT = [
    ("*LANG?", "SCPI"),
    (":OUTPut:STATe?", "0"),
    (":SOURce:VOLTage:LEVel?", "0.000000E+00"),
    (":SOURce:FUNCtion VOLTage", None),
    OK,
    (":SOURce:VOLTage:ILIMit:LEVel 0.0001", None),
    OK,
]


def connected(expect, exchanges):
    return expect(Keithley2450, CONNECT + exchanges, limits=FAST)


@pytest.mark.parametrize(
    "idn",
    [
        "KEITHLEY INSTRUMENTS,MODEL 2450,04512345,1.7.12b",
        "KEITHLEY INSTRUMENTS INC.,MODEL 2450,01234567,1.0.0i",  # the Rev. B manual's example
        "KEITHLEY INSTRUMENTS,MODEL 2460,04400001,1.7.5b",
        "KEITHLEY INSTRUMENTS,MODEL 2470,01234567,1.0.0i",
    ],
)
def test_the_family_is_told_by_its_idn_and_not_taken_for_a_2400(idn):
    assert by_idn(idn).model == "keithley2450"


def test_a_2400_is_not_taken_for_a_2450():
    assert by_idn("KEITHLEY INSTRUMENTS INC.,MODEL 2400,4120001,C32").model == "keithley2400"


def test_connect_checks_the_command_set_reads_the_state_and_sets_the_current_limit(expect):
    smu = connected(expect, [])
    assert smu.bias_v == 0.0 and not smu.output_enabled


@pytest.mark.parametrize("language", ["TSP", "SCPI2400"])
def test_connect_refuses_another_command_set_before_sending_anything_else(expect, language):
    with pytest.raises(InstrumentError, match=f"speaks '{language}', not 'SCPI'; send"):
        expect(Keithley2450, [("*LANG?", language)], limits=FAST)


def test_connect_to_an_output_already_on_keeps_its_function_and_level(expect):
    smu = expect(
        Keithley2450,
        [
            ("*LANG?", "SCPI"),
            (":OUTPut:STATe?", "1"),
            (":SOURce:VOLTage:LEVel?", "2.000000E-02"),
            (":SOURce:VOLTage:ILIMit:LEVel 0.0001", None),
            OK,
        ],
        limits=FAST,
    )
    assert smu.output_enabled and smu.bias_v == pytest.approx(0.02)


def test_connect_refuses_an_output_left_on_beyond_the_limits(expect):
    with pytest.raises(BiasLimitError, match="output is on at 2 V"):
        expect(
            Keithley2450,
            [("*LANG?", "SCPI"), (":OUTPut:STATe?", "1"), (":SOURce:VOLTage:LEVel?", "2.0E+00")],
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
            (":SOURce:VOLTage:LEVel 0.015", None),
            OK,
        ],
    )
    smu.set_bias(0.015)
    assert smu.bias_v == pytest.approx(0.015)


def test_an_out_of_limit_bias_or_limit_sends_nothing(expect):
    smu = connected(expect, [])
    with pytest.raises(BiasLimitError):
        smu.set_bias(0.6)
    with pytest.raises(BiasLimitError):
        smu.set_compliance(2e-4)


def test_shutdown_reads_the_level_ramps_down_and_turns_the_output_off(expect):
    smu = connected(
        expect,
        [
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":OUTPut:STATe ON", None),
            OK,
            (":SOURce:VOLTage:LEVel 0.01", None),
            OK,
            (":SOURce:VOLTage:LEVel?", "1.000000E-02"),
            (":SOURce:VOLTage:LEVel 0", None),
            OK,
            (":OUTPut:STATe OFF", None),
            OK,
            (":OUTPut:STATe?", "0"),  # the output read back: off, confirmed
        ],
    )
    smu.set_bias(0.01)
    smu.shutdown()
    assert not smu.output_enabled and smu.bias_v == 0.0


def test_set_compliance_is_the_source_current_limit(expect):
    smu = connected(
        expect,
        [
            (":SOURce:VOLTage:ILIMit:LEVel 5e-05", None),
            OK,
            (":SOURce:VOLTage:ILIMit:LEVel?", "5.000000E-05"),
            (":SOURce:VOLTage:ILIMit:LEVel:TRIPped?", "0"),
        ],
    )
    smu.set_compliance(50e-6)
    assert smu.compliance_a == pytest.approx(50e-6)
    assert smu.compliance_tripped is False


def test_read_back_queries_the_instrument(expect):
    smu = connected(expect, [(":SOURce:VOLTage:LEVel?", "0.000000E+00"), (":OUTPut:STATe?", "0")])
    state = smu.read_state()
    assert (state.level_v, state.output_on) == (0.0, False)


def test_settings_write_the_manual_headers_and_check_the_error_queue(expect):
    smu = connected(
        expect,
        [
            (":SOURce:VOLTage:RANGe 2", None),
            OK,
            (":SOURce:VOLTage:RANGe:AUTO ON", None),
            OK,
            (":SOURce:VOLTage:READ:BACK OFF", None),
            OK,
            (":SENSe:CURRent:NPLCycles 0.1", None),
            OK,
            (":SENSe:CURRent:RANGe 1e-05", None),
            OK,
            (":SENSe:CURRent:RANGe:AUTO?", "0"),
            (":SENSe:CURRent:RSENse OFF", None),
            OK,
        ],
    )
    smu.voltage_range = 2
    smu.voltage_autorange = True
    smu.readback = False
    smu.nplc = 0.1
    smu.current_range = 10e-6
    assert smu.current_autorange is False
    smu.remote_sense = False


def test_an_instrument_error_names_the_command(expect):
    smu = connected(
        expect,
        [
            (":SENSe:CURRent:NPLCycles 10", None),
            (":SYSTem:ERRor?", '-221,"Settings conflict"'),
            OK,
        ],
    )
    with pytest.raises(InstrumentError, match=r"after ':SENSe:CURRent:NPLCycles 10': -221"):
        smu.nplc = 10


def test_a_setting_out_of_its_range_sends_nothing(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="outside"):
        smu.nplc = 20


def test_sense_current_and_the_sense_function(expect):
    smu = connected(
        expect,
        [(':SENSe:FUNCtion "CURRent"', None), OK, (":SENSe:FUNCtion?", '"CURR:DC"')],
    )
    smu.sense_current()
    assert smu.sense_function == "current"


def test_read_asks_the_buffer_for_reading_source_and_relative_time(expect):
    smu = connected(
        expect,
        [(':READ? "defbuffer1",READing,SOURce,RELative', "2.512340E-05,3.000000E-01,0.000000E+00")],
    )
    assert smu.read() == BufferReading(2.51234e-05, 0.3, 0.0)


def test_read_into_a_named_buffer_and_measure_current(expect):
    smu = connected(
        expect,
        [
            (':READ? "sweep1",READing,SOURce,RELative', "1.0E-06,1.0E-01,2.5E-02"),
            (':MEASure:CURRent? "defbuffer1"', "-3.141590E-07"),
        ],
    )
    assert smu.read("sweep1").relative_time_s == pytest.approx(0.025)
    assert smu.measure_current() == pytest.approx(-3.14159e-7)


def test_a_bad_buffer_name_sends_nothing(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="not a reading buffer name"):
        smu.read('x",*RST')


def test_the_buffer_count_data_and_clear(expect):
    smu = connected(
        expect,
        [
            (':TRACe:ACTual? "defbuffer1"', "2"),
            (':TRACe:DATA? 1,2,"defbuffer1",READing,SOURce,RELative', "1E-6,0.3,0,2E-6,0.3,0.02"),
            (':TRACe:CLEar "defbuffer1"', None),
            OK,
            (':TRACe:ACTual? "defbuffer1"', "0"),
        ],
    )
    assert smu.buffer_readings() == [
        BufferReading(1e-6, 0.3, 0.0),
        BufferReading(2e-6, 0.3, 0.02),
    ]
    smu.clear_buffer()
    assert smu.buffer_readings() == []


def test_a_short_buffer_transfer_is_an_error(expect):
    smu = connected(
        expect,
        [
            (':TRACe:ACTual? "defbuffer1"', "2"),
            (':TRACe:DATA? 1,2,"defbuffer1",READing,SOURce,RELative', "1E-6,0.3,0"),
        ],
    )
    with pytest.raises(InstrumentError, match="3 values for 2 readings"):
        smu.buffer_readings()


# -- through the mock 2450 and its faults -------------------------------------------------------

RESOURCE = "USB0::0x05E6::0x2450::04512345::INSTR"


def on_the_mock():
    world = SimulatedBench()
    rm = mock_resource_manager(devices={RESOURCE: MockKeithley2450(world, "smu:1")})
    return world, rm.visalib


def test_a_timeout_or_garbled_reply_is_retried_and_a_lost_link_is_one_clear_error():
    world, library = on_the_mock()
    library.faults(RESOURCE).inject("timeout")
    library.faults(RESOURCE).inject("garbled")
    smu = Keithley2450(library_resource(library), FAST)
    smu.set_bias(0.3)
    assert world.bias_on(0) == pytest.approx(0.3)
    library.faults(RESOURCE).inject("disconnect")
    with pytest.raises(InstrumentError, match="connection lost"):
        smu.read()


def test_an_instrument_error_on_a_bias_step_is_reported_and_shutdown_still_ends_safe():
    world, library = on_the_mock()
    smu = Keithley2450(library_resource(library), FAST)
    library.faults(RESOURCE).inject("scpi_error")
    with pytest.raises(InstrumentError, match="instrument error after"):
        smu.set_bias(0.02)
    smu.shutdown()
    assert world.output("smu:1") == (0.0, False)


def library_resource(library):
    return pyvisa.ResourceManager(library).open_resource(RESOURCE)
