"""Fair bits read live from a bench's p = ½ level, as fast as decisions consume them.

`--bits mock` for GXNOR training: a run can need 10^8–10^9 fair bits, so rather than fill a
pool that large up front, the bench keeps recording at the calibrated p = ½ bias and every bit
it digitizes is handed out once, in order (records decimated at 2τc as in every pool). The
bench is the caller's: open it in a `with` block so the bias ends at 0 V, output off.
"""

from __future__ import annotations

import math

import numpy as np

from smtjlab.bench import Bench
from smtjlab.errors import SmtjlabError
from smtjlab.inference.decisions import FAIR_LEVEL, Debias, debiased
from smtjlab.inference.gxnor_config import DEBIAS

CHUNK_BITS = 1 << 22  # bits recorded at a time (about 90 records of the mock bench)


class LiveBenchBits:
    """The `FairBits` of a live bench: never reused, never exhausted."""

    name = "mock"

    def __init__(self, bench: Bench, debias: Debias = "none", chunk_bits: int = CHUNK_BITS) -> None:
        if debias not in DEBIAS:
            raise SmtjlabError(f"unknown debias {debias!r}; use one of {', '.join(DEBIAS)}")
        self._bench = bench
        self.debias = debias
        self.chunk_bits = chunk_bits
        self.calibration = bench.calibrate([FAIR_LEVEL])
        self.bias_v = self.calibration.level(FAIR_LEVEL).bias_v
        bench.set_bias(self.bias_v)
        self._bits = np.zeros(0, dtype=np.uint8)
        self.consumed = 0
        self.records = 0
        self.recorded = 0
        self.ones = 0

    def available(self) -> float:
        return math.inf

    def take(self, count: int) -> np.ndarray:
        if len(self._bits) < count:
            chunks = [self._bits]
            have = len(self._bits)
            while have < max(count, self.chunk_bits):
                raw = self._bench.bits(self._bench.record())
                self.records += 1
                self.recorded += len(raw)
                self.ones += int(raw.sum())
                chunk = debiased(raw, self.debias)  # within one record: no pair spans a gap
                chunks.append(chunk)
                have += len(chunk)
            self._bits = np.concatenate(chunks)
        out, self._bits = self._bits[:count], self._bits[count:]
        self.consumed += count
        return out

    def stats(self) -> dict[str, float | int]:
        """The bench's share of a run: bias, records, bits recorded and their fraction of ones."""
        return {
            "bias_v": self.bias_v,
            "records": self.records,
            "recorded_bits": self.recorded,
            "p_measured": self.ones / self.recorded if self.recorded else math.nan,
        }
