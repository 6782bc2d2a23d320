import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

# No per-example deadline: these are correctness tests, and a loaded CI machine is slow.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


@pytest.fixture(autouse=True)
def no_final_states_pending():
    """Start every test with no bench's `smu: 0.000 V, output off` line waiting to be printed.

    A bench closed outside a command (a GUI test, a Bench test) leaves its final-state lines
    for the next command in the process to print; they must not leak into another test.
    """
    from smtjlab.bench import take_final_states  # imported here: loading conftest stays cheap

    take_final_states()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The full MNIST folder: $SMTJLAB_MNIST_DIR, or ../shared/data/mnist beside the clone."""
    folder = Path(os.environ.get("SMTJLAB_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"full MNIST not found in {folder}; set SMTJLAB_MNIST_DIR")
    return folder
