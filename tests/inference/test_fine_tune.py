"""Fine-tuning from a checkpoint (train.fine_tune), on the ideal or a measured device."""

import numpy as np
import pytest
import torch
from smtjlab.acquisition.profile import DeviceProfile, LevelProfile
from smtjlab.inference.checkpoint import load_checkpoint, save_checkpoint
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.engine import deterministic_scores
from smtjlab.inference.model import DeviceNoise
from smtjlab.inference.train import (
    TrainError,
    fine_tune,
    input_values,
    model_from_checkpoint,
    to_checkpoint,
)
from smtjlab.inference.train_config import TrainConfig

POOR = DeviceProfile(
    (
        LevelProfile(0.25, 0.265, 0.6, 1 << 20),
        LevelProfile(0.5, 0.515, 0.6, 1 << 20),
        LevelProfile(0.75, 0.765, 0.6, 1 << 20),
    ),
    "synthetic",
)


@pytest.fixture(scope="module")
def data(mnist_dir):
    import os

    from smtjlab.inference.mnist import load_mnist

    os.environ["SMTJLAB_MNIST_DIR"] = str(mnist_dir)
    images, labels = load_mnist("train")
    return images[:1000], labels[:1000]


@pytest.fixture(scope="module")
def start():
    checkpoint = load_checkpoint("mlp1-s5-sc-bipolar")
    config = TrainConfig(hidden=(256,), states=5, encoding="bipolar", sc_length=100)
    return checkpoint, config


def accuracy(model, x, labels, device=None):
    with torch.no_grad():
        torch.manual_seed(0)
        return float((model(x, 100, device).argmax(1).numpy() == labels).mean())


def test_a_model_from_a_checkpoint_computes_what_the_checkpoint_does(start, data):
    checkpoint, config = start
    model = model_from_checkpoint(checkpoint)
    again = to_checkpoint(model, config, 0.0)
    for a, b in zip(checkpoint.layers, again.layers, strict=True):
        assert np.array_equal(a.weights, b.weights)
        np.testing.assert_allclose(a.scale, b.scale, rtol=1e-6)
        np.testing.assert_allclose(a.bias, b.bias, rtol=1e-6, atol=1e-7)
    x = input_values(data[0], config)
    with torch.no_grad():
        np.testing.assert_allclose(
            model(x).numpy(), deterministic_scores(checkpoint, data[0]), rtol=1e-4, atol=1e-4
        )


def test_device_aware_fine_tuning_learns_the_device_and_says_so(start, data, tmp_path):
    checkpoint, config = start
    images, labels = data
    device = DeviceNoise(POOR, Encoding.BIPOLAR, 5, 100)
    tune = TrainConfig(
        hidden=(256,), states=5, encoding="bipolar", sc_length=100, epochs=2, lr=0.01, seed=1
    )
    x = input_values(images, config)
    before = accuracy(model_from_checkpoint(checkpoint), x, labels, device)
    tuned = fine_tune(checkpoint, tune, images, labels, device, threads=1)
    # on the device's own noise model the tuned model does better than the one it started from
    assert accuracy(tuned, x, labels, device) > before
    saved = save_checkpoint(to_checkpoint(tuned, tune, 0.5, device=device), tmp_path / "t")
    loaded = load_checkpoint(saved)
    assert loaded.train_mode == "device-aware" and loaded.train_sc_length == 100
    assert DeviceProfile.from_json(loaded.device_profile) == POOR
    # without a device it is an ordinary SC fine-tuning
    plain = fine_tune(checkpoint, tune, images[:50], labels[:50], threads=1)
    plain = to_checkpoint(plain, tune, 0.5)
    assert plain.train_mode == "sc" and plain.device_profile == ""


def test_fine_tuning_refuses_a_configuration_or_device_of_another_network(start, data):
    checkpoint, _ = start
    other = TrainConfig(hidden=(32,), states=5, encoding="bipolar", sc_length=100, epochs=1)
    with pytest.raises(TrainError, match="not the checkpoint's"):
        fine_tune(checkpoint, other, *data)
    same = TrainConfig(hidden=(256,), states=5, encoding="bipolar", sc_length=100, epochs=1)
    sign_magnitude = DeviceNoise(POOR, Encoding.SIGN_MAGNITUDE, 5, 100)
    with pytest.raises(TrainError, match="another network"):
        fine_tune(checkpoint, same, *data, device=sign_magnitude)
