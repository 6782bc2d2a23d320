"""Protocol tests: the Keithley 2600B driver against the TSP exchanges of the 2600B manual."""

import re

import pytest
from smtjlab.instruments import registry
from smtjlab.instruments.keithley import Reading
from smtjlab.instruments.keithley2600 import Keithley2600
from smtjlab.instruments.safety import BiasLimitError, BiasLimits, SourceState
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_keithley2600 import MockKeithley2600
from smtjlab.mocks.visa_library import mock_resource_manager

EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"
OK = ("print(errorqueue.next())", EMPTY)
FAST = BiasLimits(max_abs_v=0.5, compliance_a=1e-4, ramp_step_v=0.01, ramp_rate_v_per_s=1e6)


def channel_connect(smu, output="0.00000e+00", level="0.00000e+00"):
    """What the driver sends to take over one channel whose output is off."""
    return [
        (f"print({smu}.source.output)", output),
        (f"print({smu}.source.levelv)", level),
        (f"{smu}.source.func = {smu}.OUTPUT_DCVOLTS", None),
        OK,
        (f"{smu}.source.limiti = 0.0001", None),
        OK,
    ]


CONNECT = [
    ("print(localnode.model)", "2636B"),
    *channel_connect("smua"),
    *channel_connect("smub"),
]


def connected(expect, exchanges):
    return expect(Keithley2600, CONNECT + exchanges, limits=FAST)


def test_connect_asks_the_model_then_takes_over_both_channels(expect):
    smu = connected(expect, [])
    assert smu.model == "2636B" and smu.CHANNELS == 2
    for channel in (1, 2):
        assert smu.source(channel).bias_v == 0.0 and not smu.source(channel).output_enabled
    assert smu.source(2).name.endswith("GPIB0::9::INSTR smub")


def test_a_single_channel_model_has_only_smua(expect):
    smu = expect(
        Keithley2600, [("print(localnode.model)", "2601B"), *channel_connect("smua")], limits=FAST
    )
    assert smu.CHANNELS == 1
    with pytest.raises(InstrumentError, match="no source channel 2 \\(a 2601B has 1\\)"):
        smu.source(2)


def test_connect_keeps_an_output_left_on_within_the_limits(expect):
    smu = expect(
        Keithley2600,
        [
            ("print(localnode.model)", "2601B"),
            ("print(smua.source.output)", "1.00000e+00"),
            ("print(smua.source.levelv)", "2.00000e-02"),
            ("print(smua.source.func)", "1.00000e+00"),
            ("smua.source.limiti = 0.0001", None),
            OK,
        ],
        limits=FAST,
    )
    assert smu.source(1).output_enabled and smu.source(1).bias_v == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("level", "func", "message"),
    [
        ("2.00000e+00", "1.00000e+00", "output is on at 2 V, beyond the limit"),
        ("0.00000e+00", "0.00000e+00", "output is on sourcing current"),
    ],
)
def test_connect_refuses_an_output_left_on_beyond_the_limits_or_sourcing_current(
    expect, level, func, message
):
    with pytest.raises(BiasLimitError, match=message):
        expect(
            Keithley2600,
            [
                ("print(localnode.model)", "2636B"),
                ("print(smua.source.output)", "1.00000e+00"),
                ("print(smua.source.levelv)", level),
                ("print(smua.source.func)", func),
            ],
            limits=FAST,
        )


def test_set_bias_turns_the_output_on_at_zero_then_ramps(expect):
    smu = connected(
        expect,
        [
            ("smub.source.levelv = 0", None),
            OK,
            ("smub.source.output = smub.OUTPUT_ON", None),
            OK,
            ("smub.source.levelv = 0.01", None),
            OK,
            ("smub.source.levelv = 0.02", None),
            OK,
            ("smub.source.levelv = 0.025", None),
            OK,
        ],
    )
    smu.source(2).set_bias(0.025)
    assert smu.source(2).bias_v == pytest.approx(0.025) and smu.source(1).bias_v == 0.0


def test_a_bias_beyond_the_limits_sends_nothing(expect):
    smu = connected(expect, [])
    with pytest.raises(BiasLimitError, match="limit is"):
        smu.source(1).set_bias(0.6)
    with pytest.raises(BiasLimitError, match="limit is"):
        smu.source(1).set_compliance(1e-3)
    # The script's end is asserted by the fixture: nothing more was sent.


def test_shutdown_reads_the_level_ramps_down_and_turns_the_output_off(expect):
    smu = connected(
        expect,
        [
            ("smua.source.levelv = 0", None),
            OK,
            ("smua.source.output = smua.OUTPUT_ON", None),
            OK,
            ("smua.source.levelv = 0.01", None),
            OK,
            ("print(smua.source.levelv)", "1.00000e-02"),
            ("smua.source.levelv = 0", None),
            OK,
            ("smua.source.output = smua.OUTPUT_OFF", None),
            OK,
            ("print(smua.source.output)", "0.00000e+00"),
        ],
    )
    smu.source(1).set_bias(0.01)
    smu.shutdown()  # smub is off already: nothing is sent for it
    assert not smu.source(1).output_enabled


