"""Issue 4, "Done when" 1: every synthetic ground-truth case of the digitizer passes."""

import pytest

from smtjlab.validation import (
    CASES,
    MAX_DWELL_ERROR,
    MAX_P_ERROR,
    MAX_STATE_ERROR,
    run_case,
)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_digitizer_recovers_the_ground_truth(case):
    row = run_case(case)
    assert row["state_error"] <= MAX_STATE_ERROR, row
    assert abs(row["p_high"] - row["p_true"]) <= MAX_P_ERROR, row
    assert row["dwell_error"] <= MAX_DWELL_ERROR, row


def test_case_grid_spans_the_required_ranges():
    assert {case.snr for case in CASES} >= {5.0, 20.0}
    assert min(case.p for case in CASES) <= 0.1 and max(case.p for case in CASES) >= 0.9
    dwells = [t for case in CASES for t in (case.tau_high, case.tau_low)]
    assert min(dwells) == pytest.approx(10.0) and max(dwells) == pytest.approx(500.0)
    assert any(case.drift >= 0.5 for case in CASES)
    assert all(any(getattr(case, flag) for case in CASES) for flag in ("pink", "spikes", "codes"))
