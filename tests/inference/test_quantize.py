import numpy as np
import pytest
from smtjlab.inference.quantize import QuantizeError, check_states, pixel_levels


@pytest.mark.parametrize("bad", [1, 2, 4, 10, -3, 2.5])
def test_states_must_be_odd_and_at_least_three(bad):
    with pytest.raises(QuantizeError):
        check_states(bad)


def test_pixels_round_half_up_in_integers():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 256)
    levels, denominator = pixel_levels(pixels, 5)
    assert denominator == 4
    expected = np.floor(np.arange(256) / 255 * 4 + 0.5).astype(int)
    assert levels.tolist() == [expected.tolist()]
    raw, denominator = pixel_levels(pixels, None)
    assert denominator == 255 and raw.tolist() == [list(range(256))]
