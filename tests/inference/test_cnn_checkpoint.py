import dataclasses

import numpy as np
import pytest
from smtjlab.inference.checkpoint import CheckpointError
from smtjlab.inference.cnn_checkpoint import (
    WEIGHT_SHAPES,
    CnnCheckpoint,
    is_cnn_checkpoint,
    load_cnn_checkpoint,
    save_cnn_checkpoint,
)


def checkpoint() -> CnnCheckpoint:
    rng = np.random.default_rng(0)
    weights = tuple(rng.integers(-1, 2, shape).astype(np.int8) for shape in WEIGHT_SHAPES)
    norms = tuple(
        {name: rng.random(shape[0]).astype(np.float32) for name in ("mean", "var", "gamma", "beta")}
        for shape in WEIGHT_SHAPES
    )
    return CnnCheckpoint(3, weights, norms, 1e-4, train_bits="mock", decisions=7)


def test_a_cnn_checkpoint_round_trips_without_pickle(tmp_path):
    path = save_cnn_checkpoint(checkpoint(), tmp_path / "cnn.npz")
    assert is_cnn_checkpoint(path)
    with np.load(path, allow_pickle=False) as archive:
        assert archive["weight_2"].dtype == np.int8
    loaded = load_cnn_checkpoint(path)
    assert loaded.train_bits == "mock" and loaded.decisions == 7
    assert all(
        np.array_equal(a, b) for a, b in zip(loaded.weights, checkpoint().weights, strict=True)
    )


def test_bad_cnn_checkpoints_are_refused(tmp_path):
    good = checkpoint()
    wrong_shape = dataclasses.replace(good, weights=(good.weights[0][:1], *good.weights[1:]))
    with pytest.raises(CheckpointError, match="shape"):
        save_cnn_checkpoint(wrong_shape, tmp_path / "a.npz")
    off_grid = dataclasses.replace(good, weights=(good.weights[0] * 2, *good.weights[1:]))
    with pytest.raises(CheckpointError, match="outside"):
        save_cnn_checkpoint(off_grid, tmp_path / "b.npz")
    pickled = tmp_path / "c.npz"
    np.savez(pickled, format=np.array("smtjlab.tnn-cnn"), junk=np.array([object()], dtype=object))
    assert not is_cnn_checkpoint(tmp_path / "missing.npz")
    with pytest.raises(CheckpointError):
        load_cnn_checkpoint(pickled)
    sc_model = tmp_path / "d.npz"
    np.savez(sc_model, format=np.array("smtjlab.sc-mlp"))
    assert not is_cnn_checkpoint(sc_model)
