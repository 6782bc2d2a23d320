import math

import pytest

from smtjlab.studies.sc_training import paired_one_sided, summarize


def test_the_paired_test_on_a_known_sample():
    # differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt 3) with 2 degrees of freedom, whose
    # CDF is 1/2 + t / (2 sqrt(2 + t^2)), so the one-sided p is 1/2 - sqrt(6/7) / 2
    result = paired_one_sided([91.0, 92.0, 93.0], [90.0, 90.0, 90.0])
    assert result["n"] == 3 and result["mean"] == pytest.approx(2.0)
    assert result["sd"] == pytest.approx(1.0) and result["t"] == pytest.approx(math.sqrt(12))
    assert result["p"] == pytest.approx(0.5 - math.sqrt(6 / 7) / 2, rel=1e-9)


def test_the_test_is_one_sided_and_paired():
    worse = paired_one_sided([90.0, 90.0, 90.0], [91.0, 92.0, 93.0])
    assert worse["mean"] == pytest.approx(-2.0) and worse["p"] == pytest.approx(
        0.5 + math.sqrt(6 / 7) / 2
    )
    # a shift shared by both models of a seed is the training seed's, not the method's
    shifted = paired_one_sided([91.0, 97.0, 83.0], [90.0, 95.0, 80.0])
    assert shifted["p"] == pytest.approx(0.5 - math.sqrt(6 / 7) / 2, rel=1e-9)


def test_no_spread_leaves_the_test_undefined():
    result = paired_one_sided([91.0, 91.0], [90.0, 90.0])
    assert result["mean"] == pytest.approx(1.0) and result["sd"] == 0.0
    assert math.isnan(result["t"]) and math.isnan(result["p"])


def result(training, seed, accuracies, deterministic):
    config = {
        "encoding": "bipolar",
        "hidden": [256],
        "states": 5,
        "training": training,
        "train_seed": seed,
    }
    return {
        "config": config,
        "deterministic_accuracy": deterministic,
        "rows": [{"accuracy": a} for a in accuracies],
    }


def test_summary_pairs_the_models_of_one_training_seed():
    results = [
        result("plain", 0, [0.90, 0.92], 0.95),
        result("sc", 1, [0.94, 0.94], 0.95),
        result("sc", 0, [0.93, 0.93], 0.95),
        result("plain", 1, [0.92, 0.92], 0.94),
        result("sc", 2, [0.99, 0.99], 0.99),  # no plain model of seed 2: not a pair
    ]
    (row,) = summarize(results)
    assert row["train_seeds"] == [0, 1]
    assert row["with_sc"]["mean"] == pytest.approx(93.5)
    assert row["without_sc"]["mean"] == pytest.approx(91.5)
    assert row["difference"]["mean"] == pytest.approx(2.0)
    assert row["difference"]["sd"] == pytest.approx(0.0, abs=1e-9)
    # the plain models lose 95 - 91 and 94 - 92 points to the sampling noise
    assert row["plain_noise_cost"]["mean"] == pytest.approx(3.0)
