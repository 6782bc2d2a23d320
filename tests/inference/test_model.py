"""The torch side: straight-through quantizers and the SC-noise model of each encoding."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from smtjlab.inference.encoding import Encoding
from smtjlab.inference.model import (
    ScMlp,
    quantize_activations,
    quantize_weights,
    weight_levels,
)

odd_states = st.integers(1, 12).map(lambda h: 2 * h + 1)


def test_five_state_grids():
    latent = torch.tensor([-3.0, -0.8, -0.3, -0.2, 0.0, 0.24, 0.26, 0.74, 0.9, 2.0])
    assert quantize_weights(latent, 5).tolist() == [-1, -1, -0.5, 0, 0, 0, 0.5, 0.5, 1, 1]
    z = torch.tensor([-1.0, 0.1, 0.125, 0.2, 0.6, 0.9, 3.0])
    assert quantize_activations(z, 5, Encoding.SIGN_MAGNITUDE).tolist() == [
        0,
        0,
        0.25,
        0.25,
        0.5,
        1,
        1,
    ]
    assert quantize_activations(z, 5, Encoding.BIPOLAR).tolist() == [-1, 0, 0, 0, 0.5, 1, 1]


@given(odd_states, st.lists(st.floats(-3, 3), min_size=1, max_size=20))
def test_weights_land_on_the_grid_and_levels_agree(states, values):
    latent = torch.tensor(values, dtype=torch.float64)
    h = (states - 1) // 2
    quantized = quantize_weights(latent, states)
    levels = weight_levels(latent, states)
    assert np.all(np.abs(levels) <= h)
    np.testing.assert_allclose(quantized.numpy(), levels / h)
    # rounding to the nearest grid point of the clipped value
    assert torch.all((quantized - latent.clamp(-1, 1)).abs() <= 1 / (2 * h) + 1e-12)


@given(odd_states, st.sampled_from(list(Encoding)))
def test_activation_grid_and_straight_through_gradient(states, encoding):
    z = torch.linspace(-1.5, 1.5, 301, dtype=torch.float64, requires_grad=True)
    a = quantize_activations(z, states, encoding)
    low = encoding.floor
    step = (1.0 - low) / (states - 1)
    levels = (a.detach() - low) / step
    assert torch.allclose(levels, levels.round()) and a.min() == low and a.max() == 1.0
    a.sum().backward()
    inside = (z > low) & (z < 1.0)
    assert torch.all(z.grad[inside] == 1.0) and torch.all(z.grad[~inside & (z.abs() > 1)] == 0)


def test_the_model_parses_its_encoding_and_exports_levels_on_the_grid():
    torch.manual_seed(0)
    model = ScMlp([6], 5, "bipolar")
    assert model.encoding is Encoding.BIPOLAR
    scores = model(torch.rand(3, 784), sc_length=100)
    assert scores.shape == (3, 10) and torch.all(torch.isfinite(scores))
    for levels, scale, bias in model.export():
        assert levels.dtype == np.int8 and np.abs(levels).max() <= 2
        assert np.all(scale > 0) and bias.shape == scale.shape
