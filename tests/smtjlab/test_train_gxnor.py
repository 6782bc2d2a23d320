import json
from contextlib import ExitStack

import numpy as np
import pytest
import torch
from smtjlab.inference.bitsource import PoolBits as pool_bank
from smtjlab.inference.checkpoint import load_checkpoint
from smtjlab.inference.cnn_checkpoint import save_cnn_checkpoint
from smtjlab.inference.decisions import DecisionCounter
from smtjlab.inference.gxnor import GxnorCnn, to_cnn_checkpoint

from smtjlab.cli import main
from smtjlab.train_gxnor import default_switching, open_fair_bits


def train_argv(output, *extra):
    return [
        "train",
        "--method",
        "gxnor",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "-o",
        str(output),
        *extra,
    ]


def test_a_run_too_big_for_its_bit_pool_is_refused_before_any_work(tmp_path, capsys):
    pool = tmp_path / "pool.h5"
    pool_bank({0.5: np.random.default_rng(0).integers(0, 2, 10_000)}).save(pool)
    output = tmp_path / "model.npz"
    # 784·8 + 8·10 = 6352 weights, 600 steps of 100 images
    assert main(train_argv(output, "--bits", str(pool), "--batch-size", "100")) == 1
    error = capsys.readouterr().err.strip()
    assert (
        "needs up to 3,811,200 decisions" in error
        and "holds 9,984" in error
        and len(error.splitlines()) == 1
    )
    assert not output.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bits", "mtj-model", "--switching", "tanh"], "thermal or precessional"),
        (["--arch", "cnn", "--sc-length", "100"], "--sc-length is for MLPs"),
        (["--states", "5"], "N = 3"),
    ],
)
def test_impossible_gxnor_runs_are_one_line_errors(tmp_path, capsys, extra, message):
    assert main(train_argv(tmp_path / "m.npz", *extra)) == 1
    assert message in capsys.readouterr().err


def test_an_existing_output_needs_force(tmp_path, capsys):
    output = tmp_path / "m.npz"
    output.write_bytes(b"mine")
    assert main(train_argv(output)) == 1
    assert "--force" in capsys.readouterr().err and output.read_bytes() == b"mine"


@pytest.mark.slow
def test_a_tiny_gxnor_mlp_trains_into_an_sc_checkpoint(tmp_path, capsys, mnist_dir, monkeypatch):
    monkeypatch.setenv("SMTJLAB_MNIST_DIR", str(mnist_dir))
    output = tmp_path / "m.npz"
    argv = train_argv(output, "--train-images", "300", "--batch-size", "100", "--json")
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decisions"] > 0 and result["fair_bits"] >= result["decisions"]
    assert result["decisions"] + result["skipped_decisions"] <= result["decision_bound"]
    checkpoint = load_checkpoint(output)
    assert checkpoint.states == 3 and checkpoint.train_mode == "gxnor"
    assert checkpoint.test_accuracy == result["test_accuracy"]
    assert "--method gxnor" in checkpoint.train_command


def test_evaluate_runs_a_ternary_cnn_deterministically(tmp_path, capsys):
    torch.manual_seed(0)
    path = save_cnn_checkpoint(to_cnn_checkpoint(GxnorCnn().eval()), tmp_path / "cnn.npz")
    argv = ["evaluate", "--model", str(path), "--images", "40", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == first["accuracy"]
    assert first["architecture"] == "cnn" and first["images"] == 40


def test_an_sc_model_still_needs_a_length(capsys):
    assert main(["evaluate", "--model", "mlp1-s5-sc", "--images", "10"]) == 1
    assert "--length" in capsys.readouterr().err


def test_the_mtj_model_source_is_thermal_switching_with_a_seeded_draw():
    with ExitStack() as stack:
        model, ideal = (open_fair_bits(spec, 3, stack) for spec in ("mtj-model", "ideal"))
    assert default_switching("mtj-model") == "thermal" and default_switching("mock") == "tanh"
    assert np.array_equal(model.take(1000), ideal.take(1000))


def test_decisions_from_a_bit_pool_file_are_exact_and_read_once(tmp_path):
    path = tmp_path / "pool.h5"
    pool_bank({0.5: np.random.default_rng(4).integers(0, 2, 1 << 20)}).save(path)
    p = np.array([0.0, 0.05, 0.5, 0.9, 1.0])
    with ExitStack() as stack:
        counter = DecisionCounter(open_fair_bits(str(path), 0, stack))
    decisions = counter.bernoulli(np.tile(p, (40_000, 1)))
    bound = 5 * np.sqrt(p * (1 - p) / 40_000) + 1e-9
    assert np.all(np.abs(decisions.mean(axis=0) - p) <= bound)
    assert counter.bits.consumed + counter.bits.available() == 1 << 20
