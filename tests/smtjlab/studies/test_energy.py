import dataclasses
import math

import pytest
from smtjlab.inference.energy import PAPER_ENERGY_RATIO, EnergyParameters, compare

from smtjlab.studies.energy import DAC_BITS, TAU_C, energy_ratio, sensitivity


def test_the_map_holds_the_energy_models_own_ratio():
    params = EnergyParameters()
    widths = [784, 256, 10]
    assert energy_ratio(params, 5, 100) == pytest.approx(
        compare(params, widths, 5, 100)["ratios"]["activation_energy"]
    )
    one = sensitivity(5, 100)
    assert one["ratios"].shape == (len(DAC_BITS), len(TAU_C))
    row = list(DAC_BITS).index(params.dac_bits)
    slow = dataclasses.replace(params, tau_c=TAU_C[-1])
    assert one["ratios"][row, -1] == pytest.approx(energy_ratio(slow, 5, 100))
    assert one["default"]["ratio"] == pytest.approx(energy_ratio(params, 5, 100))


def test_where_the_paper_s_ratio_lies_is_found_not_set():
    one = sensitivity(5, 100)
    tau = one["tau_c_for_paper"]
    assert TAU_C[0] < tau < TAU_C[-1]
    at_tau = dataclasses.replace(EnergyParameters(), tau_c=tau)
    assert energy_ratio(at_tau, 5, 100) == pytest.approx(PAPER_ENERGY_RATIO, rel=1e-6)
    bits = one["dac_bits_for_paper"]
    fewer = dataclasses.replace(EnergyParameters(), dac_bits=bits - 1)
    enough = dataclasses.replace(EnergyParameters(), dac_bits=bits)
    assert energy_ratio(fewer, 5, 100) < PAPER_ENERGY_RATIO <= energy_ratio(enough, 5, 100)


def test_a_target_beyond_the_grid_says_so():
    from smtjlab.studies.energy import _tau_for

    assert math.isnan(_tau_for(1e6, EnergyParameters(), 5, 100))
