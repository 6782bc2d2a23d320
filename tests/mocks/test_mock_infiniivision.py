"""The mock InfiniiVision speaks the programmer's guide, through PyVISA and through the driver."""

import numpy as np
import pytest
from smtjlab.instruments.infiniivision import InfiniiVision
from smtjlab.mocks.bench import SimulatedBench
from smtjlab.mocks.visa_library import SCOPE_RESOURCE, mock_resource_manager


@pytest.fixture
def rm():
    bench = SimulatedBench(channels=2)
    rm = mock_resource_manager(bench)  # the mock SMU powers up with its output off
    bench.source_voltage, bench.output_on = 0.3, True
    return rm


@pytest.fixture
def raw(rm):
    resource = rm.open_resource(SCOPE_RESOURCE, read_termination="\n", write_termination="\n")
    resource.timeout = 20
    return resource


def errors_of(resource):
    found = []
    while not (reply := resource.query(":SYSTEM:ERROR?")).startswith("+0,"):
        found.append(int(reply.split(",")[0]))
    return found


def test_settings_in_any_spelling_and_their_queries(raw):
    raw.write(":chan2:scal 5E-2;offs -0.1;coup ac;:CHANnel2:DISPlay 1;:TIM:RANG 1E-3;POS 1e-4")
    raw.write(":ACQuire:TYPE HRESolution;:acq:coun 16")
    assert raw.query(":CHAN2:SCAL?;OFFS?;COUP?;DISP?;RANG?;PROB?").split(";") == [
        "+5.00000000E-02",
        "-1.00000000E-01",
        "AC",
        "1",
        "+4.00000000E-01",
        "+1.00000000E+00",
    ]
    assert raw.query(":TIM:SCAL?;POS?;REF?;:ACQ:TYPE?;COUN?") == (
        "+1.00000000E-04;+1.00000000E-04;CENT;HRES;16"
    )
    assert errors_of(raw) == []


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (":CHAN5:SCAL 1", -114),
        (":TIM:SCAL MAX", -104),  # InfiniiVision numbers take no MIN/MAX
        (":CHAN1:SCAL 10", -222),
        (":WAV:FORM REAL", -224),
        (":WAV:SOUR CHAN2;:WAV:DATA?", -230),  # channel 2 is off: nothing acquired
        (":DIG CHAN9", -114),
    ],
)
def test_errors(raw, command, code):
    raw.write(command)  # a refused query sends no reply
    assert errors_of(raw) == [code]


@pytest.mark.parametrize("fmt", ["BYTE", "WORD", "ASCii"])
def test_every_format_carries_the_8_digit_block_header(raw, fmt):
    raw.write(f":TIM:RANG 1E-4;:WAV:FORM {fmt};:WAV:POIN:MODE RAW;:WAV:POIN 1000;:DIG CHAN1")
    assert raw.query("*OPC?") == "1"
    raw.read_termination = None  # binary data may hold newline bytes
    raw.write(":WAV:DATA?")
    reply = bytes(raw.read_raw())
    assert reply[:2] == b"#8" and int(reply[2:10]) == len(reply) - 11 and reply[-1:] == b"\n"
    points = 1000 if fmt == "ASCii" else len(reply) - 11
    assert points in (1000, 2000)


def test_third_party_style_transfer_with_pyvisa_defaults(rm):
    # A driver written from the guide: termination left on, the block read by PyVISA itself.
    scope = rm.open_resource(SCOPE_RESOURCE, read_termination="\n")
    scope.write(":TIMebase:RANGe 1E-3;:WAVeform:FORMat BYTE;:WAVeform:POINts:MODE RAW")
    scope.write(":WAVeform:POINts 10000;:DIGitize CHANnel1")
    assert scope.query("*OPC?") == "1"
    pre = [float(v) for v in scope.query(":WAVeform:PREamble?").split(",")]
    data = scope.query_binary_values(":WAVeform:DATA?", datatype="B", container=np.array)
    assert len(data) == pre[2] == 10_000
    assert scope.query(":SYSTem:ERRor?") == '+0,"No error"'


