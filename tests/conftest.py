import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The full MNIST folder: $SMTJLAB_MNIST_DIR, or ../shared/data/mnist beside the clone."""
    folder = Path(os.environ.get("SMTJLAB_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"full MNIST not found in {folder}; set SMTJLAB_MNIST_DIR")
    return folder
