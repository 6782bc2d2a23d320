"""`smtjlab study`: the SC-training study's plumbing (tiny settings) and the energy map."""

import csv
import json

import pytest
from smtjlab.inference.checkpoint import resolve_model

from smtjlab.cli import main

TINY = [
    "study",
    "sc-training",
    "--encoding",
    "bipolar",
    "--depths",
    "1",
    "--states",
    "5",
    "--train-seeds",
    "2",
    "--stream-seeds",
    "2",
    "--epochs",
    "1",
    "--train-images",
    "1000",
    "--width",
    "16",
    "--images",
    "100",
    "--json",
]


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def read_csv(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_sc_training_runs_each_model_as_a_task_and_resumes_from_its_models(
    capsys, tmp_path, mnist_dir, monkeypatch
):
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    models = tmp_path / "models"
    argv = [*TINY, "--models", str(models)]
    first = run_json(capsys, [*argv, "--out", str(tmp_path / "a")])
    assert [task["source"] for task in first["tasks"]] == ["trained"] * 4
    assert len(list(models.glob("*.npz"))) == 4
    (row,) = first["summary"]
    assert row["encoding"] == "bipolar" and row["train_seeds"] == [0, 1]
    assert row["difference"]["n"] == 2
    rows = read_csv(tmp_path / "a" / "sc-training.csv")
    assert len(rows) == 8 and {r["stream_seed"] for r in rows} == {"0", "1"}
    markdown = (tmp_path / "a" / "sc-training.md").read_text()
    assert "| bipolar | 1 (16) | 5 |" in markdown and "one-sided" in markdown

    # on two Dask workers, from the kept models: the same accuracies, nothing trained again
    again = run_json(capsys, [*argv, "--out", str(tmp_path / "b"), "--workers", "2"])
    assert again["executor"] == "2 local Dask workers"
    assert [task["source"] for task in again["tasks"]] == ["models folder"] * 4
    strip = [{k: v for k, v in r.items() if k != "model_source"} for r in rows]
    resumed = read_csv(tmp_path / "b" / "sc-training.csv")
    assert strip == [{k: v for k, v in r.items() if k != "model_source"} for r in resumed]


def test_sc_training_refuses_a_model_of_another_recipe(capsys, tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    models = tmp_path / "models"
    models.mkdir()
    (models / "mlp1-s5-sc-bipolar-w16-seed0.npz").write_bytes(
        resolve_model("mlp1-s5-sc-bipolar").read_bytes()
    )
    assert main([*TINY, "--models", str(models), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "another recipe" in err and err.count("\n") == 1
    assert not (tmp_path / "sc-training.csv").exists()


def test_sc_training_seed_0_reuses_the_shipped_model_of_its_recipe(monkeypatch):
    from smtjlab.commands import study

    config = {
        "hidden": [256],
        "states": 5,
        "encoding": "bipolar",
        "training": "sc",
        "length": 100,
        "epochs": 20,
        "train_seed": 0,
        "batch_size": 200,
        "lr": 0.003,
        "train_images": None,
        "threads": 1,
    }
    model, source = study._existing_model(config, None)
    assert source == "shipped" and model is not None
    assert study._existing_model({**config, "epochs": 19}, None) == (None, "trained")
    assert study._existing_model({**config, "train_seed": 1}, None) == (None, "trained")


def test_energy_study_writes_its_map(capsys, tmp_path):
    figure = tmp_path / "energy.png"
    result = run_json(capsys, ["study", "energy", "-o", str(figure), "--json"])
    assert figure.stat().st_size > 10_000
    assert [one["states"] for one in result["maps"]] == [5, 11]
    assert all(one["tau_c_for_paper"] > one["default"]["tau_c"] for one in result["maps"])
    assert main(["study", "energy", "-o", str(figure)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["study"],
        ["study", "sc-training", "--depths", "2"],
        ["study", "energy", "--length", "0"],
        ["study", "nonideal", "--source", "lab"],
        ["study", "nonideal", "--pool-bits", "32"],
        ["study", "device-aware", "--seeds", "0"],
        ["study", "device-aware", "--spacing", "0"],
        ["study", "device-aware", "--level-error", "-0.01"],
        ["study", "device-aware", "--images", "10001"],
    ],
)
def test_bad_study_arguments_are_usage_errors(argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


NONIDEAL = ["study", "nonideal", "--model", "mlp1-s5-sc", "--images", "40"]


def test_nonideal_writes_its_table_and_plot(capsys, tmp_path):
    argv = [*NONIDEAL, "--source", "synthetic", "--pool-bits", "65536", "--out", str(tmp_path)]
    result = run_json(capsys, [*argv, "--json"])
    kinds = {row["kind"] for row in result["rows"]}
    assert kinds == {"ideal", "correlation", "level_error", "drift", "pool_bits"}
    assert len(result["rows"]) == 21
    assert {row["bits"] for row in result["rows"]} == {"ideal", "synthetic"}
    ideal = next(row for row in result["rows"] if row["kind"] == "ideal")
    assert ideal["loss_points"] == 0.0 and ideal["measured_lag1"] is None
    assert {t["kind"] for t in result["thresholds"]} == kinds - {"ideal"}
    for name in ("nonideal.csv", "nonideal.md", "figures/nonideal.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "loses 0.5 points at" in (tmp_path / "nonideal.md").read_text()


@pytest.mark.slow  # a calibration of the mock bench: 3-8 s on a shared machine
def test_nonideal_on_the_mock_bench_fills_each_bank_once(capsys, tmp_path, monkeypatch):
    from smtjlab.studies import nonideal

    # one value per non-ideality, and one of them on the bench: one calibration, 4 tasks
    grid = {"correlation": (0.5,), "level_error": (0.03,), "drift": (0.01,), "pool_bits": (256,)}
    monkeypatch.setattr(nonideal, "SWEEPS", grid)
    monkeypatch.setattr(nonideal, "BENCH_KINDS", ("level_error",))
    filled, real = [], nonideal.bench_bank

    def counted(*args):
        filled.append(args[1:3])  # (kind, value)
        return real(*args)

    monkeypatch.setattr(nonideal, "bench_bank", counted)
    argv = [*NONIDEAL, "--model", "mlp1-s5-sc-bipolar", "--source", "bench", "--pool-bits", "8192"]
    result = run_json(capsys, [*argv, "--out", str(tmp_path), "--json"])
    rows = result["rows"]
    assert filled == [("level_error", 0.03)]  # once for both models: they share their levels
    assert len(rows) == 2 * (1 + 1) and "synthetic" not in {row["bits"] for row in rows}
    bench = [row for row in rows if row["bits"] == "mock bench"]
    assert {row["kind"] for row in bench} == {"level_error"}
    for row in bench:  # solved 0.03 off its level, bits 2τc apart: lag-1 ≈ exp(-2)
        assert row["measured_level_error"] == pytest.approx(0.03, abs=0.015)
        assert 0.08 < row["measured_lag1"] < 0.2
    sources = {(t["bits"], t["kind"]) for t in result["thresholds"]}
    assert ("mock bench", "level_error") in sources and ("mock bench", "drift") not in sources
    text = (tmp_path / "nonideal.md").read_text()
    assert "| mlp1-s5-sc-bipolar | mock bench |" in text and "filling the mock bench" in text


def test_widths_trains_each_width_and_names_the_nearest_to_the_paper(
    capsys, tmp_path, mnist_dir, monkeypatch
):
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    argv = [
        "study",
        "widths",
        "--widths",
        "8",
        "16",
        "--depths",
        "1",
        "--states",
        "5",
        "--lengths",
        "100",
        "200",
        "--stream-seeds",
        "2",
        "--epochs",
        "1",
        "--train-images",
        "1000",
        "--images",
        "100",
        "--models",
        str(tmp_path / "models"),
        "--out",
        str(tmp_path),
        "--json",
    ]
    result = run_json(capsys, argv)
    assert [(r["width"], r["length"]) for r in result["rows"]] == [
        (8, 100),
        (8, 200),
        (16, 100),
        (16, 200),
    ]
    assert all(r["stream_seeds"] == 2 and r["model_source"] == "trained" for r in result["rows"])
    assert sorted(p.name for p in (tmp_path / "models").glob("*.npz")) == [
        "mlp1-s5-sc-bipolar-w16-seed0.npz",
        "mlp1-s5-sc-bipolar-w8-seed0.npz",
    ]
    (nearest,) = result["nearest"]  # 1 hidden layer at L = 100 is the only paper figure here
    assert nearest["paper"] == 92.0 and nearest["width"] in (8, 16)
    rows = read_csv(tmp_path / "widths.csv")
    assert len(rows) == 4
    assert "Nearest to each of the paper's figures" in (tmp_path / "widths.md").read_text()
    assert (tmp_path / "figures" / "widths.png").stat().st_size > 10_000
    # resumed from the kept models: the same accuracies
    again = run_json(capsys, [*argv, "--force"])
    assert [r["model_source"] for r in again["rows"]] == ["models folder"] * 4
    assert [r["accuracy"] for r in again["rows"]] == [r["accuracy"] for r in result["rows"]]
    assert main(argv[:-1]) == 1  # the outputs exist now
    assert "exists; pass --force" in capsys.readouterr().err


DEVICE_TINY = [
    "study",
    "device-aware",
    "--images",
    "200",
    "--train-images",
    "1000",
    "--epochs",
    "1",
    "--seeds",
    "1",
    "--bits-per-level",
    "65536",
    "--threads",
    "1",
]


def test_device_aware_reports_its_seed_and_keeps_its_device_aware_model(
    capsys, tmp_path, mnist_dir, monkeypatch
):
    import functools

    from smtjlab.acquisition.profile import DeviceProfile
    from smtjlab.inference.checkpoint import load_checkpoint
    from smtjlab.instruments.safety import BiasLimits

    from smtjlab.studies import device_aware

    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    fast = BiasLimits(ramp_step_v=0.05, ramp_rate_v_per_s=1e6)  # no time lost ramping
    monkeypatch.setattr(
        device_aware, "poor_bank", functools.partial(device_aware.poor_bank, limits=fast)
    )
    models = tmp_path / "models"
    argv = [*DEVICE_TINY, "--out", str(tmp_path), "--models", str(models), "--json"]
    result = run_json(capsys, argv)
    assert [row["seed"] for row in result["rows"]] == [0]
    for row in result["rows"]:
        assert row["images"] == 200 and row["model"] == "mlp1-s5-sc-bipolar"
        assert 0 <= row["poor"] <= 1 and 0 <= row["device-aware_poor"] <= 1
        loss = row["ideal"] - row["poor"]
        if loss > 0:
            gain = (row["device-aware_poor"] - row["poor"]) / loss
            assert row["device-aware_winback"] == pytest.approx(gain)
    (summary,) = result["summary"]
    assert summary["seeds"] == [0] and summary["poor"]["values"] == [result["rows"][0]["poor"]]
    for profile in result["profiles"]:
        assert profile["source"] == "synthetic"
        assert all(level["lag1"] > 0.4 for level in profile["levels"])  # bits at 0.5 τc
    rows = read_csv(tmp_path / "device-aware.csv")
    assert len(rows) == 1 and "p0.5_measured" in rows[0]
    assert "win-back device-aware" in (tmp_path / "device-aware.md").read_text()
    tuned = load_checkpoint(models / "mlp1-s5-sc-bipolar-device-aware-seed0.npz")
    assert tuned.train_mode == "device-aware" and tuned.train_epochs == 1
    levels = DeviceProfile.from_json(tuned.device_profile).levels
    assert [level.p_measured for level in levels] == [
        level["p_measured"] for level in result["profiles"][0]["levels"]
    ]
    # the outputs exist now: refused without --force, before any work
    assert main([*DEVICE_TINY, "--out", str(tmp_path)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err


def test_device_aware_refuses_a_model_it_cannot_tune(capsys, tmp_path):
    argv = ["study", "device-aware", "--out", str(tmp_path)]
    assert main([*argv, "--model", "tnn-mlp-gxnor"]) == 1
    assert "GXNOR" in capsys.readouterr().err
    assert main([*argv, "--model", "mlp9-s5-sc"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert "not a shipped model name" in error[-1]
