import numpy as np
from smtjlab.inference.checkpoint import (
    checkpoint_from_bytes,
    load_checkpoint,
    resolve_model,
    save_checkpoint,
)
from smtjlab.inference.engine import ScEngine
from smtjlab.inference.mnist import load_mnist

from smtjlab.tasks import evaluate, sha256, weights_sha256


def test_evaluate_is_the_engine_on_the_file_bytes_and_names_its_inputs():
    data = resolve_model("mlp1-s5-sc").read_bytes()
    config = {"model": "mlp1-s5-sc", "length": 32, "seed": 3, "images": 60, "bits": "ideal"}
    row = evaluate(config, model=data)
    images, labels = load_mnist("test")
    engine = ScEngine(load_checkpoint("mlp1-s5-sc"), 32, seed=3)
    expected = int((engine.predict(images[:60]) == labels[:60]).sum())
    assert row["correct"] == expected and row["accuracy"] == expected / 60
    assert row["model_sha256"] == sha256(data) and row["bits_sha256"] == ""
    assert {key: row[key] for key in config} == config
    assert row["hidden"] == [256] and row["states"] == 5 and row["training"] == "sc"


def test_tasks_on_the_same_pool_bytes_count_their_own_draws():
    """The parsed pool file is reused within a process; each task draws from its own copy."""
    from smtjlab.inference.bitsource import PoolBits

    rng = np.random.default_rng(0)
    bank = PoolBits({p: rng.random(1 << 14) < p for p in (0.25, 0.5, 0.75)})
    pool = bank.to_bytes()
    data = resolve_model("mlp1-s5-sc").read_bytes()
    config = {"model": "mlp1-s5-sc", "length": 64, "seed": 1, "images": 20, "bits": "p.h5"}
    first, second = (evaluate(config, model=data, pool=pool) for _ in range(2))
    assert first == second and sum(s["drawn_segments"] for s in first["pool_stats"]) > 0
    engine = ScEngine(load_checkpoint("mlp1-s5-sc"), 64, bits=bank, seed=1)
    images, labels = load_mnist("test")
    assert first["correct"] == int((engine.predict(images[:20]) == labels[:20]).sum())


def test_the_weights_digest_survives_a_save_and_changes_with_a_weight(tmp_path):
    checkpoint = load_checkpoint("mlp1-s5-plain")
    copy = save_checkpoint(checkpoint, tmp_path / "copy.npz")
    assert weights_sha256(checkpoint_from_bytes(copy.read_bytes(), copy)) == weights_sha256(
        checkpoint
    )
    checkpoint.layers[0].weights[0, 0] = np.int8(-checkpoint.layers[0].weights[0, 0] or 1)
    assert weights_sha256(checkpoint) != weights_sha256(load_checkpoint("mlp1-s5-plain"))
