"""The digitizer against synthetic traces with ground truth (issue 4, "Done when" 1).

Every case is made by the project's synthesizer (smtjlab.mocks.smtj), so the true state of
every sample is known. A case passes when

- at most 1 % of the samples get the wrong state,
- |p_high − true occupancy| ≤ 0.02,
- both fitted mean dwells are within 10 % of the same fit on the true states.

The tests (tests/acquisition/test_validation.py) run every case of `CASES`; the table in
docs/acquisition.md is this module's output, regenerated with

    python -m smtjlab.validation --write docs/acquisition.md

`BELOW_SPEC` cases (SNR under 5) show how the digitizer degrades; they are reported, not
required to pass.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smtjlab.acquisition.digitize import digitize, fit_dwells
from smtjlab.mocks.smtj import ReadoutNoise, adc_codes, readout, telegraph_states
from smtjlab.outputs import OutputFile

SAMPLE_RATE = 10e6
LOW_V, HIGH_V = 0.10, 0.15  # the default device's divider levels at V50 = 0.30 V
ADC_FULL_SCALE = (0.0, 0.25)  # 8 bits over 0.25 V: the 50 mV gap spans 51 codes
SHORT_DWELL, LONG_DWELL = 10.0, 500.0  # samples
DWELL_PAIRS = 1200  # dwells of each state per trace, so a mean is good to ~3 %
SPIKE_EVERY = 5000  # samples between spikes, on average
SPIKE_HEIGHT = 3.0  # gaps
PINK_SHARE = 0.5  # of the total noise σ, when a case has 1/f noise

MAX_STATE_ERROR = 0.01
MAX_P_ERROR = 0.02
MAX_DWELL_ERROR = 0.10


@dataclass(frozen=True)
class Case:
    """One synthetic trace. `snr` is the level gap over the total noise σ (white and 1/f
    added in quadrature); `dwell` "short" puts the shorter mean dwell at 10 samples, "long"
    the longer one at 500."""

    snr: float
    p: float
    dwell: str
    drift: float = 0.0  # peak baseline drift / gap
    pink: bool = False
    spikes: bool = False
    codes: bool = False
    seed: int = 0

    @property
    def tau_high(self) -> float:
        return self._taus()[0]

    @property
    def tau_low(self) -> float:
        return self._taus()[1]

    @property
    def name(self) -> str:
        extras = [
            f"drift {self.drift:g}" if self.drift else "",
            "1/f" if self.pink else "",
            "spikes" if self.spikes else "",
            "int8" if self.codes else "",
        ]
        extra = " + ".join(e for e in extras if e)
        return f"SNR {self.snr:g}, p {self.p:g}, {self.dwell}" + (f", {extra}" if extra else "")

    def _taus(self) -> tuple[float, float]:
        # τ_high/τ_low = p/(1−p); pin the shorter (short) or the longer (long) one.
        ratio = self.p / (1 - self.p)
        if (self.dwell == "short") == (ratio >= 1):
            low = SHORT_DWELL if self.dwell == "short" else LONG_DWELL
            return low * ratio, low
        high = SHORT_DWELL if self.dwell == "short" else LONG_DWELL
        return high, high / ratio


def _cases() -> list[Case]:
    grid = [
        Case(snr, p, dwell)
        for snr in (5.0, 10.0, 20.0)
        for p in (0.1, 0.5, 0.9)
        for dwell in ("short", "long")
    ]
    impairments = [
        {"drift": 0.5},
        {"spikes": True},
        {"pink": True},
        {"codes": True},
        {"drift": 0.5, "pink": True, "spikes": True, "codes": True},
    ]
    impaired = [
        Case(5.0, p, dwell, **extra)
        for extra in impairments
        for p in (0.1, 0.5, 0.9)
        for dwell in ("short", "long")
    ]
    return [
        Case(c.snr, c.p, c.dwell, c.drift, c.pink, c.spikes, c.codes, seed)
        for seed, c in enumerate(grid + impaired)
    ]


CASES = _cases()
BELOW_SPEC = [Case(snr, 0.5, "short", seed=100 + i) for i, snr in enumerate((4.0, 3.0, 2.0))] + [
    Case(3.0, 0.5, "long", seed=110)
]


def synthesize(case: Case) -> tuple[np.ndarray, np.ndarray, dict]:
    """(samples, true states, digitize keyword arguments) for a case. Synthetic data."""
    rng = np.random.default_rng(case.seed)
    n = int(max(200_000, DWELL_PAIRS * (case.tau_high + case.tau_low)))
    states = telegraph_states(rng, n, case.tau_high, case.tau_low)
    gap = HIGH_V - LOW_V
    pink_sigma = PINK_SHARE / case.snr if case.pink else 0.0  # in gaps
    white_sigma = math.sqrt(1 / case.snr**2 - pink_sigma**2)
    noise = ReadoutNoise(
        snr=1 / white_sigma,
        pink_fraction=pink_sigma,
        drift_fraction=case.drift,
        drift_period_s=n / SAMPLE_RATE / 2,
        spike_rate_hz=SAMPLE_RATE / SPIKE_EVERY if case.spikes else 0.0,
        spike_height=SPIKE_HEIGHT,
    )
    volts = readout(rng, states, LOW_V, LOW_V + gap, noise, SAMPLE_RATE)
    if not case.codes:
        return volts, states, {}
    codes, per_code, offset = adc_codes(volts, 8, ADC_FULL_SCALE)
    return codes, states, {"volts_per_code": per_code, "offset_volts": offset}


def run_case(case: Case) -> dict:
    """Digitize one case and score it against its ground truth."""
    samples, truth, scale = synthesize(case)
    started = time.perf_counter()
    result = digitize(samples, SAMPLE_RATE, name=case.name, **scale)
    seconds = time.perf_counter() - started
    true_high, true_low, _ = fit_dwells(truth)
    fit_high = result.dwell_high_s * SAMPLE_RATE
    fit_low = result.dwell_low_s * SAMPLE_RATE
    row = {
        "case": case.name,
        "samples": len(samples),
        "state_error": float(np.mean(result.states != truth)),
        "p_true": float(truth.mean()),
        "p_high": result.p_high,
        "dwell_high_true": true_high,
        "dwell_high": fit_high,
        "dwell_low_true": true_low,
        "dwell_low": fit_low,
        "dwell_error": max(abs(fit_high / true_high - 1), abs(fit_low / true_low - 1)),
        "tau_model": (case.tau_high, case.tau_low),
        "snr_measured": result.snr,
        "seconds": seconds,
    }
    row["passed"] = (
        row["state_error"] <= MAX_STATE_ERROR
        and abs(row["p_high"] - row["p_true"]) <= MAX_P_ERROR
        and row["dwell_error"] <= MAX_DWELL_ERROR
    )
    return row


def markdown_table(rows: list[dict]) -> str:
    header = (
        "| case | samples | state error | p true | p measured | τ_high true → fit | "
        "τ_low true → fit | model τ_high/τ_low | pass |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |\n"
    )
    lines = [
        f"| {r['case']} | {r['samples']:,} | {100 * r['state_error']:.3f} % | "
        f"{r['p_true']:.4f} | {r['p_high']:.4f} | "
        f"{r['dwell_high_true']:.1f} → {r['dwell_high']:.1f} | "
        f"{r['dwell_low_true']:.1f} → {r['dwell_low']:.1f} | "
        f"{r['tau_model'][0]:.1f}/{r['tau_model'][1]:.1f} | {'yes' if r['passed'] else 'no'} |"
        for r in rows
    ]
    return header + "\n".join(lines) + "\n"


TABLE_BEGIN = "<!-- digitize-table:begin -->"
TABLE_END = "<!-- digitize-table:end -->"


def report() -> str:
    """Both tables (required cases, then below-spec cases) as markdown."""
    rows = [run_case(case) for case in CASES]
    below = [run_case(case) for case in BELOW_SPEC]
    passed = sum(r["passed"] for r in rows)
    return (
        f"{passed} of {len(rows)} required cases pass "
        f"(dwells in samples; generated by `python -m smtjlab.validation`).\n\n"
        + markdown_table(rows)
        + "\nBelow the specified SNR (reported, not required):\n\n"
        + markdown_table(below)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="replace the table between the markers here")
    args = parser.parse_args(argv)
    text = report()
    if args.write is None:
        print(text)
        return 0
    document = args.write.read_text()
    pattern = re.compile(re.escape(TABLE_BEGIN) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(document):
        parser.error(f"{args.write} has no {TABLE_BEGIN} … {TABLE_END} markers")
    replacement = f"{TABLE_BEGIN}\n{text}{TABLE_END}"
    with OutputFile(args.write, force=True).writing() as temp:  # the document is replaced whole
        temp.write_text(pattern.sub(lambda _: replacement, document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
