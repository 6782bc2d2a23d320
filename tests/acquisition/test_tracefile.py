import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from smtjlab.acquisition.tracefile import (
    RECORD_DTYPE,
    Trace,
    TraceFileError,
    TraceWriter,
    read_trace,
    read_traces,
)


def test_float_volts_round_trip_in_chunks(tmp_path):
    path = tmp_path / "volts.h5"
    chunks = [np.random.default_rng(i).normal(size=1000).astype(np.float32) for i in range(3)]
    with TraceWriter(path) as writer:
        writer.create("a", sample_rate=1e6, bias_voltage=0.3, source="measured", device="d1")
        for chunk in chunks:
            writer.append("a", chunk)
    (trace,) = read_traces(path)
    np.testing.assert_array_equal(trace.volts, np.concatenate(chunks))
    assert (trace.sample_rate, trace.bias_voltage) == (1e6, 0.3)
    assert trace.attrs == {"source": "measured", "device": "d1"}


def test_int8_codes_round_trip_with_states_and_bits(tmp_path):
    path = tmp_path / "codes.h5"
    codes = np.arange(-128, 128, dtype=np.int8)
    states = (codes > 0).astype(np.uint8)
    trace = Trace(
        "b",
        codes,
        5e6,
        -0.1,
        volts_per_code=0.002,
        offset_volts=0.1,
        attrs={"source": "synthetic"},
        states=states,
        bits=states[::4],
        bits_interval=4,
        bits_offset=0,
    )
    with TraceWriter(path) as writer:
        writer.write_trace(trace)
    back = read_trace(path, "b")
    assert back.data.dtype == np.int8
    np.testing.assert_allclose(back.volts, codes * 0.002 + 0.1, atol=1e-6)
    np.testing.assert_array_equal(back.states, states)
    assert (back.bits_interval, back.source) == (4, "synthetic")


def _broken(tmp_path, damage):
    path = tmp_path / "broken.h5"
    with TraceWriter(path) as writer:
        writer.create("t", sample_rate=1e6, bias_voltage=0.2)
        writer.append("t", np.zeros(10, np.float32))
    with h5py.File(path, "a") as file:
        damage(file)
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.attrs.__setitem__("format", "other"), "attribute format"),
        (lambda f: f.attrs.__setitem__("version", 9), "unsupported version 9"),
        (
            lambda f: f["traces/t"].attrs.__delitem__("sample_rate"),
            "missing attribute 'sample_rate'",
        ),
        (
            lambda f: f["traces/t"].attrs.__setitem__("bias_voltage", np.nan),
            "'bias_voltage' is not finite",
        ),
        (
            lambda f: (
                f["traces"]
                .create_dataset("c", data=np.zeros(3, np.int16))
                .attrs.update({"sample_rate": 1.0, "bias_voltage": 0.0})
            ),
            "integer ADC codes need volts_per_code",
        ),
        (
            lambda f: f.create_dataset("states/t", data=np.zeros(4, np.uint8)) and None,
            "states must be uint8 of the trace's length",
        ),
        (lambda f: f["traces/t"].attrs.__setitem__("source", "guessed"), "source 'guessed'"),
        (
            lambda f: f.create_dataset("records/t", data=np.zeros(2, np.int64)) and None,
            "records must be rows of",
        ),
        (
            lambda f: (
                f.create_dataset(
                    "records/t", data=np.array([(5, b"x"), (11, b"y")], dtype=RECORD_DTYPE)
                )
                and None
            ),
            "record starts must rise within the trace's 10 samples",
        ),
    ],
)
def test_reader_names_what_is_wrong(tmp_path, damage, message):
    with pytest.raises(TraceFileError, match=message):
        read_traces(_broken(tmp_path, damage))


def test_record_starts_and_times_round_trip_through_write_trace(tmp_path):
    with TraceWriter(tmp_path / "a.h5") as writer:
        writer.create("t", sample_rate=1e6, bias_voltage=0.2, smu="KEITHLEY,2400", limits="{}")
        for start in (0, 4):
            writer.append("t", np.zeros(4, np.float32))
            writer.mark_record("t", start, f"2026-12-02T07:00:0{start}.000+00:00")
    (trace,) = read_traces(tmp_path / "a.h5")
    assert trace.records == [
        (0, "2026-12-02T07:00:00.000+00:00"),
        (4, "2026-12-02T07:00:04.000+00:00"),
    ]
    assert trace.attrs == {"smu": "KEITHLEY,2400", "limits": "{}"}
    with TraceWriter(tmp_path / "b.h5") as writer:
        writer.write_trace(trace)
    assert read_traces(tmp_path / "b.h5")[0].records == trace.records


