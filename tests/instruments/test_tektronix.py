"""Protocol tests: the Tektronix MSO driver against the 4/5/6 Series MSO Programmer Manual."""

import numpy as np
import pytest
from smtjlab.instruments import registry
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.instruments.tektronix import PREAMBLE_QUERY, Preamble, TektronixMSO

NO_EVENTS = '0,"No events to report - queue empty"'
# The event check that follows every command: *ESR? releases the events, EVMsg? reads them.
OK = [("*ESR?", "0"), ("EVMsg?", NO_EVENTS)]
CONNECT = [(":HEADer OFF", None), *OK]
SETUP = (
    ":DATa:SOUrce CH{ch};:DATa:ENCdg {encoding};:WFMOutpre:BYT_Nr {width};"
    ":DATa:STARt 1;:DATa:STOP {stop}"
)


def scope(expect, exchanges, **kwargs):
    return expect(TektronixMSO, [*CONNECT, *exchanges], timeout_ms=50, **kwargs)


def block(body: bytes) -> bytes:
    length = str(len(body)).encode()
    return b"#" + str(len(length)).encode() + length + body + b"\n"


def preamble(encoding="BINARY", fmt="RI", order="LSB", width=2, points=4, yoff="0.0E+0"):
    # ENCdg;BN_Fmt;BYT_Or;BYT_Nr;NR_Pt;XINcr;XZEro;PT_Off;YMUlt;YOFf;YZEro, as HEADer OFF sends it
    return f"{encoding};{fmt};{order};{width};{points};1.0E-7;-5.0E-2;0;3.90625E-6;{yoff};1.5E-1"


def test_the_registry_knows_the_mso_by_model_and_idn():
    driver = registry.by_model("tektronix-mso")
    assert (driver.cls, driver.role, driver.channels) == (TektronixMSO, "scope", 4)
    for idn in (
        "TEKTRONIX,MSO54,C012345,CF:91.1CT FV:1.40.6.1226",
        "TEKTRONIX,MSO64B,C000001,CF:91.1CT FV:2.2.0",
        "TEKTRONIX,MSO58LP,B010101,CF:91.1CT FV:1.30",
        "TEKTRONIX,MSO46,Q000001,CF:91.1CT FV:2.0",
    ):
        assert registry.by_idn(idn).model == "tektronix-mso"
    # An MSO4104 (the older 4000 series) and a DPO7254 speak other channel and horizontal menus.
    for idn in ("TEKTRONIX,MSO4104,C0,CF:91.1CT FV:v2.1", "TEKTRONIX,DPO7254,B0,CF:91.1CT FV:6"):
        assert not driver.matches(idn)


def test_connecting_turns_headers_off_and_the_power_on_event_is_no_error(expect):
    # After power-on the SESR holds PON (128) and the queue event 401 "Power on": a report.
    expect(
        TektronixMSO,
        [
            (":HEADer OFF", None),
            ("*ESR?", "128"),
            ("EVMsg?", '401,"Power on"'),
            ("EVMsg?", NO_EVENTS),
        ],
    )


def test_a_refused_command_raises_with_the_scopes_event(expect):
    # 0.2 mV/div passes the driver's range (it spans the family), not an MSO54's 500 µV/div.
    instrument = scope(
        expect,
        [
            (":CH1:SCAle 0.0002", None),
            ("*ESR?", "16"),
            ("EVMsg?", '222,"Data out of range; CH1:SCALE 0.0002"'),
            ("EVMsg?", NO_EVENTS),
        ],
    )
    with pytest.raises(
        InstrumentError, match=r"after ':CH1:SCAle 0.0002': 222,\"Data out of range"
    ):
        instrument.channel(1).scale = 0.0002


def test_warnings_and_operation_complete_are_reports_not_errors(expect):
    instrument = scope(
        expect,
        [
            (":ACQuire:MODe HIRes", None),
            ("*ESR?", "17"),
            ("EVMsg?", '402,"Operation complete"'),
            ("EVMsg?", '540,"Measurement warning"'),
            ("EVMsg?", NO_EVENTS),
        ],
    )
    instrument.acquire_mode = "high_resolution"


