import pytest

from smtjlab.benchmarks.array import array_benchmarks


def test_the_array_row_compares_against_one_device_in_the_same_run():
    (row,) = array_benchmarks(bits_per_level=20_000)  # one record per level
    assert row["unit"] == "bits/s" and row["value"] > 0 and row["baseline_value"] > 0
    # The ratio is taken before the figures are rounded to 4 significant digits.
    assert row["ratio"] == pytest.approx(row["value"] / row["baseline_value"], rel=1e-3)
