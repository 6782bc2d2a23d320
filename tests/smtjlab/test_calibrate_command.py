import json

import pytest
from smtjlab.mocks import recorded

from smtjlab.cli import main

QUALITY = {"fit_rms", "noise_rms", "fit_rms_sigmas", "coverage", "warnings"}


def levels_ok(result, expected):
    """The DESIGN §5.2 JSON and the fit's quality, with every device level within ±0.01."""
    assert set(result) == {"fit", "points", "levels"} | QUALITY
    assert set(result["fit"]) == {"v50", "width"}
    assert result["points"] and all(set(p) == {"bias_v", "p_high"} for p in result["points"])
    assert [level["p_target"] for level in result["levels"]] == pytest.approx(expected)
    for level in result["levels"]:
        assert set(level) == {"p_target", "bias_v", "p_measured"}
        assert abs(level["p_measured"] - level["p_target"]) <= 0.01


@pytest.mark.parametrize("source", ["model", "replay"])
@pytest.mark.parametrize(
    ("states", "expected"), [(5, [0.25, 0.5, 0.75]), (11, [k / 10 for k in range(1, 10)])]
)
def test_calibrate_reaches_every_level_in_both_mock_sources(capsys, source, states, expected):
    code = main(["calibrate", "--mock", "--source", source, "--levels", str(states), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    levels_ok(result, expected)
    assert result["fit"]["v50"] == pytest.approx(0.30, abs=0.002)
    assert result["fit"]["width"] == pytest.approx(0.025, abs=0.002)
    coverage = result["coverage"]
    assert coverage["visited"] == coverage["asked"] == 2 * 11  # every bias switched
    assert all(level["inside"] and level["near"] for level in coverage["levels"])
    if source == "model":  # the device is the sigmoid: residuals at the binomial noise
        assert result["warnings"] == [] and result["fit_rms_sigmas"] < 2
    else:  # the shipped recording holds 15 biases: the sweep between them is a staircase
        assert [w for w in result["warnings"] if w.startswith("poor fit")]


def test_calibrate_stores_the_calibration_with_its_timestamp(capsys, tmp_path):
    code = main(
        ["calibrate", "--mock", "--levels", "5", "--json", "-o", str(tmp_path / "cal.json")]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads((tmp_path / "cal.json").read_text())
    assert stored["format"] == "smtjlab.calibration" and stored["timestamp"]
    assert [level["bias_v"] for level in stored["levels"]] == [
        level["bias_v"] for level in printed["levels"]
    ]


def test_calibrate_a_replay_that_recorded_the_level_biases(capsys, tmp_path):
    recording = recorded.generate(
        tmp_path / "rec.h5", occupancies=(0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98)
    )
    code = main(
        ["calibrate", "--mock", "--source", "replay", "--recording", str(recording), "--json"]
    )
    assert code == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    # The levels land on the recorded biases, within tolerance, but the sweep between seven
    # recorded biases is a staircase the sigmoid does not follow: a warning, not "all good".
    levels_ok(result, [0.25, 0.5, 0.75])
    assert result["fit_rms"] > 10 * result["noise_rms"]
    (warning,) = result["warnings"]
    assert warning.startswith("poor fit")
    assert [line for line in captured.err.splitlines() if "poor fit" in line] == [
        f"smtjlab calibrate: warning: {warning}"
    ]


def test_a_sweep_range_beyond_the_limits_is_refused_before_connecting(capsys):
    assert main(["calibrate", "--mock", "--range", "0.1", "0.9"]) == 1
    assert "refused" in capsys.readouterr().err


def test_calibrate_ends_with_the_state_read_back_on_success_and_on_error(capsys):
    assert main(["calibrate", "--mock", "--levels", "3"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "smu: 0.000 V, output off"
    assert main(["calibrate", "--mock", "--range", "0.15", "0.16"]) == 1
    error = capsys.readouterr().err.splitlines()
    assert error[0].startswith("smtjlab calibrate: error: the sweep found no transition")
    assert error[1:] == ["smu: 0.000 V, output off"]


def test_an_existing_calibration_file_is_refused_before_any_work(capsys, tmp_path, monkeypatch):
    def never(*_):
        raise AssertionError("no work before the output is checked")

    monkeypatch.setattr("smtjlab.instruments.safety.load_limits", never)
    out = tmp_path / "cal.json"
    out.write_text("{}")
    assert main(["calibrate", "--mock", "-o", str(out)]) == 1
    assert "cal.json: exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "{}"