@pytest.mark.parametrize(
    ("attribute", "value", "command", "reply"),
    [
        ("scale", 0.05, ":CH2:SCAle 0.05", "50.0E-3"),
        ("offset", -0.1, ":CH2:OFFSet -0.1", "-100.0E-3"),
        ("position", 1.5, ":CH2:POSition 1.5", "1.5000"),
        ("coupling", "dc_reject", ":CH2:COUPling DCREJect", "DCREJECT"),
        ("termination", 50, ":CH2:TERmination 50", "50.0000"),
        ("display", True, ":DISplay:GLObal:CH2:STATE ON", "1"),
    ],
)
def test_channel_settings(expect, attribute, value, command, reply):
    header = command.split()[0]
    instrument = scope(expect, [(command, None), *OK, (header + "?", reply)])
    setattr(instrument.channel(2), attribute, value)
    read_back = getattr(instrument.channel(2), attribute)
    assert read_back == (value if isinstance(value, str) else pytest.approx(value))


@pytest.mark.parametrize(
    ("attribute", "value", "command", "reply"),
    [
        ("horizontal_mode", "manual", ":HORizontal:MODE MANual", "MANUAL"),
        ("horizontal_scale", 1e-3, ":HORizontal:SCAle 0.001", "1.0E-3"),
        ("record_length", 1_000_000, ":HORizontal:RECOrdlength 1000000", "1000000"),
        ("acquire_mode", "average", ":ACQuire:MODe AVErage", "AVERAGE"),
        ("average_count", 64, ":ACQuire:NUMAVg 64", "64"),
        ("stop_after", "sequence", ":ACQuire:STOPAfter SEQuence", "SEQUENCE"),
    ],
)
def test_horizontal_and_acquire_settings(expect, attribute, value, command, reply):
    header = command.split()[0]
    instrument = scope(expect, [(command, None), *OK, (header + "?", reply)])
    setattr(instrument, attribute, value)
    read_back = getattr(instrument, attribute)
    assert read_back == (value if isinstance(value, str) else pytest.approx(value))


def test_sample_rate_and_acquisition_state_are_queries(expect):
    instrument = scope(expect, [(":HORizontal:SAMPLERate?", "6.25E+9"), (":ACQuire:STATE?", "0")])
    assert instrument.sample_rate == 6.25e9
    assert instrument.acquiring is False


def test_set_vertical_centres_the_offset_at_position_zero(expect):
    scope(
        expect,
        [
            (":CH3:SCAle 0.025", None),
            *OK,
            (":CH3:POSition 0", None),
            *OK,
            (":CH3:OFFSet 0.15", None),
            *OK,
        ],
    ).set_vertical(3, 0.025, 0.15)


def test_configure_record_sets_length_and_the_scale_that_gives_the_rate(expect):
    scope(
        expect,
        [
            (":HORizontal:MODE AUTO", None),
            *OK,
            (":HORizontal:RECOrdlength 1000000", None),
            *OK,
            (":HORizontal:SCAle 0.01", None),
            *OK,
        ],
    ).configure_record(1_000_000, 10e6)


def test_digitize_shows_the_channels_runs_one_sequence_and_waits_with_opc(expect):
    command = (
        ":DISplay:GLObal:CH1:STATE ON;:DISplay:GLObal:CH3:STATE ON;"
        ":ACQuire:STOPAfter SEQuence;:ACQuire:STATE ON"
    )
    instrument = scope(expect, [(command, None), ("*OPC?", "1"), *OK])
    instrument.digitize(1, 3, timeout_ms=60_000)
    assert instrument.resource.timeout == 50  # the long wait was for *OPC? only


def test_run_and_stop(expect):
    instrument = scope(
        expect,
        [
            (":ACQuire:STOPAfter RUNSTop;:ACQuire:STATE RUN", None),
            *OK,
            (":ACQuire:STATE STOP", None),
            *OK,
        ],
    )
    instrument.run()
    instrument.stop()


def test_channels_outside_the_scope_are_refused_without_traffic(expect):
    instrument = scope(expect, [])
    with pytest.raises(InstrumentError, match="no channel 5"):
        instrument.digitize(1, 5)
    with pytest.raises(InstrumentError, match="no channel 0"):
        instrument.fetch(0)
    with pytest.raises(InstrumentError, match="waveform format"):
        instrument.fetch(1, format="real")


def test_the_preamble_reads_its_fields_in_one_message(expect):
    assert PREAMBLE_QUERY == (
        ":WFMOutpre:ENCdg?;BN_Fmt?;BYT_Or?;BYT_Nr?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
    )
    instrument = scope(expect, [(PREAMBLE_QUERY, preamble())])
    assert instrument.preamble() == Preamble(
        "BINARY", "RI", "LSB", 2, 4, 1e-7, -5e-2, 0.0, 3.90625e-6, 0.0, 0.15
    )