def test_byte_word_and_ascii_give_the_same_volts(rm):
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    scope.channel(1).scale = 0.025
    scope.channel(1).offset = 0.12
    scope.configure_record(20_000, 10e6)
    scope.digitize(1)
    word = scope.fetch(1, points=20_000)
    byte = scope.fetch(1, format="byte", points=20_000)
    ascii_ = scope.fetch(1, format="ascii", points=20_000)
    np.testing.assert_allclose(byte.volts, word.volts, atol=1e-6)
    np.testing.assert_allclose(ascii_.volts, word.volts, atol=1e-6)
    assert word.sample_rate == byte.sample_rate


def test_msb_first_and_signed_words(raw, rm):
    raw.write(":CHAN1:SCAL 0.025;OFFS 0.1;:TIM:RANG 1E-5;:WAV:FORM WORD;:WAV:BYT MSBF;:WAV:UNS OFF")
    raw.write(":WAV:POIN 100;:DIG")
    pre = [float(v) for v in raw.query(":WAV:PRE?").split(",")]
    assert pre[9] == 0  # signed data: the reference code is 0
    codes = raw.query_binary_values(
        ":WAV:DATA?", datatype="h", is_big_endian=True, container=np.array
    )
    volts = (codes - pre[9]) * pre[7] + pre[8]
    record = rm.visalib.device(SCOPE_RESOURCE).records[1]
    step = 10 * 0.025 / 256
    expected = np.round((record[np.arange(100) * len(record) // 100] - 0.1) / step) * step + 0.1
    np.testing.assert_allclose(volts, expected, atol=1e-6)


def test_normal_points_mode_caps_the_transfer(raw):
    raw.write(":TIM:RANG 1E-3;:WAV:POIN:MODE NORM;:WAV:POIN 1000000;:DIG CHAN1")
    assert raw.query(":ACQ:POIN?") == "2000000"
    assert raw.query(":WAV:POIN?") == "62500"
    raw.write(":WAV:POIN:MODE RAW")
    assert raw.query(":WAV:POIN?") == "1000000"


def test_a_million_point_word_waveform_transfers_and_parses(rm):
    scope = InfiniiVision(rm.open_resource(SCOPE_RESOURCE))
    scope.channel(1).scale = 0.025
    scope.channel(1).offset = 0.12
    scope.configure_record(1_000_000, 100e6)
    scope.digitize(1)
    wave = scope.fetch(1, points=1_000_000)
    mock = rm.visalib.device(SCOPE_RESOURCE)
    record = mock.records[1]
    index = np.arange(1_000_000) * len(record) // 1_000_000
    step = 10 * 0.025 / 256  # the 8-bit ADC over 10 divisions
    expected = np.round((record[index] - 0.12) / step) * step + 0.12
    assert len(wave.volts) == 1_000_000 and wave.volts.dtype == np.float32
    np.testing.assert_allclose(wave.volts, expected, atol=1e-6)
    assert wave.sample_rate == pytest.approx(100e6)
    assert wave.times[1] - wave.times[0] == pytest.approx(1e-8)
    assert wave.times[0] == pytest.approx(-0.005)


def test_acquisition_settings_shape_the_record(raw):
    raw.write(":TIM:RANG 1E-2;:ACQ:TYPE AVER;:ACQ:COUN 4;:WAV:POIN:MODE RAW;:DIG CHAN2")
    assert float(raw.query(":ACQ:SRAT?")) == 2e8
    assert raw.query(":WAV:SOUR CHAN2;:WAV:COUN?;TYPE?") == "4;AVER"
    raw.write(":ACQ:TYPE NORM;:CHAN2:DISP ON;:CHAN1:DISP OFF;:RUN;:WAV:POIN 1000")
    raw.read_termination = None
    raw.write(":WAV:DATA?")
    assert len(raw.read_raw()) == 11 + 1000  # BYTE points of a fresh acquisition while running
