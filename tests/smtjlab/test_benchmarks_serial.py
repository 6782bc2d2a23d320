from smtjlab.benchmarks.serial import digitizer_benchmarks


def test_benchmark_rows_fit_smtjlab_bench():
    (row,) = digitizer_benchmarks(seconds=0.05)
    assert set(row) == {
        "name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "meets_target"
    }  # fmt: skip
    assert row["value"] > 0 and row["baseline_value"] > 0
