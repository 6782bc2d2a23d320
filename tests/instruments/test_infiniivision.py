"""Protocol tests: each InfiniiVision driver method against the programmer's guide exchange."""

import numpy as np
import pytest
from smtjlab.instruments.infiniivision import InfiniiVision, Preamble
from smtjlab.instruments.scpi import InstrumentError

OK = (":SYSTem:ERRor?", '+0,"No error"')
SETUP = (
    ":WAVeform:SOURce CHANnel{ch};:WAVeform:FORMat {fmt};:WAVeform:BYTeorder LSBFirst;"
    ":WAVeform:UNSigned ON;:WAVeform:POINts:MODE RAW;:WAVeform:POINts {points}"
)


def scope(expect, exchanges):
    return expect(InfiniiVision, exchanges, timeout_ms=50)


def block(body: bytes) -> bytes:
    return b"#8%08d" % len(body) + body + b"\n"


@pytest.mark.parametrize(
    ("attribute", "value", "command", "reply"),
    [
        ("scale", 0.05, ":CHANnel2:SCALe 0.05", "+5.00000000E-02"),
        ("range", 0.4, ":CHANnel2:RANGe 0.4", "+4.00000000E-01"),
        ("offset", -0.1, ":CHANnel2:OFFSet -0.1", "-1.00000000E-01"),
        ("coupling", "ac", ":CHANnel2:COUPling AC", "AC"),
        ("display", True, ":CHANnel2:DISPlay ON", "1"),
        ("probe", 10, ":CHANnel2:PROBe 10", "+1.00000000E+01"),
    ],
)
def test_channel_settings(expect, attribute, value, command, reply):
    header = command.split()[0]
    instrument = scope(expect, [(command, None), OK, (header + "?", reply)])
    setattr(instrument.channel(2), attribute, value)
    assert getattr(instrument.channel(2), attribute) == pytest.approx(value)


@pytest.mark.parametrize(
    ("attribute", "value", "command", "reply"),
    [
        ("timebase_scale", 1e-3, ":TIMebase:SCALe 0.001", "+1.00000000E-03"),
        ("timebase_range", 0.01, ":TIMebase:RANGe 0.01", "+1.00000000E-02"),
        ("timebase_position", 2e-4, ":TIMebase:POSition 0.0002", "+2.00000000E-04"),
        ("acquire_type", "high_resolution", ":ACQuire:TYPE HRESolution", "HRES"),
        ("acquire_count", 16, ":ACQuire:COUNt 16", "16"),
    ],
)
def test_timebase_and_acquire_settings(expect, attribute, value, command, reply):
    header = command.split()[0]
    instrument = scope(expect, [(command, None), OK, (header + "?", reply)])
    setattr(instrument, attribute, value)
    read_back = getattr(instrument, attribute)
    assert read_back == (value if isinstance(value, str) else pytest.approx(value))


def test_acquire_points_and_sample_rate_are_queries(expect):
    instrument = scope(
        expect, [(":ACQuire:POINts?", "4000000"), (":ACQuire:SRATe?", "+2.00000000E+09")]
    )
    assert instrument.acquire_points == 4_000_000
    assert instrument.sample_rate == 2e9


def test_configure_record_sets_the_timebase_range(expect):
    scope(expect, [(":TIMebase:RANGe 0.01", None), OK]).configure_record(1_000_000, 100e6)


@pytest.mark.parametrize(
    ("method", "command"), [("run", ":RUN"), ("stop", ":STOP"), ("single", ":SINGle")]
)
def test_run_stop_single(expect, method, command):
    getattr(scope(expect, [(command, None), OK]), method)()


RANGE = (":TIMebase:RANGe?", "+1.00000000E-01")


def test_digitize_waits_with_opc_then_checks_errors(expect):
    exchange = [RANGE, (":DIGitize CHANnel1,CHANnel3", None), ("*OPC?", "1"), OK]
    scope(expect, exchange).digitize(1, 3)


def test_digitize_waits_the_session_timeout_plus_twice_the_record(expect):
    instrument = scope(expect, [RANGE, (":DIGitize", None), ("*OPC?", "1"), OK])
    waits = {}
    write = instrument.script.write

    def noting_the_timeout(data: bytes) -> None:
        waits[data.decode().strip()] = instrument.resource.timeout
        write(data)

    instrument.script.write = noting_the_timeout
    instrument.digitize()
    # A 0.1 s record: *OPC? waits 50 ms + 2 x 100 ms; everything else the session's 50 ms.
    assert waits == {":TIMebase:RANGe?": 50, ":DIGitize": 250, "*OPC?": 250, OK[0]: 50}
    assert instrument.resource.timeout == 50


def test_a_digitize_that_times_out_is_taken_again(expect):
    no_reply = ("*OPC?", None)
    instrument = scope(
        expect,
        [(":DIGitize", None), no_reply, OK, (":DIGitize", None), ("*OPC?", "1"), OK],
    )
    instrument.digitize(timeout_ms=60)
    assert instrument.resource.timeout == 50


