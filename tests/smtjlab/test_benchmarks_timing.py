from smtjlab.benchmarks.timing import best_seconds, result_row


def test_a_row_carries_the_ratio_to_its_baseline_and_the_verdict():
    row = result_row("engine", 1234.5678, "images/s", "baseline", 12.3456, ">= 50 x", False)
    assert row["value"] == 1235.0 and row["baseline_value"] == 12.35
    assert row["ratio"] == round(1234.5678 / 12.3456, 3)
    assert row["meets_target"] is False
    assert result_row("x", 1.0, "s", "none", 0.0, "", True)["ratio"] is None


def test_best_seconds_is_the_fastest_call():
    calls = []
    assert best_seconds(lambda: calls.append(1), repeats=4) >= 0
    assert len(calls) == 4
