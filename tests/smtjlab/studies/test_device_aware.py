import math

import numpy as np
import pytest
from smtjlab.instruments.safety import BiasLimits

from smtjlab.studies.device_aware import DEFAULTS, poor_bank, summarize, winback

FAST = BiasLimits(ramp_step_v=0.05, ramp_rate_v_per_s=1e6)  # no time lost ramping


def test_winback_is_the_share_of_the_loss_won_back():
    assert winback(0.97, 0.85, 0.94) == pytest.approx(0.75)
    assert winback(0.97, 0.85, 0.83) == pytest.approx(-1 / 6)  # worse than not tuning
    assert math.isnan(winback(0.97, 0.97, 0.96))  # nothing was lost


@pytest.mark.parametrize("signs", ["common", "random"])
def test_the_poor_device_serves_every_level_off_target_with_correlated_bits(signs):
    config = {**DEFAULTS, "seed": 3, "bits_per_level": 1 << 16, "level_signs": signs}
    bank = poor_bank([0.25, 0.5, 0.75], config, FAST)
    assert bank.levels == [0.25, 0.5, 0.75]
    drawn = np.random.default_rng(3).choice((-1.0, 1.0), 1 if signs == "common" else 3)
    for pool, sign in zip(bank.pools, np.broadcast_to(drawn, 3), strict=True):
        error = pool.p_measured - pool.p_target
        # calibrated for p ± δ within the loose tolerance (±0.01 around it): never on target
        assert sign * error == pytest.approx(DEFAULTS["level_error"], abs=0.012)
        bits = pool.bits()
        assert np.corrcoef(bits[:-1], bits[1:])[0, 1] > 0.4


def test_summary_is_mean_and_sd_over_seeds_per_model():
    keys = ["ideal", "poor", "device-aware_poor", "ideal-aware_poor", "device-aware_ideal"]
    rows = [
        {"model": "m", "seed": seed, **{key: value for key in keys}}
        | {"device-aware_winback": value, "ideal-aware_winback": 0.0}
        for seed, value in enumerate([0.5, 0.7, 0.9])
    ]
    (summary,) = summarize(rows)
    assert summary["seeds"] == [0, 1, 2]
    assert summary["device-aware_winback"]["mean"] == pytest.approx(0.7)
    assert summary["device-aware_winback"]["sd"] == pytest.approx(0.2)
