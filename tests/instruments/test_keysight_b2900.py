"""Protocol tests: the Keysight B2900 driver against the exchanges of its SCPI Command Reference."""

import pytest
from smtjlab.instruments import registry
from smtjlab.instruments.keysight_b2900 import KeysightB2900
from smtjlab.instruments.safety import BiasLimitError, BiasLimits, OutputMayBeOnError
from smtjlab.instruments.scpi import InstrumentError

OK = (":SYSTem:ERRor?", '+0,"No error"')
FAST = BiasLimits(max_abs_v=0.5, compliance_a=1e-4, ramp_step_v=0.01, ramp_rate_v_per_s=1e6)
B2902B = "Keysight Technologies,B2902B,MY56760001,5.0.2031.3009"


def connect(channel):
    """What the driver sends to take over one channel whose output is off."""
    return [
        (f":OUTPut{channel}?", "0"),
        (f":SOURce{channel}:VOLTage?", "+0.000000E+00"),
        (f":SOURce{channel}:FUNCtion:MODE VOLTage", None),
        OK,
        (f":OUTPut{channel}:ON:AUTO OFF", None),
        OK,
        (f":SENSe{channel}:CURRent:PROTection 0.0001", None),
        OK,
    ]


def connected(expect, exchanges, idn=B2902B):
    channels = connect(1) + (connect(2) if "B2902" in idn or "B2912" in idn else [])
    return expect(KeysightB2900, [("*IDN?", idn), *channels, *exchanges], limits=FAST)


def turn_on_and_ramp(channel, levels):
    sent = [(f":SOURce{channel}:VOLTage 0", None), OK, (f":OUTPut{channel} ON", None), OK]
    for level in levels:
        sent += [(f":SOURce{channel}:VOLTage {level}", None), OK]
    return sent


def test_a_two_channel_model_takes_over_both_channels_in_voltage_with_auto_output_on_off(expect):
    smu = connected(expect, [])
    assert smu.model == "B2902B" and smu.CHANNELS == 2
    for channel in (1, 2):
        source = smu.source(channel)
        assert source.bias_v == 0.0 and not source.output_enabled


def test_a_one_channel_model_has_no_channel_2(expect):
    smu = connected(expect, [], idn="Agilent Technologies,B2911A,MY52000001,3.4.1949.5834")
    assert smu.model == "B2911A" and smu.CHANNELS == 1
    with pytest.raises(InstrumentError, match="no source channel 2 \\(a B2911A has 1\\)"):
        smu.source(2)


def test_connect_to_an_output_on_within_the_limits_keeps_its_function_and_level(expect):
    smu = expect(
        KeysightB2900,
        [
            ("*IDN?", "Keysight Technologies,B2901C,MY60000001,6.0.1.0"),
            (":OUTPut1?", "1"),
            (":SOURce1:VOLTage?", "+2.000000E-02"),
            (":SOURce1:FUNCtion:MODE?", "VOLT"),
            (":OUTPut1:ON:AUTO OFF", None),
            OK,
            (":SENSe1:CURRent:PROTection 0.0001", None),
            OK,
        ],
        limits=FAST,
    )
    assert smu.source(1).output_enabled and smu.source(1).bias_v == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("level", "function", "message"),
    [
        ("+2.000000E+00", "VOLT", "output is on at 2 V, beyond the limit 0.5 V"),
        ("+0.000000E+00", "CURR", "output is on sourcing current"),
    ],
)
def test_connect_refuses_an_output_it_cannot_take_over_safely(expect, level, function, message):
    with pytest.raises(BiasLimitError, match=message):
        expect(
            KeysightB2900,
            [
                ("*IDN?", B2902B),
                (":OUTPut1?", "1"),
                (":SOURce1:VOLTage?", level),
                (":SOURce1:FUNCtion:MODE?", function),
            ],
            limits=FAST,
        )


def test_set_bias_on_channel_2_turns_its_output_on_at_zero_then_ramps(expect):
    smu = connected(expect, turn_on_and_ramp(2, ["0.01", "0.02", "0.025"]))
    smu.source(2).set_bias(0.025)
    assert smu.source(2).bias_v == pytest.approx(0.025) and smu.source(1).bias_v == 0.0


@pytest.mark.parametrize("volts", [0.51, -0.6, float("nan")])
def test_an_out_of_limit_bias_sends_nothing(expect, volts):
    smu = connected(expect, [])  # the script fails on any message it was not given
    with pytest.raises(BiasLimitError, match="refused"):
        smu.source(2).set_bias(volts)


