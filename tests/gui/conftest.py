import os

import numpy as np
import pytest

# Before pytest-qt creates the QApplication: GUI tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _tiny_checkpoint(encoding="sign-magnitude", states=5, hidden=12, seed=0):
    """A random 784-hidden-10 network: synthetic weights, for plumbing tests only."""
    from smtjlab.inference.checkpoint import Checkpoint, Layer

    rng = np.random.default_rng(seed)
    h = (states - 1) // 2
    layers = tuple(
        Layer(
            rng.integers(-h, h + 1, size=shape).astype(np.int8),
            np.full(shape[0], 4.0),
            rng.normal(0, 0.1, shape[0]),
        )
        for shape in [(hidden, 784), (10, hidden)]
    )
    return Checkpoint(states=states, encoding=encoding, layers=layers, test_accuracy=0.1)


@pytest.fixture
def tiny_checkpoint():
    """Factory of small synthetic checkpoints (encoding, states, hidden, seed)."""
    return _tiny_checkpoint


@pytest.fixture
def tiny_model(tmp_path):
    """Path of a saved tiny 5-state sign-magnitude checkpoint."""
    from smtjlab.inference.checkpoint import save_checkpoint

    return save_checkpoint(_tiny_checkpoint(), tmp_path / "tiny.npz")
