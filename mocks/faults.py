"""Fault injection for the mock instruments, one `FaultInjector` per instrument.

A fault fires on the next eligible call(s) (`inject`) or at random with a seeded rate
(`set_rate`). The mock VISA library asks at these points:

- `timeout` (a response is about to be read): nothing arrives; VI_ERROR_TMO after the timeout.
- `disconnect` (any write or read): VI_ERROR_CONN_LOST now and on every later call, until the
  resource is opened again.
- `garbled` (a response is about to be read): its first bytes are corrupted, as by line noise.
- `short_block` (a binary block is about to be read): the block loses half its data bytes.
- `scpi_error` (a command is written): the instrument refuses it and queues -200.
"""

from __future__ import annotations

import numpy as np

FAULTS = ("timeout", "disconnect", "garbled", "short_block", "scpi_error")


class FaultInjector:
    """Armed and random faults for one mock instrument; `fired` counts what was injected."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self._armed = dict.fromkeys(FAULTS, 0)
        self._rates = dict.fromkeys(FAULTS, 0.0)
        self.fired = dict.fromkeys(FAULTS, 0)

    def inject(self, fault: str, times: int = 1) -> None:
        """Fire `fault` on the next `times` calls where it can happen."""
        self._check(fault)
        self._armed[fault] += times

    def set_rate(self, fault: str, rate: float) -> None:
        """Fire `fault` with probability `rate` on every call where it can happen."""
        self._check(fault)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("a fault rate is a probability in [0, 1]")
        self._rates[fault] = rate

    def clear(self) -> None:
        """Disarm everything and stop random faults."""
        self._armed = dict.fromkeys(FAULTS, 0)
        self._rates = dict.fromkeys(FAULTS, 0.0)

    def draw(self, fault: str) -> bool:
        """Whether `fault` fires now; consumes one armed shot."""
        if self._armed[fault]:
            self._armed[fault] -= 1
        elif not (self._rates[fault] and self._rng.random() < self._rates[fault]):
            return False
        self.fired[fault] += 1
        return True

    @staticmethod
    def _check(fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")


def garble(message: bytes) -> bytes:
    """Corrupt the first bytes of a response, keeping its terminator, as line noise would."""
    body, end = (message[:-1], message[-1:]) if message.endswith(b"\n") else (message, b"")
    head = bytes(byte ^ 0xA5 for byte in body[:16])
    return head + body[16:] + end


def shorten_block(message: bytes) -> bytes:
    """Drop half the data bytes of an IEEE 488.2 definite-length block (header unchanged)."""
    digits = int(message[1:2])
    start = 2 + digits
    length = int(message[2:start])
    return message[: start + length // 2] + message[start + length :]
