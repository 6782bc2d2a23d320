"""The mock Tektronix MSO54 speaks the programmer manual, through PyVISA and through the driver."""

import numpy as np
import pytest
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.instruments.tektronix import TektronixMSO
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.mock_tektronix import MockTektronixMSO
from smtjlab.mocks.visa_library import mock_resource_manager

RESOURCE = "USB0::0x0699::0x0522::C012345::INSTR"
NO_EVENTS = '0,"No events to report - queue empty"'


class Ramp:
    """A bench whose junction reads a known ramp from −0.2 V to 0.5 V, whatever the bias."""

    channels = 2

    def sample(self, junction, n, rate):
        return np.linspace(-0.2, 0.5, n, dtype=np.float32), np.zeros(n, np.uint8)


def open_raw(bench):
    rm = mock_resource_manager(devices={RESOURCE: MockTektronixMSO(bench)})
    resource = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    return resource


@pytest.fixture
def raw():
    resource = open_raw(Ramp())
    resource.query("*ESR?")  # take the power-on event off the queue
    resource.query("ALLEV?")
    resource.write("HEADER OFF")
    return resource


def events(resource):
    """Every event code *ESR? releases, read with EVMsg? as the manual says."""
    resource.query("*ESR?")
    found = []
    while (reply := resource.query("EVMSG?")) != NO_EVENTS:
        found.append(int(reply.split(",")[0]))
    return found


def test_power_on_waits_behind_esr_and_replies_carry_headers_until_header_off():
    resource = open_raw(Ramp())
    assert resource.query("*IDN?").startswith("TEKTRONIX,MSO54,")
    # Events are readable only after *ESR? has summarised them.
    assert resource.query("EVMsg?") == ':EVMSG 1,"No events to report - new events pending *ESR?"'
    assert resource.query("*ESR?") == "128"  # PON
    assert resource.query("EVMsg?") == ':EVMSG 401,"Power on"'
    assert resource.query("ALLEV?") == f":ALLEV {NO_EVENTS}"
    assert resource.query("CH1:SCALE?") == ":CH1:SCALE 100.0E-3"
    resource.write("VERBose OFF")
    assert resource.query("ch1:sca?") == ":CH1:SCA 100.0E-3"
    resource.write("HEADer 0")
    assert resource.query("CH1:SCAle?") == "100.0E-3"


def test_settings_in_any_spelling_and_their_queries(raw):
    raw.write(":ch2:sca 25e-3;offs 0.15;POS -1;coup dcrej;:CH2:TERMINATION FIFTY")
    raw.write("DISPLAY:GLOBAL:CH2:STATE ON;:hor:reco 1000000;:HORIZONTAL:SCALE 1E-2")
    raw.write("acq:mod hir;numav 64;stopa seq")
    assert raw.query(":CH2:SCAle?;OFFSet?;POSition?;COUPling?;TERmination?").split(";") == [
        "25.0E-3",
        "150.0E-3",
        "-1.0E+0",
        "DCREJ",
        "50.0E+0",
    ]
    assert raw.query(":HOR:MODE?;RECO?;SCA?;SAMPLER?") == "AUTO;1000000;10.0E-3;10.0E+6"
    assert raw.query("ACQ:MODE?;NUMAVG?;STOPAFTER?;STATE?") == "HIRES;64;SEQUENCE;1"
    assert events(raw) == []


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (":CH5:SCAle 1", 113),  # four channels
        (":FOO:BAR 1", 113),
        (":CH1:SCAle 20", 222),  # 500 µV/div to 10 V/div at 1 MΩ
        (":CH1:SCAle 0.025;OFFSet 2", 222),  # ±1 V of offset below 64 mV/div
        (":CH1:POSition 6", 222),  # ±5 divisions
        (":CH1:TERmination 75", 224),
        (":HORizontal:RECOrdlength 100", 222),  # 1 k to 62.5 M points
        (":HORizontal:SAMPLERate 1E6", 221),  # the rate is set in MANual mode only
        (":DATa:ENCdg REAL", 224),
        (":DATa:WIDth 4", 222),
        (":DATa:SOUrce CH2;:CURVe?", 2244),  # channel 2 is not displayed: nothing acquired
        (":CH1:SCAle", 109),
        (":SYSTem:ERRor?", 113),  # the event queue is the only error queue
    ],
)
def test_errors_carry_the_scopes_codes_and_sesr_bits(raw, command, code):
    raw.write(command)
    esr = int(raw.query("*ESR?"))
    assert raw.query("EVMsg?").startswith(f"{code},")
    bit = {1: 0x20, 2: 0x10}[int(str(code)[0])]
    assert esr & bit