def test_close_ramps_every_channel_on_to_zero_and_turns_it_off(expect):
    smu = connected(
        expect,
        [
            *turn_on_and_ramp(1, ["0.01", "0.02"]),
            *turn_on_and_ramp(2, ["0.01"]),
            (":SOURce1:VOLTage?", "+2.000000E-02"),
            (":SOURce1:VOLTage 0.01", None),
            OK,
            (":SOURce1:VOLTage 0", None),
            OK,
            (":OUTPut1 OFF", None),
            OK,
            (":OUTPut1?", "0"),  # each output read back: off, confirmed
            (":SOURce2:VOLTage?", "+1.000000E-02"),
            (":SOURce2:VOLTage 0", None),
            OK,
            (":OUTPut2 OFF", None),
            OK,
            (":OUTPut2?", "0"),
        ],
    )
    smu.source(1).set_bias(0.02)
    smu.source(2).set_bias(0.01)
    smu.close()
    assert not smu.source(1).output_enabled and not smu.source(2).output_enabled


def test_a_failed_shutdown_of_channel_1_still_makes_channel_2_safe(expect):
    refused = (":SYSTem:ERRor?", '-200,"Execution error"')
    attempt = [
        (":SOURce1:VOLTage?", "+0.000000E+00"),
        (":OUTPut1 OFF", None),
        refused,
        OK,
    ]
    smu = connected(
        expect,
        [
            *turn_on_and_ramp(1, ["0.01"]),
            *turn_on_and_ramp(2, ["0.01"]),
            (":SOURce1:VOLTage?", "+1.000000E-02"),
            (":SOURce1:VOLTage 0", None),
            OK,
            (":OUTPut1 OFF", None),
            refused,
            OK,
            *attempt,  # retried: the level reads 0 now, so only the output-off is sent
            *attempt,
            (":OUTPut1 OFF", None),  # a last OFF, refused too
            refused,
            OK,
            (":SOURce2:VOLTage?", "+1.000000E-02"),
            (":SOURce2:VOLTage 0", None),
            OK,
            (":OUTPut2 OFF", None),
            OK,
            (":OUTPut2?", "0"),
        ],
    )
    smu.source(1).set_bias(0.01)
    smu.source(2).set_bias(0.01)
    with pytest.raises(OutputMayBeOnError, match=r"the output may still be ON at 0\.00 V"):
        smu.shutdown()
    assert not smu.source(2).output_enabled


def test_measure_current_names_its_channels_and_reads_them_in_channel_order(expect):
    smu = connected(
        expect,
        [
            *turn_on_and_ramp(1, ["0.01"]),
            *turn_on_and_ramp(2, ["0.01"]),
            (":MEASure:CURRent? (@1,2)", "+1.000000E-06,+2.000000E-06"),
            (":MEASure:CURRent? (@2)", "+2.500000E-06"),
        ],
    )
    smu.source(1).set_bias(0.01)
    smu.source(2).set_bias(0.01)
    assert smu.measure_current(2, 1) == [pytest.approx(2e-6), pytest.approx(1e-6)]
    assert smu.source(2).measure_current() == pytest.approx(2.5e-6)


def test_measuring_with_the_output_off_is_refused_before_anything_is_sent(expect):
    smu = connected(expect, [])
    with pytest.raises(InstrumentError, match="channel 1 needs its output on"):
        smu.source(1).measure_current()


def test_settings_carry_the_channel_suffix(expect):
    smu = connected(
        expect,
        [
            (":SENSe2:CURRent:NPLCycles 0.1", None),
            OK,
            (":SOURce2:VOLTage:RANGe 2", None),
            OK,
            (":SENSe1:CURRent:PROTection:TRIPped?", "0"),
            (":SENSe2:CURRent:PROTection 5e-05", None),
            OK,
            (":SENSe2:CURRent:PROTection?", "+5.000000E-05"),
        ],
    )
    smu.source(2).nplc = 0.1
    smu.source(2).voltage_range = 2
    assert smu.source(1).compliance_tripped is False
    smu.source(2).set_compliance(5e-5)
    assert smu.source(2).compliance_a == pytest.approx(5e-5)
    with pytest.raises(InstrumentError, match="outside"):
        smu.source(1).nplc = 500  # refused locally: nothing sent


@pytest.mark.parametrize(
    ("idn", "matches"),
    [
        (B2902B, True),
        ("Agilent Technologies,B2901A,MY51140002,2.0.1210.6106", True),
        ("Keysight Technologies,B2912C,MY63000001,7.1.0", True),
        ("Keysight Technologies,B2901BL,MY60000009,5.0", True),
        ("Keysight Technologies,B2962A,MY54000001,3.0", False),  # a low-noise power source
        ("KEITHLEY INSTRUMENTS INC.,MODEL 2400,4120001,C32", False),
    ],
)
def test_the_registry_tells_a_b2900_by_its_idn(idn, matches):
    driver = registry.by_model("keysight-b2900")
    assert driver.cls is KeysightB2900 and driver.role == "source" and driver.channels == 2
    assert driver.matches(idn) is matches
