import json
import subprocess
import sys

import numpy as np
import pytest
from smtjlab.inference.checkpoint import SHIPPED_NAMES, load_checkpoint, resolve_model

from smtjlab.cli import main


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_prints_the_documented_json(capsys):
    result = run_json(
        capsys,
        ["evaluate", "--model", "mlp1-s5-sc", "--length", "100", "--images", "200", "--json"],
    )
    assert {"accuracy", "images", "length", "states", "encoding", "images_per_s"} <= set(result)
    assert result["images"] == 200 and result["length"] == 100 and result["states"] == 5
    assert result["encoding"] == "sign-magnitude" and 0.9 < result["accuracy"] <= 1.0


def test_evaluating_never_imports_torch():
    """Only training needs torch: the engine, checkpoints and evaluate run without it."""
    script = (
        "import sys\n"
        "from smtjlab.cli import main\n"
        "code = main(['evaluate', '--model', 'mlp1-s5-sc', '--length', '64', '--images', '50'])\n"
        "print(code, 'torch' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert ran.stdout.split()[-2:] == ["0", "False"]


def test_shipped_checkpoints_are_small_and_consistent():
    assert len(SHIPPED_NAMES) == 16
    for name in SHIPPED_NAMES:
        checkpoint = load_checkpoint(name)
        depth, states, mode, *encoding = name.split("-")
        assert len(checkpoint.hidden) == int(depth[3:])
        assert checkpoint.states == int(states[1:]) and checkpoint.train_mode == mode
        assert checkpoint.encoding == (encoding[0] if encoding else "sign-magnitude")
        assert checkpoint.train_command.startswith("smtjlab train ")
        assert f"--encoding {checkpoint.encoding}" in checkpoint.train_command
        assert resolve_model(name).stat().st_size < 200_000


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_every_shipped_checkpoint_evaluates_by_name(capsys, name):
    argv = ["evaluate", "--model", name, "--length", "100", "--images", "100", "--json"]
    result = run_json(capsys, argv)
    assert result["images"] == 100 and result["encoding"] == load_checkpoint(name).encoding
    assert result["accuracy"] >= 0.9


def test_table_writes_csv_markdown_and_plot(capsys, tmp_path):
    result = run_json(
        capsys,
        [
            "table",
            "--images",
            "30",
            "--lengths",
            "100",
            "--bits",
            "ideal",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert len(result["cells"]) == 8
    assert {row["model"] for row in result["cells"]} == set(SHIPPED_NAMES[:8])
    assert {row["encoding"] for row in result["cells"]} == {"sign-magnitude"}
    for name in ("accuracy-table.csv", "accuracy-table.md", "figures/accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "accuracy-table.csv").read_text().count("\n") == 9


def test_table_of_both_encodings_sets_them_side_by_side(capsys, tmp_path):
    argv = ["table", "--images", "30", "--lengths", "100", "400", "--bits", "ideal"]
    result = run_json(capsys, [*argv, "--encoding", "both", "--out", str(tmp_path), "--json"])
    assert {row["model"] for row in result["cells"]} == set(SHIPPED_NAMES)
    bipolar = [row for row in result["cells"] if row["encoding"] == "bipolar"]
    assert len(bipolar) == 16 and all(row["model"].endswith("-bipolar") for row in bipolar)
    text = (tmp_path / "accuracy-table.md").read_text()
    assert "bipolar, with SC minus without SC at L = 100" in text
    assert "| 3 hidden layers, L = 400 | 96.82 (its best cell) |" in text
    assert text.count("| bipolar | ") == 8 and text.count("| sign-magnitude | ") == 8


def test_table_on_two_local_workers_writes_the_same_csv(capsys, tmp_path):
    argv = ["table", "--images", "30", "--lengths", "16", "--bits", "ideal", "--json"]
    local = run_json(capsys, [*argv, "--out", str(tmp_path / "local")])
    cluster = run_json(capsys, [*argv, "--out", str(tmp_path / "cluster"), "--workers", "2"])
    assert cluster["executor"] == "2 local Dask workers" and local["executor"] == "in process"
    for name in ("accuracy-table.csv", "accuracy-table.md"):
        assert (tmp_path / "local" / name).read_bytes() == (
            tmp_path / "cluster" / name
        ).read_bytes()
    assert len(cluster["tasks"]) == 8 and all(
        len(task["model_sha256"]) == 64 for task in cluster["tasks"]
    )


def test_energy_prints_ratios_and_every_assumption(capsys):
    result = run_json(capsys, ["energy", "--json"])
    ratios = result["ratios"]
    assert ratios["activation_latency"] > 1 and np.isfinite(ratios["activation_energy"])
    assert result["paper"] == {"activation_latency": 9.0, "energy": 2.6}
    assert all(row["source"] for row in result["assumptions"])


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--model", "mlp1-s5-sc", "--length", "0"],
        ["train", "--hidden", "0", "--states", "5", "-o", "x.npz"],
        ["table", "--images", "-3"],
    ],
)
def test_bad_numbers_are_usage_errors(argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_bad_states_and_unknown_models_are_one_line_errors(capsys):
    assert main(["train", "--hidden", "8", "--states", "4", "-o", "x.npz"]) == 1
    assert main(["evaluate", "--model", "nope", "--length", "10"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "odd" in err and "nope" in err


def never(*_):
    raise AssertionError("no work before the output is checked")


def test_train_refuses_an_existing_checkpoint_before_loading_mnist(capsys, tmp_path, monkeypatch):

    monkeypatch.setattr("smtjlab.inference.mnist.load_mnist", never)  # imported in run
    model = tmp_path / "model.npz"
    model.write_bytes(b"a week of training")
    argv = ["train", "--hidden", "8", "--states", "5", "-o", str(tmp_path / "model")]
    assert main(argv) == 1  # the .npz suffix is added before the check
    assert "model.npz: exists; pass --force to replace it" in capsys.readouterr().err
    assert model.read_bytes() == b"a week of training"


def test_table_refuses_existing_outputs_before_loading_mnist(capsys, tmp_path, monkeypatch):

    monkeypatch.setattr("smtjlab.inference.mnist.load_mnist", never)  # imported in run
    (tmp_path / "figures").mkdir()
    plot = tmp_path / "figures" / "accuracy.png"
    plot.write_bytes(b"the published plot")
    assert main(["table", "--out", str(tmp_path)]) == 1
    assert "accuracy.png: exists; pass --force to replace it" in capsys.readouterr().err
    assert plot.read_bytes() == b"the published plot"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["figures"]


def test_energy_tau_c_nan_is_a_usage_error_not_bare_nan_json(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["energy", "--tau-c", "nan", "--json"])
    assert exit_info.value.code == 2 and capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("states", "message"), [("4", "odd integer"), ("1000001", "more than the 255")]
)
def test_energy_refuses_states_no_network_can_have(capsys, states, message):
    assert main(["energy", "--states", states]) == 1
    assert message in capsys.readouterr().err
