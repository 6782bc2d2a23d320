import hashlib
import json
import os
import stat

import h5py
import numpy as np
import pytest
from smtjlab.acquisition.tracefile import TraceWriter, read_traces
from smtjlab.mocks.smtj import ReadoutNoise, readout, telegraph_states

from smtjlab.cli import main

KEYS = {
    "name",
    "threshold_v",
    "low_v",
    "high_v",
    "p_high",
    "dwell_high_s",
    "dwell_low_s",
    "interval",
    "n_bits",
    "lag1_autocorr",
}


def write(path, traces):
    with TraceWriter(path) as writer:
        for name, volts, states in traces:
            writer.create(name, sample_rate=10e6, bias_voltage=0.3, source="synthetic")
            writer.append(name, volts)
            if states is not None:
                writer.write_states(name, states)
    return path


def telegraph(seed, n=100_000):
    rng = np.random.default_rng(seed)
    states = telegraph_states(rng, n, 15.0, 30.0)
    return readout(rng, states, 0.10, 0.15, ReadoutNoise(snr=8.0), 10e6), states


def test_digitize_writes_states_and_bits_and_prints_the_contract_json(tmp_path, capsys):
    (a, truth_a), (b, _) = telegraph(1), telegraph(2, n=50_001)
    source = write(tmp_path / "in.h5", [("a", a, truth_a), ("b", b, None)])
    assert main(["digitize", str(source), "-o", str(tmp_path / "out.h5"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in result["traces"]] == ["a", "b"]
    assert all(set(row) == KEYS for row in result["traces"])
    row = result["traces"][0]
    assert row["p_high"] == pytest.approx(truth_a.mean(), abs=0.005)
    assert row["low_v"] < row["threshold_v"] < row["high_v"]
    assert row["interval"] == pytest.approx(2 * 10, abs=3)  # 2τc, τc = 10 samples
    out = {trace.name: trace for trace in read_traces(tmp_path / "out.h5")}
    np.testing.assert_array_equal(out["a"].data, a)  # the trace is copied
    assert np.mean(out["a"].states != truth_a) < 0.005  # digitized states replace the truth
    assert len(out["a"].bits) == row["n_bits"] and out["a"].bits_interval == row["interval"]
    assert out["b"].states is not None and len(out["b"].states) == 50_001
    with h5py.File(tmp_path / "out.h5") as handle:
        assert handle["bits/a"].attrs["offset"] == 0


def test_invert_flips_the_states(tmp_path, capsys):
    volts, truth = telegraph(3)
    source = write(tmp_path / "in.h5", [("t", volts, truth)])
    assert main(["digitize", str(source), "-o", str(tmp_path / "o.h5"), "--invert"]) == 0
    assert "t: p_high" in capsys.readouterr().out
    (trace,) = read_traces(tmp_path / "o.h5")
    assert np.mean(trace.states == truth) < 0.005


@pytest.mark.parametrize(
    ("kind", "message"),
    [("nan", "1 samples are NaN"), ("flat", "flat"), ("stuck", "no switching")],
)
def test_bad_traces_get_one_line_naming_file_and_trace_and_exit_1(tmp_path, capsys, kind, message):
    good, truth = telegraph(4)
    if kind == "nan":
        bad = good.copy()
        bad[10] = np.nan
    elif kind == "flat":
        bad = np.full(20_000, 0.12, np.float32)
    else:
        rng = np.random.default_rng(5)
        bad = readout(rng, np.zeros(100_000, np.uint8), 0.1, 0.15, ReadoutNoise(snr=8.0), 10e6)
    source = write(tmp_path / "in.h5", [("good", good, truth), ("broken", bad, None)])
    target = tmp_path / "out.h5"
    assert main(["digitize", str(source), "-o", str(target), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert f"{source}: trace 'broken'" in captured.err and message in captured.err
    assert not target.exists()


def test_output_must_differ_from_input(tmp_path, capsys):
    volts, truth = telegraph(6)
    source = write(tmp_path / "in.h5", [("t", volts, truth)])
    assert main(["digitize", str(source), "-o", str(source)]) == 1
    assert "is the same file as the input" in capsys.readouterr().err
    assert read_traces(source)[0].states is not None


def test_a_file_without_traces_is_one_clear_error(tmp_path, capsys):
    source = write(tmp_path / "empty.h5", [])
    assert main(["digitize", str(source), "-o", str(tmp_path / "out.h5")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{source}: no traces to digitize" in err
    assert not (tmp_path / "out.h5").exists()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error(capsys, text):
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and text in error, error


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_missing_input_leaves_an_existing_output_alone(tmp_path, capsys, force):
    keep = tmp_path / "keep.h5"
    keep.write_bytes(b"a recording")
    assert main(["digitize", str(tmp_path / "nosuch.h5"), "-o", str(keep), *force]) == 1
    one_error(capsys, "exists; pass --force" if not force else "nosuch.h5: no such file")
    assert keep.read_bytes() == b"a recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.h5"]


def test_an_existing_output_is_replaced_only_with_force(tmp_path, capsys):
    source = write(tmp_path / "in.h5", [("t", *telegraph(6))])
    out = tmp_path / "out.h5"
    out.write_bytes(b"old")
    assert main(["digitize", str(source), "-o", str(out)]) == 1
    one_error(capsys, "exists; pass --force to replace it")
    assert out.read_bytes() == b"old"
    assert main(["digitize", str(source), "-o", str(out), "--force"]) == 0
    assert read_traces(out)[0].bits is not None


def test_a_symlinked_output_never_truncates_its_target(tmp_path, capsys):
    source = write(tmp_path / "in.h5", [("t", *telegraph(6))])
    target = tmp_path / "target.h5"
    target.write_bytes(b"precious")
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    assert main(["digitize", str(source), "-o", str(link)]) == 1
    one_error(capsys, "exists")
    assert main(["digitize", str(source), "-o", str(link), "--force"]) == 0
    assert target.read_bytes() == b"precious" and not link.is_symlink()


@pytest.mark.parametrize("alias", ["hard", "soft"])
def test_an_output_that_is_the_input_under_another_name_is_refused(tmp_path, capsys, alias):
    source = write(tmp_path / "in.h5", [("t", *telegraph(6))])
    before = digest(source)
    out = tmp_path / "alias.h5"
    if alias == "hard":
        os.link(source, out)
    else:
        out.symlink_to(source)
    assert main(["digitize", str(source), "-o", str(out), "--force"]) == 1
    one_error(capsys, "is the same file as the input")
    assert digest(source) == before


def test_a_device_output_is_refused_and_kept(tmp_path, capsys):
    source = write(tmp_path / "in.h5", [("t", *telegraph(6))])
    node = tmp_path / "node"
    os.mkfifo(node)
    assert main(["digitize", str(source), "-o", str(node), "--force"]) == 1
    one_error(capsys, "not a regular file")
    assert stat.S_ISFIFO(node.stat().st_mode)


def test_a_failed_digitize_leaves_no_partial_output(tmp_path, capsys):
    volts, truth = telegraph(6)
    source = write(
        tmp_path / "in.h5", [("good", volts, truth), ("flat", np.zeros(5000, np.float32), None)]
    )
    assert main(["digitize", str(source), "-o", str(tmp_path / "out.h5")]) == 1
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("volts_per_code", np.nan), ("volts_per_code", 0.0), ("sample_rate", 1e-300)],
)
def test_a_bad_scale_is_one_line_and_leaves_no_output(tmp_path, capsys, key, value):
    source = tmp_path / "in.h5"
    with TraceWriter(source) as writer:
        writer.create(
            "t",
            sample_rate=1e6,
            bias_voltage=0.3,
            dtype=np.int16,
            volts_per_code=1e-3,
            offset_volts=0.0,
        )
        writer.append("t", np.arange(1000, dtype=np.int16))
    with h5py.File(source, "a") as file:
        file["traces/t"].attrs[key] = value
    before = digest(source)
    assert main(["digitize", str(source), "-o", str(tmp_path / "out.h5")]) == 1
    one_error(capsys, key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5"] and digest(source) == before
