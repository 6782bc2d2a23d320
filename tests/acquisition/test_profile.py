"""The device profile: what a bank's bits carry per level (measured P(1), lag-1 correlation)."""

import numpy as np
import pytest
from smtjlab.acquisition.pool import BitBank, BitPool
from smtjlab.acquisition.profile import (
    DeviceProfile,
    LevelProfile,
    ProfileError,
    measure_profile,
)

from smtjlab.studies.nonideal import markov_bits  # synthetic Markov bits


def bank_of(levels: dict[float, np.ndarray]) -> BitBank:
    bank = BitBank()
    for p, bits in levels.items():
        pool = BitPool(p, capacity_bits=len(bits))
        pool.append(bits)
        bank.add(pool)
    return bank


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6])
def test_a_profile_measures_the_level_each_pool_really_carries_and_its_correlation(rho):
    rng = np.random.default_rng(0)
    # pools labelled 0.25 / 0.5 that really carry 0.27 / 0.49 (synthetic level errors)
    bank = bank_of(
        {0.25: markov_bits(0.27, rho, 1 << 19, rng), 0.5: markov_bits(0.49, rho, 1 << 19, rng)}
    )
    profile = measure_profile(bank, source="synthetic", meta={"made": "test"})
    low, half = profile.level(0.25), profile.level(0.5)
    assert (low.p_target, half.p_target) == (0.25, 0.5)
    assert low.p_measured == pytest.approx(0.27, abs=0.005)
    assert half.p_measured == pytest.approx(0.49, abs=0.005)
    for level in (low, half):
        assert level.lag1 == pytest.approx(rho, abs=0.01)
        assert level.n_bits == 1 << 19
    assert profile.source == "synthetic" and profile.meta == {"made": "test"}


def test_a_profile_survives_its_json_file(tmp_path):
    profile = DeviceProfile(
        (LevelProfile(0.25, 0.26, 0.55, 1024), LevelProfile(0.75, 0.74, 0.6, 1024)),
        "synthetic",
        {"spacing": 0.5},
    )
    path = profile.save(tmp_path / "device.json")
    assert DeviceProfile.load(path) == profile
    assert DeviceProfile.from_json(profile.to_json()) == profile


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "other"}', "not a device profile"),
        ('{"format": "smtjlab.device-profile", "version": 9}', "version"),
        ('{"format": "smtjlab.device-profile", "version": 1, "levels": [{}]}', "malformed"),
        (
            '{"format": "smtjlab.device-profile", "version": 1, "levels": '
            '[{"p_target": 0.5, "p_measured": 0.5, "lag1": 1.0, "n_bits": 64}]}',
            "lag1",
        ),
    ],
)
def test_a_bad_profile_is_refused_with_one_line(text, message):
    with pytest.raises(ProfileError, match=message):
        DeviceProfile.from_json(text, "bad.json")


def test_a_missing_level_a_constant_pool_and_an_empty_bank_are_refused(tmp_path):
    with pytest.raises(ProfileError, match=r"no level p = 0\.5"):
        DeviceProfile.ideal([0.25, 0.75]).level(0.5)
    with pytest.raises(ProfileError, match="all 1024 bits are 1"):
        measure_profile(bank_of({0.5: np.ones(1024, np.uint8)}))
    with pytest.raises(ProfileError, match="no pools"):
        measure_profile(BitBank())
    with pytest.raises(ProfileError, match="cannot read"):
        DeviceProfile.load(tmp_path / "missing.json")


def test_the_ideal_profile_is_every_level_on_target_with_independent_bits():
    profile = DeviceProfile.ideal([0.75, 0.25])
    assert [level.p_target for level in profile.levels] == [0.25, 0.75]
    assert all(lv.p_measured == lv.p_target and lv.lag1 == 0 for lv in profile.levels)
