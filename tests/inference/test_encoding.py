"""The encoding object: parsing, and the semantics every layer takes from it."""

import numpy as np
import pytest
import torch
from smtjlab.inference.encoding import Encoding, EncodingError

from smtjlab.errors import SmtjlabError


def test_names_parse_to_members_and_unknown_names_are_one_clear_error():
    assert Encoding("bipolar") is Encoding.BIPOLAR
    assert Encoding("sign-magnitude") is Encoding.SIGN_MAGNITUDE
    assert f"{Encoding.BIPOLAR}" == "bipolar"  # what checkpoints and reports carry
    with pytest.raises(EncodingError, match="'unipolar'; use one of sign-magnitude, bipolar"):
        Encoding("unipolar")
    assert issubclass(EncodingError, SmtjlabError)


def test_values_and_weight_stream_probabilities():
    levels = np.array([0, 2, 4])
    assert Encoding.SIGN_MAGNITUDE.values(levels, 4).tolist() == [0, 0.5, 1]
    assert Encoding.BIPOLAR.values(levels, 4).tolist() == [-1, 0, 1]
    weights = np.array([-2, -1, 0, 1, 2])  # h = 2: numerators over 4
    assert Encoding.SIGN_MAGNITUDE.weight_numerators(weights, 2).tolist() == [4, 2, 0, 2, 4]
    assert Encoding.BIPOLAR.weight_numerators(weights, 2).tolist() == [0, 1, 2, 3, 4]
    assert Encoding.SIGN_MAGNITUDE.signed_counters and not Encoding.BIPOLAR.signed_counters


@pytest.mark.parametrize("encoding", list(Encoding))
def test_sum_variance_is_the_variance_of_sampled_bits(encoding):
    """The formula against counts of independent Bernoulli products (one neuron, 3 inputs)."""
    rng = np.random.default_rng(4)
    x = encoding.values(np.array([[1, 2, 4]]), 4)
    w = np.array([[0.5, -1.0, 0.0]])
    length = 200_000
    if encoding is Encoding.BIPOLAR:
        bits_x = rng.random((length, 3)) < (x + 1) / 2
        bits_w = rng.random((length, 3)) < (w + 1) / 2
        terms = 2.0 * (bits_x == bits_w) - 1.0
    else:
        terms = (rng.random((length, 3)) < x) * (rng.random((length, 3)) < abs(w)) * np.sign(w)
    sampled = terms.sum(axis=1).var()
    np.testing.assert_allclose(encoding.sum_variance(x, w), [[sampled]], rtol=0.02)
    # the same definition serves training's torch tensors
    tensor = encoding.sum_variance(torch.from_numpy(x), torch.from_numpy(w))
    np.testing.assert_allclose(tensor.numpy(), encoding.sum_variance(x, w))


def test_counter_steps_are_the_products_per_clock_cycle():
    x = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=bool)  # 2 inputs, L = 4
    w = np.array([[[1, 0, 1, 0], [1, 1, 1, 1]]], dtype=bool)  # 1 neuron
    sign = np.array([[1, -1]])
    # sign-magnitude: AND, the second input's products subtracted
    assert Encoding.SIGN_MAGNITUDE.counter_steps(x, w, sign).tolist() == [[0, 0, -1, 0]]
    # bipolar: XNOR agreements a give 2a - n_in per cycle
    assert Encoding.BIPOLAR.counter_steps(x, w, sign).tolist() == [[2, -2, 0, 0]]