def test_offset_range_follows_the_scale(raw):
    raw.write(":CH1:SCAle 0.5;OFFSet 8")  # ±10 V from 64 mV/div
    assert float(raw.query(":CH1:OFFSet?")) == 8.0
    raw.write(":CH1:SCAle 0.025")  # back under 64 mV/div: the offset is clamped to ±1 V
    assert float(raw.query(":CH1:OFFSet?")) == 1.0
    assert events(raw) == []


def test_a_query_left_unread_is_interrupted_and_overflow_is_event_350(raw):
    raw.write("*IDN?")
    raw.write("*IDN?")
    raw.read()
    assert events(raw) == [410]
    for _ in range(40):
        raw.write(":FOO")
    found = events(raw)
    assert len(found) == 32 and found[-1] == 350


def test_horizontal_auto_mode_caps_the_rate_and_shrinks_the_record(raw):
    raw.write(":HORizontal:RECOrdlength 1000000;SCAle 1E-6")  # would be 100 GSa/s
    assert float(raw.query(":HORizontal:SAMPLERate?")) == 6.25e9
    assert int(raw.query(":HORizontal:RECOrdlength?")) == 62_500
    raw.write(":HORizontal:MODE MANual;SAMPLERate 1E8;RECOrdlength 200000")
    assert float(raw.query(":HORizontal:SCAle?")) == pytest.approx(2e-4)
    raw.write(":HORizontal:SCAle 1E-3")  # manual: the rate stays, the record grows
    assert int(raw.query(":HORizontal:RECOrdlength?")) == 1_000_000
    assert events(raw) == []


def test_one_sequence_stops_the_scope_and_every_transfer_reads_that_record(raw):
    raw.write(":HORizontal:RECOrdlength 1000;SCAle 1E-6;:ACQuire:STOPAfter SEQuence;STATE ON")
    assert raw.query(":ACQuire:STATE?;NUMACq?") == "0;1"
    raw.write(":DATa:SOUrce CH1;ENCdg RIBinary;WIDth 2")
    first = raw.query_binary_values(":CURVe?", datatype="h", is_big_endian=True)
    assert first == raw.query_binary_values(":CURVe?", datatype="h", is_big_endian=True)
    assert raw.query(":ACQuire:NUMACq?") == "1"


def decode(raw, datatype, big_endian):
    fields = raw.query(":WFMOutpre:YMUlt?;YOFf?;YZEro?;NR_Pt?").split(";")
    ymult, yoff, yzero, points = (float(f) for f in fields)
    if datatype == "ascii":
        codes = np.array(raw.query(":CURVe?").split(","), dtype=float)
    else:
        codes = np.array(
            raw.query_binary_values(":CURVe?", datatype=datatype, is_big_endian=big_endian),
            dtype=float,
        )
    assert len(codes) == points
    return (codes - yoff) * ymult + yzero


@pytest.mark.parametrize(
    ("encoding", "width", "datatype", "big_endian"),
    [
        ("RIBinary", 1, "b", True),
        ("RIBinary", 2, "h", True),
        ("SRIbinary", 2, "h", False),
        ("RPBinary", 1, "B", True),
        ("SRPbinary", 2, "H", False),
        ("ASCIi", 2, "ascii", False),
    ],
)
def test_every_encoding_decodes_to_the_inputs_volts(raw, encoding, width, datatype, big_endian):
    raw.write(":CH1:SCAle 0.1;POSition -1.5;OFFSet 0.1")  # the ramp spans -4.5 to +2.5 div
    raw.write(":HORizontal:RECOrdlength 1000;SCAle 1E-6;:ACQuire:STOPAfter SEQuence;STATE ON")
    raw.write(f":DATa:SOUrce CH1;ENCdg {encoding};:WFMOutpre:BYT_Nr {width}")
    volts = decode(raw, datatype, big_endian)
    expected = np.linspace(-0.2, 0.5, 1000)
    # Within half an ADC step (12 bits over 10.24 divisions), and half a level (1/25 division)
    # more in 1 byte; 2 bytes (6400 levels per division) hold every ADC step exactly.
    error = 0.5 * 0.1 / 400 + (0.5 * 0.1 / 25 if width == 1 else 0.0)
    np.testing.assert_allclose(volts, expected, atol=error * 1.001)
    assert events(raw) == []