def test_truncated_or_foreign_files_are_rejected(tmp_path):
    path = _broken(tmp_path, lambda f: None)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(TraceFileError, match="not a readable HDF5 file"):
        read_traces(path)
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(TraceFileError, match="not a readable HDF5 file"):
        read_traces(tmp_path / "text.h5")


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from smtjlab.acquisition.tracefile import TraceWriter
    with TraceWriter(sys.argv[1]) as writer:
        writer.create("live", sample_rate=1e6, bias_voltage=0.3, dtype=np.int16,
                      volts_per_code=1e-3, offset_volts=0.0)
        for k in range(100000):
            writer.append("live", np.full(4096, k % 30000, dtype=np.int16))
            print(k, flush=True)
    """
)


@pytest.mark.parametrize("chunks_before_kill", [1, 7, 40])
def test_sigkill_mid_write_leaves_every_flushed_chunk(tmp_path, chunks_before_kill):
    path = tmp_path / "killed.h5"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    for _ in range(chunks_before_kill):
        flushed = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    (trace,) = read_traces(path)
    assert len(trace.data) >= (flushed + 1) * 4096
    complete = len(trace.data) // 4096
    np.testing.assert_array_equal(trace.data[: complete * 4096 : 4096], np.arange(complete))


def _codes_file(tmp_path, **attrs):
    """An int16 trace whose attributes are then overwritten with `attrs`, as a file could be."""
    path = tmp_path / "codes.h5"
    with TraceWriter(path) as writer:
        writer.create(
            "t",
            sample_rate=1e6,
            bias_voltage=0.3,
            dtype=np.int16,
            volts_per_code=1e-4,
            offset_volts=0.1,
            channel=1,
        )
        writer.append("t", np.arange(100, dtype=np.int16))
    with h5py.File(path, "a") as file:
        file["traces/t"].attrs.update(attrs)
    return path


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"volts_per_code": 0.0}, r"volts_per_code 0 is outside \[1e-12, 100\] V"),
        ({"volts_per_code": -1e-4}, "volts_per_code -0.0001 is outside"),
        ({"volts_per_code": np.nan}, "'volts_per_code' is not finite"),
        ({"volts_per_code": 1e39}, "volts_per_code 1e[+]39 is outside"),
        ({"sample_rate": 1e-300}, r"sample_rate 1e-300 Hz is outside \[1, 1e[+]12\] Hz"),
        ({"sample_rate": np.inf}, "'sample_rate' is not finite"),
        ({"bias_voltage": 1e39}, "bias_voltage 1e[+]39 V is beyond"),
        ({"offset_volts": -1e6}, "offset_volts -1e[+]06 V is beyond"),
        ({"sample_rate": "fast"}, "'sample_rate' must be a number, not 'fast'"),
        ({"sample_rate": np.bool_(True)}, "'sample_rate' must be a number, not True"),
        ({"bias_voltage": np.zeros(3)}, r"must be a number, not an array of shape \(3,\)"),
        ({"channel": "one"}, "'channel' must be an integer >= 1, not 'one'"),
        ({"channel": 0}, "'channel' must be an integer >= 1, not 0"),
        ({"temperature_k": "cold"}, "'temperature_k' must be a number"),
        ({"device": np.arange(2)}, "'device' must be text, not an array"),
    ],
)
def test_scale_and_attributes_that_are_zero_non_finite_absurd_or_mistyped_are_refused(
    tmp_path, attrs, message
):
    with pytest.raises(TraceFileError, match=message):
        read_traces(_codes_file(tmp_path, **attrs))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.attrs.__setitem__("format", np.array([b"a", b"b"])), "attribute format"),
        (lambda f: f.attrs.__setitem__("version", np.ones(2)), "unsupported version"),
        (lambda f: f.attrs.__setitem__("version", "1"), "unsupported version '1'"),
        (
            lambda f: f.create_dataset("bits/t", data=np.zeros(4, np.uint8)).attrs.update(
                {"interval": "four", "offset": 0}
            ),
            "'interval' must be an integer >= 1, not 'four'",
        ),
    ],
)
def test_headers_and_bit_attributes_of_the_wrong_type_are_refused(tmp_path, damage, message):
    with pytest.raises(TraceFileError, match=message):
        read_traces(_broken(tmp_path, damage))


def test_the_writer_refuses_what_the_reader_would(tmp_path):
    with TraceWriter(tmp_path / "w.h5") as writer:
        with pytest.raises(TraceFileError, match="sample_rate 1e-300 Hz is outside"):
            writer.create("t", sample_rate=1e-300, bias_voltage=0.1)
        with pytest.raises(TraceFileError, match="'bias_voltage' is not finite"):
            writer.create("t", sample_rate=1e6, bias_voltage=float("nan"))
        with pytest.raises(TraceFileError, match="volts_per_code 0 is outside"):
            writer.create(
                "t",
                sample_rate=1e6,
                bias_voltage=0.1,
                dtype=np.int8,
                volts_per_code=0.0,
                offset_volts=0.0,
            )
        with pytest.raises(TraceFileError, match="'channel' must be an integer"):
            writer.create("t", sample_rate=1e6, bias_voltage=0.1, channel=1.5)
