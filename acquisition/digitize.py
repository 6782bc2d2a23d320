"""Telegraph trace → two-state sequence, plus its dwell-time statistics (DESIGN §2–§3).

How a trace is read:

1. **Levels.** The trace is cut into up to 64 windows; a strided subsample of each is split in
   two at Otsu's threshold, giving per-window low and high means. A window holds both states
   when the rarer has a 0.5 % share and the means are ≥ 3 within-class σ apart (noise of any
   width splits at 2.65); when fewer than a tenth of the windows pass, each needs 4. The level
   gap is the median split over those windows; the white-noise σ comes from the median
   absolute first difference. A window that holds one state only is put on the low or the high
   level, whichever keeps the baseline continuous with its neighbours.
2. **Hysteresis.** One compiled pass classifies every sample with thresholds at
   gap·(½ ± `hysteresis`) above a tracked baseline and skips spikes: samples more than
   max(½ gap, 5σ) outside both levels keep the previous state. After every 64 samples the
   baseline moves toward the mean residual of those samples (time constant `track_samples`),
   which follows drift and the slow part of 1/f noise. The pass works on 64 samples at a time as
   bit masks; the hysteresis itself is one carry-propagating addition per 64 samples.
3. **Viterbi** (`method="viterbi"`, or "auto" when the SNR is below 8). The levels are first
   re-centred on the median of the samples classified into them, then the most likely path of
   a two-state hidden Markov model is found, with Gaussian emissions around the tracked levels,
   switching probabilities from step 2 and σ from its residuals. It removes the short
   noise-made dwells that hysteresis lets through at low SNR, which split long dwells; at
   SNR ≥ 8 a noise excursion past the far threshold needs 4.8σ and hysteresis alone is as
   good. For two states the recursion collapses to one number per sample (`_viterbi_forward`)
   and the backtrack is a hysteresis run backwards.
4. **Statistics.** Occupancy p_high, and an exponential fit of the dwell times with the first
   and last (censored) dwells left out. Sampling a two-state Markov process every Δ makes its
   runs geometric, with leave-probabilities q_h, q_l = 1/mean run; the fit inverts that exactly:
   τc = −Δ/ln(1 − q_h − q_l), τ_high = τc·(q_h+q_l)/q_h, τ_low = τc·(q_h+q_l)/q_l.

State 1 is the higher-voltage level; `invert=True` flips it, and "high" in the statistics then
names state 1. The baseline model is additive (drift moves both levels together), as in the
synthesizer (smtjlab.mocks.smtj.readout).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numba
import numpy as np
from smtjlab.acquisition.tracefile import Trace

from smtjlab.errors import SmtjlabError

log = logging.getLogger(__name__)

METHODS = ("auto", "viterbi", "hysteresis")
AUTO_VITERBI_SNR = 8.0  # "auto" runs the Viterbi pass below this gap/σ
MAX_WINDOWS = 64
MIN_WINDOW = 4096  # samples per level-estimation window, at least
WINDOW_SUBSAMPLE = 512  # samples of each window the level estimate looks at
HISTOGRAM_BINS = 256
# A window holds two levels when Otsu's class means are this many within-class σ apart.
# Otsu splits one Gaussian, however wide (drift, coarse ADC codes), into halves 2.65 ± 0.09
# of their own σ apart (512 samples); two levels 3σ apart already give ≥ 3.1.
MIN_SEPARATION = 3.0
# 1/f noise as strong as the gap wanders inside a window and lifts an odd one past 3,
# seldom more than one: when under `FEW_WINDOWS` of them pass, each must clear `SURE_SEPARATION`
# on its own (two levels 4σ apart give ≥ 3.85, a rare state at SNR 9 about 10).
FEW_WINDOWS = 0.1
SURE_SEPARATION = 4.0
# After classification, a backstop to step 1: a split of pure (1/f) noise gives 2.2-2.35,
# but up to 2.6 on coarse ADC codes, so this alone cannot tell noise from a telegraph.
MIN_GAP_SIGMAS = 2.4
MIN_MINORITY = 0.005  # a window holds both states if the rarer one has this share
# Below this gap/σ the state error passes 1 % (docs/acquisition.md: 0.65 % at SNR 4, 2 % at 3),
# so a warning at the specified SNR 5 would be a false alarm.
WARN_SNR = 4.0
SPIKE_SIGMAS = 5.0
RESIDUAL_SAMPLES = 8192


class DigitizeError(SmtjlabError):
    """A trace that cannot be digitized: NaNs, a flat trace, no switching, too short."""


class NoSwitching(DigitizeError):
    """The trace holds one level: the device sits in one state at this bias (p near 0 or 1)."""


@dataclass
class Digitized:
    """The states of one trace and what they say about the device.

    Levels are in volts (for ADC codes, after the trace's scale), averaged over the trace since
    the baseline may drift. Dwell means and τc are NaN without a complete dwell of each state.
    """

    name: str
    states: np.ndarray
    sample_rate: float
    low_v: float
    high_v: float
    noise_v: float
    p_high: float
    dwell_high_s: float
    dwell_low_s: float
    tau_c_s: float
    switches: int
    inverted: bool = False

    @property
    def threshold_v(self) -> float:
        return 0.5 * (self.low_v + self.high_v)

    @property
    def snr(self) -> float:
        """Level gap over the noise σ around the levels."""
        return (self.high_v - self.low_v) / self.noise_v if self.noise_v > 0 else math.inf

    @property
    def tau_c_samples(self) -> float:
        return self.tau_c_s * self.sample_rate


def digitize(
    samples: np.ndarray,
    sample_rate: float,
    *,
    name: str = "trace",
    invert: bool = False,
    method: str = "auto",
    hysteresis: float = 0.1,
    track_samples: int = 256,
    volts_per_code: float | None = None,
    offset_volts: float | None = None,
) -> Digitized:
    """Digitize one trace of volts, or of raw ADC codes with their scale.

    `method` is "viterbi" (hysteresis, then the HMM path), "hysteresis" (faster; as good at
    SNR ≥ 8) or "auto" (Viterbi when the measured SNR is below 8). `hysteresis` is the
    half-width of the dead band around mid-level as a fraction of the gap; `track_samples` the
    baseline tracker's time constant in samples.
    Raises `DigitizeError` naming `name` for NaNs, a flat trace or a trace without switching.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    samples = _checked(samples, name)
    n = len(samples)
    levels = estimate_levels(samples, name=name)
    padded = np.empty(-(-n // 64) * 64, dtype=np.uint8)  # kernels write whole 64-sample steps
    baseline = _hysteresis_pass(samples, padded, levels, hysteresis, track_samples)
    levels, baseline, sigma = _refine(samples, padded[:n], baseline, levels)
    if levels.gap < MIN_GAP_SIGMAS * sigma:
        raise NoSwitching(
            f"trace {name!r}: no switching (the two levels found are {levels.gap / sigma:.1f}σ "
            f"apart; noise alone splits about 2.3σ apart, a telegraph needs {MIN_GAP_SIGMAS}σ)"
        )
    if method == "viterbi" or (method == "auto" and levels.gap < AUTO_VITERBI_SNR * sigma):
        _viterbi_pass(samples, padded, baseline, levels, sigma)
    states = padded[:n]
    if invert:
        np.subtract(1, states, out=states)
    n_high, switches, first, last = _run_counts(states)
    dwell_high, dwell_low, tau_c = _dwell_fit(states, n_high, switches, first, last)
    scale = 1.0 if volts_per_code is None else float(volts_per_code)
    shift = 0.0 if volts_per_code is None else float(offset_volts or 0.0)
    low = float(baseline.mean()) * scale + shift
    return Digitized(
        name=name,
        states=states,
        sample_rate=float(sample_rate),
        low_v=low,
        high_v=low + levels.gap * scale,
        noise_v=sigma * scale,
        p_high=n_high / n,
        dwell_high_s=dwell_high / sample_rate,
        dwell_low_s=dwell_low / sample_rate,
        tau_c_s=tau_c / sample_rate,
        switches=switches,
        inverted=invert,
    )


def digitize_trace(trace: Trace, *, invert: bool = False, **options) -> Digitized:
    """Digitize a `Trace` read from a trace file (volts or ADC codes)."""
    return digitize(
        trace.data,
        trace.sample_rate,
        name=trace.name,
        invert=invert,
        volts_per_code=trace.volts_per_code,
        offset_volts=trace.offset_volts,
        **options,
    )


def fit_dwells(states: np.ndarray) -> tuple[float, float, float]:
    """Exponential fit of a state sequence: (τ_high, τ_low, τc) in samples, NaN if undefined.

    The first and last (censored) dwells are left out; see the module docstring, step 4.
    """
    states = np.ascontiguousarray(states, dtype=np.uint8)
    return _dwell_fit(states, *_run_counts(states))


def dwell_times(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complete dwells (in samples) of state 1 and of state 0; the censored ends dropped."""
    states = np.asarray(states, dtype=np.uint8)
    edges = np.flatnonzero(np.diff(states)) + 1
    lengths = np.diff(edges)
    is_high = states[edges[:-1]] == 1
    return lengths[is_high], lengths[~is_high]


@dataclass(frozen=True)
class Levels:
    """The two levels in sample units: the low level at the start, the gap, white-noise σ."""

    low: float
    gap: float
    sigma: float


def estimate_levels(samples: np.ndarray, name: str = "trace") -> Levels:
    """Find the two levels of a trace (module docstring, step 1)."""
    n = len(samples)
    windows = int(min(MAX_WINDOWS, max(1, n // MIN_WINDOW)))
    width = n // windows
    per_window = min(WINDOW_SUBSAMPLE, width)
    stride = width // per_window
    sub = _subsample(samples, windows, width, per_window, stride)
    lo, hi = float(sub.min()), float(sub.max())
    if hi <= lo:
        raise NoSwitching(f"trace {name!r}: flat (every sample is {lo:.6g})")
    sigma = _white_sigma(samples)
    if np.issubdtype(samples.dtype, np.integer):
        sigma = max(sigma, 0.5)  # one code step bounds the resolution of integer samples
    low, high, minority, separation = _window_levels(sub, lo, hi)
    split = high - low
    # Scale-free on purpose: a split measured in the white σ lets through the noise of
    # windows that are wider than white (1/f, drift) or whose σ the ADC's codes bias low,
    # and where the rare state is rare those windows outnumber the real ones.
    both = (minority >= MIN_MINORITY) & (separation >= MIN_SEPARATION)
    if both.sum() < FEW_WINDOWS * windows:
        both &= separation >= SURE_SEPARATION
    if not both.any():
        raise NoSwitching(
            f"trace {name!r}: no switching (one level; the best two-level split is "
            f"{float(separation.max()):.1f}× its classes' σ, noise alone gives about 2.65, "
            f"a telegraph signal needs {MIN_SEPARATION:g} in many windows or "
            f"{SURE_SEPARATION:g} in a few)"
        )
    gap = float(np.median(split[both]))
    # A split far from the typical gap is noise inside a one-state window, not two levels.
    consistent = both & (np.abs(split - gap) < 0.4 * gap)
    if consistent.any():
        both = consistent
    baseline = _baseline(low, high, both, gap)
    return Levels(low=float(baseline[0]), gap=gap, sigma=sigma)


def _checked(samples: np.ndarray, name: str) -> np.ndarray:
    samples = np.ascontiguousarray(samples)
    if samples.ndim != 1:
        raise DigitizeError(f"trace {name!r}: samples must be 1-D, got shape {samples.shape}")
    if len(samples) < 64:
        raise DigitizeError(f"trace {name!r}: {len(samples)} samples are too few to digitize")
    if np.issubdtype(samples.dtype, np.integer):
        return samples
    if not np.issubdtype(samples.dtype, np.floating):
        raise DigitizeError(f"trace {name!r}: samples of dtype {samples.dtype} are not numbers")
    samples = samples.astype(np.float32, copy=False)
    bad = _count_nonfinite(samples)
    if bad:
        raise DigitizeError(f"trace {name!r}: {bad} samples are NaN or infinite")
    return samples


@numba.njit(cache=True, nogil=True)
def _count_nonfinite(x):
    # NaN and ±inf are the float32 patterns with every exponent bit set; integer tests vectorise.
    bits = x.view(np.uint32)
    bad = 0
    for i in range(len(bits)):
        bad += (bits[i] & np.uint32(0x7F800000)) == np.uint32(0x7F800000)
    return bad


@numba.njit(cache=True, nogil=True)
def _subsample(samples, windows, width, per_window, stride):
    sub = np.empty((windows, per_window), dtype=np.float32)
    for w in range(windows):
        for j in range(per_window):
            sub[w, j] = samples[w * width + j * stride]
    return sub


def _white_sigma(samples: np.ndarray) -> float:
    """White-noise σ from the median absolute first difference of a contiguous stretch.

    Differences are blind to drift, and switches touch only a few of them.
    """
    start = max(0, len(samples) // 2 - 2048)
    diffs = np.abs(np.diff(samples[start : start + 4096].astype(np.float32)))
    middle = len(diffs) // 2
    return float(np.partition(diffs, middle)[middle]) * 1.4826 / math.sqrt(2.0)


def _baseline(low: np.ndarray, high: np.ndarray, both: np.ndarray, gap: float) -> np.ndarray:
    """The low level of every window; one-state windows join the nearer continuation."""
    anchors = np.flatnonzero(both)
    guide = np.interp(np.arange(len(low)), anchors, low[anchors])
    centre = 0.5 * (low + high)  # a one-state window's two Otsu halves straddle its level
    single = np.where(np.abs(centre - guide) <= np.abs(centre - gap - guide), centre, centre - gap)
    return np.where(both, low, single)


@numba.njit(cache=True, nogil=True)
def _window_levels(sub: np.ndarray, lo: float, hi: float):
    """Otsu split of each window's histogram: (low mean, high mean, minority share, class
    separation) each; the separation is the gap of the means over the within-class σ."""
    windows, m = sub.shape
    low = np.empty(windows)
    high = np.empty(windows)
    minority = np.empty(windows)
    separation = np.empty(windows)
    scale = HISTOGRAM_BINS / (hi - lo) * (1 - 1e-9)
    hist = np.empty(HISTOGRAM_BINS)
    for w in range(windows):
        hist[:] = 0.0
        total = 0.0
        for j in range(m):
            b = int((sub[w, j] - lo) * scale)
            hist[b] += 1.0
            total += b
        best, cut = -1.0, 0
        count0, sum0 = 0.0, 0.0
        for b in range(HISTOGRAM_BINS - 1):
            count0 += hist[b]
            sum0 += b * hist[b]
            count1 = m - count0
            if count0 == 0 or count1 == 0:
                continue
            d = sum0 / count0 - (total - sum0) / count1
            between = count0 * count1 * d * d
            if between > best:
                best, cut = between, b
        threshold = lo + (cut + 1) / scale
        s0, n0, s1, n1, squares = 0.0, 0, 0.0, 0, 0.0
        for j in range(m):
            v = sub[w, j] - threshold  # centred, so the squares lose no precision
            squares += v * v
            if v < 0:
                s0 += v
                n0 += 1
            else:
                s1 += v
                n1 += 1
        low[w] = threshold + (s0 / n0 if n0 else 0.0)
        high[w] = threshold + (s1 / n1 if n1 else 0.0)
        minority[w] = min(n0, n1) / m
        within = squares - (s0 * s0 / n0 if n0 else 0.0) - (s1 * s1 / n1 if n1 else 0.0)
        split = high[w] - low[w]
        separation[w] = (
            split / math.sqrt(within / m) if within > 0 else (math.inf if split > 0 else 0.0)
        )
    return low, high, minority, separation


def _spike_margin(levels: Levels) -> float:
    return max(0.5 * levels.gap, SPIKE_SIGMAS * levels.sigma)


def _hysteresis_pass(
    samples: np.ndarray, states: np.ndarray, levels: Levels, hysteresis: float, track_samples: int
) -> np.ndarray:
    """Hysteresis states into `states` (whole 64-sample steps); returns the baseline (the low
    level) each step used."""
    gap, margin = levels.gap, _spike_margin(levels)
    params = np.array(
        [
            gap,
            gap * (0.5 - hysteresis),
            gap * (0.5 + hysteresis),
            -margin,
            gap + margin,
            min(1.0, 64.0 / max(track_samples, 64)),
        ],
        dtype=np.float32,
    )
    n = len(samples)
    body = n // 64 * 64
    baseline = np.empty(len(states) // 64, dtype=np.float32)
    state = int(samples[0] - levels.low > 0.5 * gap)
    offset, state = _hysteresis(
        samples[:body], states, baseline, np.float32(levels.low), state, params
    )
    if body < n:
        # Padding far outside the levels counts as spikes: neutral, and out of every sum.
        tail = np.full(64, levels.low + 1e3 * (gap + margin), dtype=np.float32)
        tail[: n - body] = samples[body:]
        _hysteresis(tail, states[body:], baseline[body // 64 :], offset, state, params)
    return baseline


def _refine(
    samples: np.ndarray, states: np.ndarray, baseline: np.ndarray, levels: Levels
) -> tuple[Levels, np.ndarray, float]:
    """Re-centre both levels on the median residual of the samples classified into them.

    Otsu's class means lean toward each other when the classes overlap or differ in size;
    medians of the classified samples do not. Also returns the robust σ of the residuals,
    which (unlike the first-difference σ) includes the 1/f noise the tracker lets through.
    """
    index = np.linspace(0, len(samples) - 1, min(len(samples), RESIDUAL_SAMPLES)).astype(np.int64)
    high = states[index] == 1
    residual = samples[index] - baseline[index // 64] - np.float32(levels.gap) * high
    shift_low = float(np.median(residual[~high])) if (~high).any() else 0.0
    shift_high = float(np.median(residual[high])) if high.any() else 0.0
    residual -= np.where(high, shift_high, shift_low).astype(np.float32)
    sigma = float(np.median(np.abs(residual))) * 1.4826
    gap = levels.gap + shift_high - shift_low
    refined = Levels(low=levels.low + shift_low, gap=gap, sigma=levels.sigma)
    if gap < WARN_SNR * sigma:
        log.warning("level gap is only %.1f× the noise σ; expect state errors", gap / sigma)
    return refined, baseline + np.float32(shift_low), max(sigma, 0.5 * levels.sigma, 1e-12)


def _viterbi_pass(
    samples: np.ndarray, states: np.ndarray, baseline: np.ndarray, levels: Levels, sigma: float
) -> None:
    """Replace the hysteresis states in `states` by the most likely two-state HMM path.

    The switching probabilities come from the states being replaced. At low SNR hysteresis
    chatters, which overstates them; when the path then switches much less often than its
    input did, a second pass uses the path's own switching rate.
    """
    n = len(samples)
    scores = np.zeros(len(states), dtype=np.float32)  # zero padding is neutral on the way back
    before = _run_counts(states[:n])
    for _ in range(2):
        _viterbi_path(samples, states, scores, baseline, levels, sigma, *before[:2])
        after = _run_counts(states[:n])
        if after[1] >= 0.8 * before[1]:
            return
        before = after


def _viterbi_path(samples, states, scores, baseline, levels, sigma, n_high, switches) -> None:
    n = len(samples)
    ups, downs = _ups_downs(states[:n], switches)
    # Per-sample switching probabilities, kept away from 0 and 1.
    q_up = min(max((ups + 1) / (n - n_high + 2), 1e-7), 0.5)
    q_down = min(max((downs + 1) / (n_high + 2), 1e-7), 0.5)
    stay_low, up = math.log1p(-q_up), math.log(q_up)
    stay_high, down = math.log1p(-q_down), math.log(q_down)
    _viterbi_forward(
        samples,
        baseline,
        scores,
        np.float32(levels.gap / sigma**2),
        np.float32(levels.gap),
        np.float32(_spike_margin(levels)),
        np.float32(stay_high - stay_low),
        np.float32(up - stay_low),
        np.float32(stay_high - down),
    )
    last_state = int(scores[n - 1] > stay_high - stay_low)  # d > 0 at the last sample
    _viterbi_backward(
        scores, states, np.float32(up - stay_low), np.float32(stay_high - down), last_state
    )


@numba.njit(cache=True, nogil=True, fastmath=True)
def _viterbi_forward(x, baseline, scores, scale, gap, margin, drift, floor, ceiling):
    """Scores e_i = d_i + drift, d_i = (best log-path ending high) − (best ending low).

    With per-sample log-probabilities ln(1−q↑), ln q↑ (from low) and ln(1−q↓), ln q↓ (from
    high), the pair recursion collapses to d_i = clip(d_{i−1} + drift, floor, ceiling) + llr_i,
    drift = ln(1−q↓) − ln(1−q↑), floor = ln q↑ − ln(1−q↑), ceiling = ln(1−q↓) − ln q↓, and
    llr_i = gap·(x_i − mid level)/σ². Spikes (samples out of the band) carry no evidence.
    """
    half = np.float32(0.5) * gap
    reach = half + margin
    score = np.float32(0.0)
    llr = np.empty(64, dtype=np.float32)
    for step in range(len(scores) // 64):
        base = step * 64
        centre = baseline[step] + half
        live = min(64, len(x) - base)
        for j in range(live):
            v = np.float32(x[base + j]) - centre
            llr[j] = (scale * v if abs(v) <= reach else np.float32(0.0)) + drift
        out = scores[base : base + live]
        for j in range(live):
            # The start value 0 lies inside [floor, ceiling], so e_0 = llr_0 + drift.
            score = min(max(score, floor), ceiling) + llr[j]
            out[j] = score


@numba.njit(cache=True, nogil=True, fastmath=True)
def _viterbi_backward(scores, out, reset_below, set_above, last_state):
    """Backtrack the path: the best predecessor of "low at i+1" is "high at i" when
    d_i > ln(1−q↑) − ln q↓, and of "high at i+1" is "low at i" when d_i < ln q↑ − ln(1−q↓).
    In e_i = d_i + drift those bounds are the forward pass's ceiling and floor, so sample i is
    high if e_i > ceiling (`set_above`), low if e_i < floor (`reset_below`), and otherwise the
    state of sample i+1: a hysteresis run from the end, done with `_fill` on reversed words.
    """
    up_bytes = np.empty(64, dtype=np.uint8)
    down_bytes = np.empty(64, dtype=np.uint8)
    up_words = up_bytes.view(np.uint64)
    down_words = down_bytes.view(np.uint64)
    out_words = out.view(np.uint64)
    following = np.uint64(last_state)
    steps = len(scores) // 64
    for back in range(steps):
        step = steps - 1 - back
        chunk = scores[step * 64 : step * 64 + 64]
        for j in range(64):
            up_bytes[j] = chunk[j] > set_above
            down_bytes[j] = chunk[j] < reset_below
        high = _reverse(
            _fill(_reverse(_pack64(up_words)), _reverse(_pack64(down_words)), following)
        )
        following = high & np.uint64(1)
        _unpack64(high, out_words[step * 8 : step * 8 + 8])


def _run_counts(states: np.ndarray) -> tuple[int, int, int, int]:
    """(ones, switches, index of the first switch, index where the last run starts; -1, -1
    without switches)."""
    ones, switches = _ones_and_switches(states)
    if not switches:
        return ones, 0, -1, -1
    first, last = _first_and_last_switch(states)
    return ones, switches, first, last


def _ups_downs(states: np.ndarray, switches: int) -> tuple[int, int]:
    """0→1 and 1→0 switches: they alternate, so the end states settle the split."""
    ups = (switches + int(states[-1]) - int(states[0])) // 2
    return ups, switches - ups


@numba.njit(cache=True, nogil=True)
def _ones_and_switches(states):
    """Count ones and neighbour changes eight bytes at a time (bytes are 0 or 1)."""
    n = len(states)
    words = states[: n // 8 * 8].view(np.uint64)
    ones = 0
    switches = 0
    previous = np.uint64(states[0])
    start = 0
    while start < len(words):
        stop = min(start + 255, len(words))  # 255 byte-wise additions cannot overflow a byte
        ones_acc = np.uint64(0)
        change_acc = np.uint64(0)
        for k in range(start, stop):
            w = words[k]
            ones_acc += w
            change_acc += w ^ ((w << np.uint64(8)) | previous)
            previous = w >> np.uint64(56)
        ones += _byte_sum(ones_acc)
        switches += _byte_sum(change_acc)
        start = stop
    for i in range(n // 8 * 8, n):
        ones += states[i]
        switches += states[i] ^ previous
        previous = np.uint64(states[i])
    return ones, switches


@numba.njit(cache=True, nogil=True, inline="always")
def _byte_sum(v):
    """Sum of the eight bytes of a word (up to 8·255, so pair them into 16-bit lanes first)."""
    lanes = (v & np.uint64(0x00FF00FF00FF00FF)) + (
        (v >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF)
    )
    return (lanes * np.uint64(0x0001000100010001)) >> np.uint64(48)


@numba.njit(cache=True, nogil=True)
def _first_and_last_switch(states):
    first = 1
    while states[first] == states[0]:
        first += 1
    last = len(states) - 1
    while states[last - 1] == states[-1]:
        last -= 1
    return first, last


def _dwell_fit(
    states: np.ndarray, n_high: int, switches: int, first: int, last: int
) -> tuple[float, float, float]:
    """Exponential dwell means and τc in samples from the complete runs (module docstring)."""
    ups, downs = _ups_downs(states, switches)
    complete_high = ups - int(states[-1] == 1)
    complete_low = downs - int(states[-1] == 0)
    if first < 0 or complete_high < 1 or complete_low < 1:
        return math.nan, math.nan, math.nan
    n = len(states)
    high_samples = n_high - (first if states[0] == 1 else 0) - (n - last if states[-1] == 1 else 0)
    low_samples = (last - first) - high_samples
    q_high = complete_high / high_samples
    q_low = complete_low / low_samples
    keep = 1.0 - q_high - q_low
    if keep <= 0:  # switching faster than the sampling resolves: plain mean runs
        return 1 / q_high, 1 / q_low, 1 / (q_high + q_low)
    tau_c = -1.0 / math.log(keep)
    return tau_c * (q_high + q_low) / q_high, tau_c * (q_high + q_low) / q_low, tau_c


_PACK = np.uint64(0x0102040810204080)  # 8 bytes of 0/1 in a word → 8 bits: (w·_PACK) >> 56
_BYTES = np.uint64(0x0101010101010101)
_SELECT = np.uint64(0x8040201008040201)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)


@numba.njit(cache=True, nogil=True, inline="always")
def _popcount(v):
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (v * _BYTES) >> np.uint64(56)


@numba.njit(cache=True, nogil=True, inline="always")
def _pack64(words):
    """Pack 64 bytes of 0/1 (seen as 8 words) into the 64 bits of one word."""
    packed = np.uint64(0)
    for k in range(8):
        packed |= ((words[k] * _PACK) >> np.uint64(56)) << np.uint64(8 * k)
    return packed


@numba.njit(cache=True, nogil=True, inline="always")
def _unpack64(bits, out_words):
    """Spread the 64 bits of `bits` into 64 bytes of 0/1 (8 words)."""
    for k in range(8):
        spread = ((bits >> np.uint64(8 * k)) & np.uint64(0xFF)) * _BYTES
        out_words[k] = (((spread & _SELECT) + _LOW7) >> np.uint64(7)) & _BYTES


@numba.njit(cache=True, nogil=True, inline="always")
def _fill(up, down, previous):
    """Hysteresis on 64 flags at once: bit j is 1 if the last set (up) bit at or below j comes
    after the last reset (down) bit, and `previous` if neither occurs.

    A run of non-reset bits that contains a set bit is 1 from that bit on: with A = ~down,
    ((A + seeds) ^ A) & A carries each seed up its run; `previous` enters as a seed at bit 0.
    """
    keep = ~down
    seeds = up | (previous & keep & np.uint64(1))
    return (((keep + seeds) ^ keep) & keep) | seeds


@numba.njit(cache=True, nogil=True, inline="always")
def _reverse(v):
    """Reverse the bit order of a 64-bit word."""
    for shift, mask in (
        (1, 0x5555555555555555),
        (2, 0x3333333333333333),
        (4, 0x0F0F0F0F0F0F0F0F),
        (8, 0x00FF00FF00FF00FF),
        (16, 0x0000FFFF0000FFFF),
    ):
        s, m = np.uint64(shift), np.uint64(mask)
        v = ((v >> s) & m) | ((v & m) << s)
    return (v >> np.uint64(32)) | (v << np.uint64(32))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _hysteresis(x, out, baseline, offset, state, params):
    """Classify `x` (a multiple of 64 long) into `out`, 64 samples per step.

    Per step: flag the samples above the upper threshold (up), below the lower one (down) and
    inside the spike band as bit masks, fill the states with `_fill`, then move the baseline
    `alpha` of the way toward the mean residual of the in-band samples. `baseline[step]` gets
    the baseline each step used. Returns the final (baseline, state).
    """
    gap, t_low, t_high = params[0], params[1], params[2]
    band_low, band_high, alpha = params[3], params[4], params[5]
    previous = np.uint64(state)
    up_bytes = np.empty(64, dtype=np.uint8)
    down_bytes = np.empty(64, dtype=np.uint8)
    valid_bytes = np.empty(64, dtype=np.uint8)
    up_words = up_bytes.view(np.uint64)
    down_words = down_bytes.view(np.uint64)
    valid_words = valid_bytes.view(np.uint64)
    out_words = out.view(np.uint64)
    for step in range(len(x) // 64):
        base = step * 64
        baseline[step] = offset
        lo = np.float32(offset + t_low)
        hi = np.float32(offset + t_high)
        band_lo = np.float32(offset + band_low)
        band_hi = np.float32(offset + band_high)
        total = np.float32(0.0)
        for j in range(64):
            v = np.float32(x[base + j])
            inside = (v >= band_lo) & (v <= band_hi)
            up_bytes[j] = (v > hi) & inside
            down_bytes[j] = (v < lo) & inside
            valid_bytes[j] = inside
            total += v if inside else np.float32(0.0)
        high = _fill(_pack64(up_words), _pack64(down_words), previous)
        _unpack64(high, out_words[step * 8 : step * 8 + 8])
        previous = high >> np.uint64(63)
        valid = _pack64(valid_words)
        n_inside = _popcount(valid)
        if n_inside:
            n_high = _popcount(high & valid)
            residual = (
                total - np.float32(n_inside) * offset - gap * np.float32(n_high)
            ) / np.float32(n_inside)
            offset = np.float32(offset + alpha * residual)
    return offset, int(previous)
