"""A bounded, thread-safe FIFO between acquisition threads and their consumers (DESIGN §7).

The overflow policy is explicit: "block" makes a producer wait for space (nothing is lost),
"drop-oldest" makes room by discarding the oldest item and counts it in `dropped`. Either way,
`put_count == get_count + dropped + len(ring)` at all times.

    ring = RingBuffer(8, policy="drop-oldest")
    ring.put(frame)            # acquisition thread
    for frame in ring: ...     # consumer thread; ends after close() once drained
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from smtjlab.errors import SmtjlabError

T = TypeVar("T")
POLICIES = ("block", "drop-oldest")


class RingClosed(SmtjlabError):
    """Put into a closed ring, or get from a closed and empty one."""


class RingBuffer(Generic[T]):
    """Bounded FIFO with an overflow policy and counters (module docstring)."""

    def __init__(self, capacity: int, policy: str = "block") -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        self.capacity = capacity
        self.policy = policy
        self.put_count = 0
        self.get_count = 0
        self.dropped = 0
        self._items: deque[T] = deque()
        self._closed = False
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    def put(self, item: T, timeout: float | None = None) -> None:
        """Add an item. "block" waits for space (TimeoutError after `timeout` s); "drop-oldest"
        never waits. Raises RingClosed after close()."""
        with self._lock:
            if self.policy == "block":
                self._wait(self._not_full, lambda: len(self._items) < self.capacity, timeout)
            if self._closed:
                raise RingClosed("ring buffer is closed")
            if len(self._items) == self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._not_empty.notify_all()  # a consumer, and wait_full

    def get(self, timeout: float | None = None) -> T:
        """Take the oldest item, waiting for one (TimeoutError after `timeout` s). Raises
        RingClosed once the ring is closed and drained."""
        with self._lock:
            self._wait(self._not_empty, lambda: bool(self._items), timeout)
            if not self._items:
                raise RingClosed("ring buffer is closed and empty")
            item = self._items.popleft()
            self.get_count += 1
            self._not_full.notify()
            return item

    def close(self) -> None:
        """Refuse further puts and wake every waiter; consumers still drain what is left."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()

    def wait_full(self, timeout: float | None = None) -> None:
        """Wait until the ring holds `capacity` items or is closed (TimeoutError after
        `timeout` s)."""
        with self._lock:
            self._wait(self._not_empty, lambda: len(self._items) == self.capacity, timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                yield self.get()
            except RingClosed:
                return

    def stats(self) -> dict[str, int | str]:
        with self._lock:
            return {
                "policy": self.policy,
                "capacity": self.capacity,
                "held": len(self._items),
                "put": self.put_count,
                "got": self.get_count,
                "dropped": self.dropped,
            }

    def _wait(self, condition: threading.Condition, ready, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready() and not self._closed:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"ring buffer wait timed out after {timeout} s")
            condition.wait(remaining)