def test_sribinary_is_ribinary_byte_swapped_and_start_stop_select_a_span(raw):
    raw.write(":HORizontal:RECOrdlength 1000;SCAle 1E-6;:ACQuire:STOPAfter SEQuence;STATE ON")
    raw.write(":DATa:SOUrce CH1;ENCdg RIBinary;WIDth 2;STARt 101;STOP 300")
    assert raw.query(":WFMOutpre:NR_Pt?") == "200"
    big = raw.query_binary_values(":CURVe?", datatype="h", is_big_endian=True)
    raw.write(":DATa:ENCdg SRIbinary")
    assert raw.query(":DATa:ENCdg?;:WFMOutpre:BYT_Or?;BN_Fmt?") == "SRIBINARY;LSB;RI"
    assert raw.query_binary_values(":CURVe?", datatype="h", is_big_endian=False) == big
    assert len(big) == 200


def test_the_whole_preamble_in_the_manuals_order(raw):
    raw.write(":HORizontal:RECOrdlength 1000;SCAle 1E-6;:ACQuire:STOPAfter SEQuence;STATE ON")
    fields = raw.query(":WFMOutpre?").split(";")
    assert fields[:5] == ["1", "8", "BINARY", "RI", "MSB"]
    assert fields[5].startswith('"Ch1, DC coupling')
    assert fields[6:10] == ["1000", "Y", "LINEAR", '"s"']
    assert float(fields[10]) == pytest.approx(1e-8) and fields[12] == "0"
    assert fields[13] == '"V"' and float(fields[14]) == pytest.approx(0.1 / 25)
    assert fields[17:19] == ["TIME", "ANALOG"] and len(fields) == 22
    raw.write("HEADer ON")
    assert raw.query(":WFMOutpre?").startswith(":WFMOUTPRE:BYT_NR 1;BIT_NR 8;ENCDG BINARY;")


def test_the_driver_sees_the_junction_follow_the_bias():
    bench = SimulatedBench(channels=1)
    rm = mock_resource_manager(devices={RESOURCE: MockTektronixMSO(bench)})
    scope = TektronixMSO(rm.open_resource(RESOURCE))  # the power-on event is no error
    scope.set_vertical(1, 0.025, 0.15)
    scope.configure_record(100_000, 10e6)
    means = []
    for bias in (0.2, 0.4):
        bench.source_voltage, bench.output_on = bias, True
        scope.digitize(1)
        wave = scope.fetch(1)
        assert len(wave.codes) == 100_000 and wave.sample_rate == pytest.approx(10e6)
        means.append(float(wave.volts.mean()))
    device = bench.devices[0]
    for bias, mean in zip((0.2, 0.4), means, strict=True):
        # Mostly low at 0.2 V, mostly high at 0.4 V: the mean follows the occupancy.
        v_low, v_high = device.levels(bias)
        expected = device.p_high(bias) * v_high + (1 - device.p_high(bias)) * v_low
        assert mean == pytest.approx(expected, abs=0.1 * (v_high - v_low))
    with pytest.raises(InstrumentError, match="113"):
        scope.write(":FOO:BAR 1")


def test_a_refused_query_is_reported_by_its_event_not_by_the_timeout_it_caused():
    rm = mock_resource_manager(devices={RESOURCE: MockTektronixMSO(Ramp())})
    scope = TektronixMSO(rm.open_resource(RESOURCE), timeout_ms=50)
    # The scope queues 113 and says nothing; the read that times out adds 420, an echo.
    with pytest.raises(InstrumentError, match=r"after ':CH1:FOO\?': 113,") as raised:
        scope.query(":CH1:FOO?")
    assert "420" not in str(raised.value)
    rm.visalib.faults(RESOURCE).inject("scpi_error")
    with pytest.raises(InstrumentError, match="200,"):
        scope.stop()
