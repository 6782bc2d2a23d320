"""The Bit-pools view's monobit column: lag-1 correlation accounted for; red when it means it."""

import math
from dataclasses import replace

import numpy as np
import pytest
from smtjlab.acquisition.pool import BitPool
from smtjlab.acquisition.randomness import ALPHA, monobit
from smtjlab.gui.bench_worker import RECENT_BITS, MonobitWatch
from smtjlab.gui.messages import PoolStatus
from smtjlab.gui.pools_view import EXPECTED_LAG1, PoolsView

RED, GREEN = "color: #b00020;", "color: #0a6b2a;"


def telegraph_bits(p, rho, n, rng):
    """A two-state Markov chain of 0/1 bits with P(1) = p and lag-1 correlation rho: what
    a telegraph process sampled Δt apart gives (rho = exp(−Δt/τc))."""
    leave_one, leave_zero = (1 - p) * (1 - rho), p * (1 - rho)
    runs = int(2 * n * leave_one * leave_zero / (leave_one + leave_zero)) + 1000
    ones = rng.geometric(leave_one, runs)
    zeros = rng.geometric(leave_zero, runs)
    lengths = np.column_stack([zeros, ones]).ravel()
    bits = np.repeat(np.tile(np.array([0, 1], np.uint8), runs), lengths)
    start = int(rng.integers(1000))  # not always a run's first bit
    assert len(bits) >= start + n
    return bits[start : start + n]


def watch(p_target, p_true, windows, seed=0):
    """Feed a pool disjoint windows of bits; the watch's (p-value, failures) after each."""
    rng = np.random.default_rng(seed)
    pool, watcher, verdicts = BitPool(p_target, 1 << 16), MonobitWatch(), []
    for _ in range(windows):
        pool.append(telegraph_bits(p_true, EXPECTED_LAG1, MonobitWatch.FRESH_BITS, rng))
        recent = pool.bits()[-RECENT_BITS:]
        lag1 = float(np.corrcoef(recent[:-1], recent[1:])[0, 1])
        verdicts.append(watcher.update(pool, recent, lag1))
    return verdicts


def test_correlated_on_target_bits_fail_at_the_rate_alpha_and_are_never_red():
    verdicts = watch(0.25, 0.25, 2000)
    failed = sum(p < ALPHA for p, _ in verdicts) / len(verdicts)
    # Ignoring the expected lag-1 of 0.135, the test failed 2.2 % of such windows (z sd 1.14).
    assert failed < 1.7 * ALPHA
    assert sum(failures >= 2 for _, failures in verdicts) <= 2  # ALPHA² · 2000 = 0.2


def test_the_old_test_ignoring_lag1_fails_correlated_bits_too_often():
    rng = np.random.default_rng(1)
    windows = [telegraph_bits(0.25, EXPECTED_LAG1, RECENT_BITS, rng) for _ in range(2000)]
    naive = sum(monobit(bits, 0.25).p_value < ALPHA for bits in windows) / len(windows)
    assert naive > 1.7 * ALPHA  # what the watch above must not do


def test_an_off_target_pool_turns_red_in_two_windows():
    verdicts = watch(0.25, 0.28, 3)  # 0.03 off: 6σ of 10 000 correlated bits
    assert [failures for _, failures in verdicts] == [1, 2, 3]


def test_an_overlapping_window_is_not_tested_again():
    pool, watcher = BitPool(0.5, 1 << 16), MonobitWatch()
    pool.append(np.ones(RECENT_BITS + 64, np.uint8))
    first = watcher.update(pool, pool.bits()[-RECENT_BITS:], 0.0)
    pool.append(np.ones(100, np.uint8))  # the newest window is almost the same bits
    assert watcher.update(pool, pool.bits()[-RECENT_BITS:], 0.0) == first == (0.0, 1)


def status(p_values, failures):
    n = len(p_values)
    return PoolStatus(
        levels=[0.25, 0.5, 0.75][:n],
        fill=[0.5] * n,
        fill_bits=[1 << 19] * n,
        measured=[0.25, 0.5, 0.75][:n],
        raster=np.zeros((n, 400), np.uint8),
        lag1=[EXPECTED_LAG1] * n,
        monobit_p=list(p_values),
        monobit_failures=list(failures),
        overlap=[math.nan] * n,
        window_bits=RECENT_BITS,
    )


@pytest.fixture
def view(qtbot):
    view = PoolsView()
    qtbot.addWidget(view)
    return view


def test_red_needs_two_failed_windows_in_a_row_and_the_view_says_so(view):
    view.show_status(status([0.4, 0.004, 0.002], [0, 1, 2]))
    cells = [row["monobit"] for row in view.rows]
    assert [cell.text() for cell in cells] == ["0.400", "0.004", "0.002"]
    assert [cell.styleSheet() for cell in cells] == [GREEN, "", RED]
    assert "1 window(s)" in cells[1].toolTip() and "red from 2" in cells[1].toolTip()
    view.show_status(status([math.nan], [0]))  # not tested yet: no colour on "–"
    assert view.rows[0]["monobit"].text() == "–" and view.rows[0]["monobit"].styleSheet() == ""
    legend = view.legend.text()
    assert "expected lag-1 of 0.135 inflates the variance by 1.31×" in legend
    assert "windows that share no bit" in legend and "2 windows in a row" in legend


def test_an_arrays_rows_name_the_device_serving_each_level(view):
    view.show_status(status([0.5, 0.5, 0.5], [0, 0, 0]))
    assert [row["level"].text() for row in view.rows] == ["0.25", "0.5", "0.75"]
    view.show_status(replace(status([0.5] * 3, [0] * 3), devices=["mtj-1", "mtj-2", "mtj-3"]))
    assert [row["level"].text() for row in view.rows] == [
        "0.25 · mtj-1",
        "0.5 · mtj-2",
        "0.75 · mtj-3",
    ]
