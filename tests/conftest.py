import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

# No per-example deadline: these are correctness tests, and a loaded CI machine is slow.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The full MNIST folder: $SMTJLAB_MNIST_DIR, or ../shared/data/mnist beside the clone."""
    folder = Path(os.environ.get("SMTJLAB_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"full MNIST not found in {folder}; set SMTJLAB_MNIST_DIR")
    return folder