def test_fetch_word_reads_little_endian_signed_codes_and_scales_them(expect):
    codes = np.array([0, 256, -512, 32767], dtype="<i2")
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=2, encoding="SRIbinary", width=2, stop=4), None),
            *OK,
            (PREAMBLE_QUERY, preamble(yoff="6.4E+3")),  # position +1 division
            (":CURVe?", block(codes.tobytes())),
        ],
    )
    wave = instrument.fetch(2, points=4)
    expected = (codes.astype(float) - 6400) * 3.90625e-6 + 0.15
    np.testing.assert_allclose(wave.volts, expected, rtol=1e-6)
    # The scope-neutral form: the codes as sent, the offset folding YOFf in.
    assert wave.codes.dtype == np.int16 and list(wave.codes) == [0, 256, -512, 32767]
    assert wave.volts_per_code == 3.90625e-6
    assert wave.offset_volts == pytest.approx(0.15 - 6400 * 3.90625e-6)
    assert wave.sample_rate == pytest.approx(10e6)
    np.testing.assert_allclose(wave.times, -5e-2 + 1e-7 * np.arange(4))


def test_fetch_byte_big_endian_asks_for_the_whole_record_by_default(expect):
    codes = np.array([-128, 0, 127], dtype="i1")
    instrument = scope(
        expect,
        [
            (":HORizontal:RECOrdlength?", "3"),
            (SETUP.format(ch=1, encoding="RIBinary", width=1, stop=3), None),
            *OK,
            (PREAMBLE_QUERY, preamble(order="MSB", width=1, points=3)),
            (":CURVe?", block(codes.tobytes())),
        ],
        little_endian=False,
    )
    wave = instrument.fetch(1, format="byte")
    assert wave.codes.dtype == np.int8 and list(wave.codes) == [-128, 0, 127]
    np.testing.assert_allclose(wave.volts, codes * 3.90625e-6 + 0.15, rtol=1e-6)


def test_big_endian_words_are_swapped(expect):
    codes = np.array([1, -2, 300], dtype=">i2")
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, encoding="RIBinary", width=2, stop=3), None),
            *OK,
            (PREAMBLE_QUERY, preamble(order="MSB", points=3)),
            (":CURVe?", block(codes.tobytes())),
        ],
        little_endian=False,
    )
    assert list(instrument.fetch(1, points=3).codes) == [1, -2, 300]


def test_fetch_ascii_reads_comma_separated_codes(expect):
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, encoding="ASCIi", width=2, stop=3), None),
            *OK,
            (PREAMBLE_QUERY, preamble(encoding="ASCII", points=3)),
            (":CURVe?", "-6400,0,12800"),
        ],
    )
    wave = instrument.fetch(1, format="ascii", points=3)
    assert list(wave.codes) == [-6400, 0, 12800]
    np.testing.assert_allclose(wave.volts, [0.125, 0.15, 0.2], rtol=1e-6)


def test_fetch_rejects_a_block_that_disagrees_with_nr_pt(expect):
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, encoding="SRIbinary", width=2, stop=4), None),
            *OK,
            (PREAMBLE_QUERY, preamble()),
            (":CURVe?", block(np.zeros(3, "<i2").tobytes())),
        ],
    )
    with pytest.raises(InstrumentError, match="sent 3 points, NR_Pt says 4"):
        instrument.fetch(1, points=4)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (preamble(width=1), "asked for BINARY 2-byte data, the scope says BINARY 1-byte"),
        (preamble(fmt="RP"), "expected signed data"),
    ],
)
def test_fetch_rejects_a_transfer_it_did_not_ask_for(expect, fields, message):
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, encoding="SRIbinary", width=2, stop=4), None),
            *OK,
            (PREAMBLE_QUERY, fields),
        ],
    )
    with pytest.raises(InstrumentError, match=message):
        instrument.fetch(1, points=4)


def test_a_garbled_preamble_is_retried_after_a_device_clear(expect):
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, encoding="SRIbinary", width=2, stop=2), None),
            *OK,
            (PREAMBLE_QUERY, "BINARY;RI"),
            (PREAMBLE_QUERY, preamble(points=2)),
            (":CURVe?", block(np.zeros(2, "<i2").tobytes())),
        ],
    )
    assert len(instrument.fetch(1, points=2).volts) == 2