def test_a_digitize_that_never_completes_is_one_error(expect):
    no_reply = ("*OPC?", None)
    instrument = scope(expect, [(":DIGitize", None), no_reply, OK] * 2)
    with pytest.raises(InstrumentError, match=r"no reply within 60 ms to ':DIGitize' after 2"):
        instrument.digitize(timeout_ms=60)


def test_digitize_without_channels_takes_the_displayed_ones(expect):
    instrument = scope(expect, [(":DIGitize", None), ("*OPC?", "1"), OK])
    instrument.digitize(timeout_ms=60_000)
    assert instrument.resource.timeout == 50


def test_channels_outside_the_scope_are_refused_without_traffic(expect):
    instrument = scope(expect, [])
    with pytest.raises(InstrumentError, match="no channel 5"):
        instrument.digitize(5)
    with pytest.raises(InstrumentError, match="no channel 0"):
        instrument.fetch(0)


PREAMBLE_WORD = (
    "+1,+0,+4,+1,+1.00000000E-06,-5.00000000E-04,+0,+3.05175781E-05,+1.00000000E-01,+32768"
)


def test_preamble_parses_the_ten_fields(expect):
    instrument = scope(expect, [(":WAVeform:PREamble?", PREAMBLE_WORD)])
    assert instrument.preamble() == Preamble(
        "word", "normal", 4, 1, 1e-6, -5e-4, 0.0, 3.05175781e-05, 0.1, 32768.0
    )


def test_fetch_word_converts_codes_to_volts_and_times(expect):
    codes = np.array([32768, 32768 + 256, 32768 - 512, 65535], dtype="<u2")
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=2, fmt="WORD", points=4000), None),
            OK,
            (":WAVeform:PREamble?", PREAMBLE_WORD),
            (":WAVeform:DATA?", block(codes.tobytes())),
        ],
    )
    # The scope sends fewer points than asked when its record is shorter.
    wave = instrument.fetch(2, points=4000)
    expected = (codes.astype(float) - 32768) * 3.05175781e-05 + 0.1
    np.testing.assert_allclose(wave.volts, expected, rtol=1e-6)
    np.testing.assert_allclose(wave.times, -5e-4 + 1e-6 * np.arange(4))
    assert wave.sample_rate == pytest.approx(1e6)
    signed, volts_per_code, offset = wave.codes, wave.volts_per_code, wave.offset_volts
    assert signed.dtype == np.int16 and list(signed) == [0, 256, -512, 32767]
    assert (volts_per_code, offset) == (3.05175781e-05, 0.1)


def test_fetch_byte_asks_for_all_points_by_default(expect):
    codes = np.array([128, 0, 255], dtype="u1")
    preamble = "+0,+0,+3,+1,+2.0E-09,+0.0E+00,+0,+1.0E-02,-5.0E-02,+128"
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, fmt="BYTE", points="MAXimum"), None),
            OK,
            (":WAVeform:PREamble?", preamble),
            (":WAVeform:DATA?", block(codes.tobytes())),
        ],
    )
    wave = instrument.fetch(1, format="byte")
    np.testing.assert_allclose(wave.volts, [-0.05, -1.33, 1.22], atol=1e-6)
    assert wave.codes.dtype == np.int8


def test_fetch_ascii_reads_volts_from_an_eight_digit_block(expect):
    preamble = "+4,+0,+3,+1,+1.0E-06,+0.0E+00,+0,+0.0E+00,+0.0E+00,+0"
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, fmt="ASCii", points=100), None),
            OK,
            (":WAVeform:PREamble?", preamble),
            (":WAVeform:DATA?", block(b"+1.00000000E-01,-2.50000000E-02,+0.00000000E+00")),
        ],
    )
    wave = instrument.fetch(1, format="ascii", points=100)
    np.testing.assert_allclose(wave.volts, [0.1, -0.025, 0.0])
    assert wave.codes is None and wave.volts_per_code is None


def test_fetch_rejects_a_block_that_disagrees_with_the_preamble(expect):
    codes = np.zeros(3, dtype="<u2")
    instrument = scope(
        expect,
        [
            (SETUP.format(ch=1, fmt="WORD", points="MAXimum"), None),
            OK,
            (":WAVeform:PREamble?", PREAMBLE_WORD),
            (":WAVeform:DATA?", block(codes.tobytes())),
        ],
    )
    with pytest.raises(InstrumentError, match="sent 3 points, preamble says 4"):
        instrument.fetch(1)


def test_fetch_channels_fetches_each(expect):
    exchanges = []
    for ch in (1, 2):
        exchanges += [
            (SETUP.format(ch=ch, fmt="WORD", points=100), None),
            OK,
            (":WAVeform:PREamble?", PREAMBLE_WORD),
            (":WAVeform:DATA?", block(np.full(4, 32768, "<u2").tobytes())),
        ]
    waves = scope(expect, exchanges).fetch_channels([1, 2], points=100)
    assert [wave.channel for wave in waves] == [1, 2]


def test_a_bad_format_is_refused_without_traffic(expect):
    with pytest.raises(InstrumentError, match="waveform format"):
        scope(expect, []).fetch(1, format="real")
