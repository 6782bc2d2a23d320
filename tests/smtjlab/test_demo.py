import functools
import json

import pytest

from smtjlab import demo
from smtjlab.cli import main


def test_demo_classifies_on_device_bits_and_leaves_the_smu_off(capsys, monkeypatch, tmp_path):
    # smaller pools than the real demo's, so that the test stays short
    monkeypatch.setattr(demo, "run_demo", functools.partial(demo.run_demo, bits_per_level=1 << 18))
    report = tmp_path / "report.png"
    argv = ["demo", "--images", "200", "--model", "mlp1-s5-sc", "--report", str(report), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)

    assert result["images"] == 200 and result["model"] == "mlp1-s5-sc"
    assert result["accuracy"] >= 0.9
    assert result["smu_final"] == ["smu: 0.000 V, output off"]
    levels = result["calibration"]["levels"]
    assert [level["p_target"] for level in levels] == [0.25, 0.5, 0.75]
    assert all(abs(level["p_measured"] - level["p_target"]) <= 0.01 for level in levels)
    assert [pool["p_target"] for pool in result["pools"]] == [0.25, 0.5, 0.75]
    lengths = {"100", "200", "300", "400", "500"}
    assert set(result["accuracy_by_length"]) == set(result["accuracy_by_length_sem"]) == lengths
    assert result["sweep_seeds"] == 5
    assert all(0 <= sem < 0.02 for sem in result["accuracy_by_length_sem"].values())
    # by L = 500 the engine is close to the deterministic network on the same images
    assert abs(result["accuracy_by_length"]["500"] - result["deterministic_accuracy"]) < 0.03
    assert result["energy"]["ratios"]["activation_latency"] > 1
    assert result["energy"]["paper"] == {"activation_latency": 9.0, "energy": 2.6}
    assert report.stat().st_size > 10_000


@pytest.mark.parametrize("model", ["mlp1-s5-sc", "mlp1-s11-sc-bipolar"])
def test_demo_text_names_every_result(capsys, monkeypatch, tmp_path, model):
    monkeypatch.setattr(demo, "run_demo", functools.partial(demo.run_demo, bits_per_level=1 << 16))
    report = tmp_path / "report.png"
    assert main(["demo", "--images", "20", "--model", model, "--report", str(report)]) == 0
    captured = capsys.readouterr()
    for words in ("calibration:", "accuracy", "images/s", "energy model", "0.000 V, output off"):
        assert words in captured.out
    assert str(report) in captured.out and "[1/5]" in captured.err


@pytest.mark.parametrize("argv", [["demo", "--images", "0"], ["demo", "--length", "-1"]])
def test_demo_refuses_bad_counts(argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_an_existing_report_is_refused_before_the_demo_runs(capsys, monkeypatch, tmp_path):
    def never(**_):
        raise AssertionError("no work before the output is checked")

    monkeypatch.setattr(demo, "run_demo", never)
    report = tmp_path / "report.png"
    report.write_bytes(b"last run")
    assert main(["demo", "--report", str(report)]) == 1
    assert "report.png: exists; pass --force to replace it" in capsys.readouterr().err
    assert report.read_bytes() == b"last run"
