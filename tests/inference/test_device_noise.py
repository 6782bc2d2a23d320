"""Device-aware noise (model.DeviceNoise): the SC noise model fed with a measured profile."""

import numpy as np
import pytest
import torch
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.profile import DeviceProfile, LevelProfile, measure_profile
from smtjlab.inference.checkpoint import Checkpoint, Layer
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.engine import ScEngine
from smtjlab.inference.model import (
    DeviceNoise,
    ScMlp,
    quantize_activations,
    quantize_weights,
)
from smtjlab.inference.quantize import pixel_levels

from smtjlab.studies.nonideal import markov_bits  # synthetic Markov bits


def levels_of(states: int) -> list[float]:
    return [k / (states - 1) for k in range(1, states - 1)]


def network(states: int, encoding: Encoding, seed: int = 0):
    torch.manual_seed(seed)
    model = ScMlp([12], states, encoding)
    x = quantize_activations(torch.randn(6, 784) * 2, states, encoding)
    return model, x


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("states", [3, 5, 11])
def test_an_ideal_profile_is_exactly_the_ideal_noise_model(encoding, states):
    model, x = network(states, encoding)
    device = DeviceNoise(DeviceProfile.ideal(levels_of(states)), encoding, states, 100)
    w = quantize_weights(model.layers[0].latent, states)
    total, variance = device.layers(2)[0].sums(x, w)
    torch.testing.assert_close(total, x @ w.T)
    torch.testing.assert_close(variance, encoding.sum_variance(x, w), rtol=1e-5, atol=1e-3)


def test_the_default_path_is_unchanged_and_ignores_no_device():
    model, x = network(5, Encoding.BIPOLAR)
    torch.manual_seed(1)
    default = model(x, 100)
    torch.manual_seed(1)
    assert torch.equal(model(x, 100, None), default)
    assert torch.equal(model(x), model(x, None, None))  # deterministic without SC


def test_measured_levels_move_the_bipolar_sums_by_every_product_of_the_half_level():
    # the ½ level at 0.51: a zero weight carries 0.02, and an input at -1 (a constant stream)
    # times it adds -0.02 to every sum; the ¼ and ¾ levels stay on target
    profile = DeviceProfile(
        (
            LevelProfile(0.25, 0.25, 0.0, 0),
            LevelProfile(0.5, 0.51, 0.0, 0),
            LevelProfile(0.75, 0.75, 0.0, 0),
        )
    )
    device = DeviceNoise(profile, Encoding.BIPOLAR, 5, 100)
    x = -torch.ones(1, 8)
    w = torch.tensor([[0.0, 0.0, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0]])
    total, _ = device.layers(1)[0].sums(x, w)
    nominal = float(x @ w.T)
    assert float(total) == pytest.approx(nominal - 4 * 0.02, abs=1e-6)
    # an input at 0 (P = ½) also carries 0.02: 0.02·w for each weight, 0.02·0.02 for zeros
    total, _ = device.layers(1)[0].sums(torch.zeros(1, 8), w)
    assert float(total) == pytest.approx(0.02 * float(w.sum()) + 4 * 0.02**2, abs=1e-6)


def test_measured_levels_move_the_sign_magnitude_sums_and_keep_the_weight_sign():
    profile = DeviceProfile(
        (
            LevelProfile(0.25, 0.24, 0.0, 0),
            LevelProfile(0.5, 0.52, 0.0, 0),
            LevelProfile(0.75, 0.75, 0.0, 0),
        )
    )
    device = DeviceNoise(profile, Encoding.SIGN_MAGNITUDE, 5, 100)
    x = torch.tensor([[0.25, 0.5, 1.0, 0.0]])
    w = torch.tensor([[0.5, -0.5, -1.0, 0.5]])
    total, variance = device.layers(1)[0].sums(x, w)
    expected = 0.24 * 0.52 - 0.52 * 0.52 - 1.0 + 0.0
    assert float(total) == pytest.approx(expected, abs=1e-6)
    # the constant streams (x = 1 against |w| = 1, x = 0) add no variance
    terms = [0.24 * 0.52, 0.52 * 0.52]
    assert float(variance) == pytest.approx(sum(p * (1 - p) for p in terms), abs=1e-6)


def test_correlated_bits_inflate_the_variance_and_the_gradient_stays_straight_through():
    levels = levels_of(5)
    correlated = DeviceProfile(tuple(LevelProfile(p, p, 0.6, 0) for p in levels))
    model, x = network(5, Encoding.BIPOLAR)
    x.requires_grad_(True)
    w = quantize_weights(model.layers[0].latent, 5)
    ideal = DeviceNoise(DeviceProfile.ideal(levels), Encoding.BIPOLAR, 5, 100)
    device = DeviceNoise(correlated, Encoding.BIPOLAR, 5, 100)
    _, low = ideal.layers(1)[0].sums(x, w)
    total, high = device.layers(1)[0].sums(x, w)
    ratio = (high / low).detach()
    assert torch.all(ratio > 1.5) and torch.all(ratio < 3.8)  # below (1+ρ)/(1-ρ) = 4
    total.sum().backward()
    torch.testing.assert_close(x.grad, w.sum(dim=0).expand_as(x).detach())


def test_the_noise_model_predicts_the_engines_sums_on_a_poor_bank():
    """Synthetic bits 0.02 above every level and ρ = 0.6: the engine's D/L over fresh weight and
    input streams has the mean and variance DeviceNoise says (one 784-10 layer, L = 64)."""
    states, length, seeds = 5, 64, 60
    rng = np.random.default_rng(0)
    actual = {0.25: 0.27, 0.5: 0.52, 0.75: 0.77}  # every level 0.02 high
    bank = BitBank()
    for p, q in actual.items():
        pool = BitPool(p, capacity_bits=1 << 20)
        pool.append(markov_bits(q, 0.6, 1 << 20, rng))
        bank.add(pool)
    profile = measure_profile(bank)
    weights = rng.integers(-2, 3, (10, 784)).astype(np.int8)
    layer = Layer(weights, np.ones(10), np.zeros(10))
    checkpoint = Checkpoint(states=states, encoding=Encoding.BIPOLAR, layers=(layer,))
    # mostly black, as MNIST: every non-constant weight times an input at -1 moves the sum
    images = (rng.integers(0, 256, (8, 784)) * (rng.random((8, 784)) < 0.3)).astype(np.uint8)
    sums = np.stack(
        [
            ScEngine(checkpoint, length, bits=bank, seed=seed).forward(images).sums[0] / length
            for seed in range(seeds)
        ]
    )
    levels, denominator = pixel_levels(images, states)
    x = torch.from_numpy(Encoding.BIPOLAR.values(levels, denominator).astype(np.float32))
    w = torch.from_numpy(weights.astype(np.float32) / 2)
    device = DeviceNoise(profile, Encoding.BIPOLAR, states, length)
    mean, variance = (t.detach().numpy() for t in device.layers(1)[0].sums(x, w))
    sd = np.sqrt(variance / length)
    # the mean: within 4 standard errors everywhere (the nominal mean is far off)
    z = (sums.mean(axis=0) - mean) / (sd / np.sqrt(seeds))
    assert np.abs(z).max() < 4.5
    nominal = (x @ w.T).numpy()
    assert np.abs((sums.mean(axis=0) - nominal) / (sd / np.sqrt(seeds))).max() > 10
    # the variance: the average ratio within 10 % (60 seeds give each ratio ~18 % noise)
    assert (sums.var(axis=0, ddof=1) / sd**2).mean() == pytest.approx(1.0, abs=0.1)