def test_close_shuts_down_every_channel_that_is_on(expect):
    smu = connected(
        expect,
        [
            ("smua.source.levelv = 0", None),
            OK,
            ("smua.source.output = smua.OUTPUT_ON", None),
            OK,
            ("smub.source.levelv = 0", None),
            OK,
            ("smub.source.output = smub.OUTPUT_ON", None),
            OK,
            ("print(smua.source.levelv)", "0.00000e+00"),
            ("smua.source.output = smua.OUTPUT_OFF", None),
            OK,
            ("print(smua.source.output)", "0.00000e+00"),
            ("print(smub.source.levelv)", "0.00000e+00"),
            ("smub.source.output = smub.OUTPUT_OFF", None),
            OK,
            ("print(smub.source.output)", "0.00000e+00"),
        ],
    )
    smu.source(1).set_bias(0.0)
    smu.source(2).set_bias(0.0)
    smu.close()


def test_read_state_asks_level_and_output_in_one_print(expect):
    smu = connected(
        expect, [("print(smub.source.levelv, smub.source.output)", "3.00000e-01\t1.00000e+00")]
    )
    assert smu.source(2).read_state() == SourceState(pytest.approx(0.3), True)


def test_measurements_print_the_measure_functions(expect):
    smu = connected(
        expect,
        [
            ("smua.source.levelv = 0", None),
            OK,
            ("smua.source.output = smua.OUTPUT_ON", None),
            OK,
            ("print(smua.measure.i())", "2.06324e-05"),
            ("print(smua.measure.iv())", "2.07000e-05\t0.00000e+00"),
            ("print(smua.source.compliance)", "false"),
        ],
    )
    channel = smu.source(1)
    channel.set_bias(0.0)
    assert channel.measure_current() == pytest.approx(2.06324e-05)
    assert channel.read() == Reading(voltage=0.0, current=pytest.approx(2.07e-05))
    assert channel.compliance_tripped is False


def test_measuring_with_the_output_off_is_refused_before_sending(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="needs the output on"):
        smu.source(1).measure_current()


def test_settings_are_attributes_written_with_the_manuals_constants(expect):
    smu = connected(
        expect,
        [
            ("smua.measure.nplc = 0.5", None),
            OK,
            ("print(smua.measure.nplc)", "5.00000e-01"),
            ("smub.source.autorangev = smub.AUTORANGE_OFF", None),
            OK,
            ("smub.source.rangev = 2", None),
            OK,
            ("print(smub.source.rangev)", "2.00000e+00"),
            ("print(smua.source.output)", "2.00000e+00"),  # OUTPUT_HIGH_Z: off
        ],
    )
    smu.source(1).nplc = 0.5
    assert smu.source(1).nplc == 0.5
    smu.source(2).voltage_autorange = False
    smu.source(2).voltage_range = 2
    assert smu.source(2).voltage_range == 2.0
    assert smu.source(1)._output_state is False
    with pytest.raises(InstrumentError, match="outside"):
        smu.source(1).nplc = 50  # refused before sending


def test_an_instrument_error_names_the_statement_and_the_tsp_error(expect):
    smu = connected(
        expect,
        [
            ("smua.measure.nplc = 20", None),
            (
                "print(errorqueue.next())",
                "1.10100e+03\tParameter too big\t2.00000e+01\t1.00000e+00",
            ),
            OK,
        ],
    )
    with pytest.raises(
        InstrumentError, match=re.escape("'smua.measure.nplc = 20': 1101,\"Parameter too big\"")
    ):
        smu.source(1).nplc = 20


def test_the_idn_pattern_knows_the_2600b_family_and_nothing_else():
    driver = registry.by_model("keithley2600")
    for model in ("2601B", "2602B", "2604B", "2611B", "2612B", "2614B", "2634B", "2635B", "2636B"):
        idn = f"Keithley Instruments Inc., Model {model}, 4500001, 4.0.5"
        assert registry.by_idn(idn).model == "keithley2600"
    assert not driver.matches("Keithley Instruments Inc., Model 2602A, 1, 2.2.1")
    assert not driver.matches("KEITHLEY INSTRUMENTS INC.,MODEL 2400,4120001,C32")


@pytest.fixture
def on_the_mock():
    """The driver on a mock 2636B through PyVISA, with its fault injector and world."""
    world = SimulatedBench(channels=2, wiring=["smu:1", "smu:2"])
    resource = "GPIB0::26::INSTR"
    rm = mock_resource_manager(world, devices={resource: MockKeithley2600(world, "smu")})
    smu = Keithley2600(rm.open_resource(resource), FAST, timeout_ms=50)
    return smu, rm.visalib.faults(resource), world


@pytest.mark.parametrize("fault", ["timeout", "garbled"])
def test_a_timed_out_or_garbled_reply_is_asked_again(on_the_mock, fault):
    smu, faults, world = on_the_mock
    smu.source(2).set_bias(0.3)
    faults.inject(fault)
    assert smu.source(2).read_state() == SourceState(pytest.approx(0.3), True)
    assert faults.fired[fault] == 1 and world.output("smu:2") == (0.3, True)


def test_an_injected_instrument_error_names_the_statement(on_the_mock):
    smu, faults, _ = on_the_mock
    faults.inject("scpi_error")
    with pytest.raises(InstrumentError, match=re.escape("after 'smua.measure.nplc = 2': -200")):
        smu.source(1).nplc = 2


def test_a_dropped_connection_is_one_clear_error(on_the_mock):
    smu, faults, _ = on_the_mock
    faults.inject("disconnect")
    with pytest.raises(InstrumentError, match="connection lost"):
        smu.source(1).read_state()
