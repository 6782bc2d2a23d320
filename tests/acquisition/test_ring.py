import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smtjlab.acquisition.ring import RingBuffer, RingClosed

operations = st.lists(st.one_of(st.just("get"), st.integers(0, 10**6)), max_size=200)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 8), ops=operations)
def test_drop_oldest_keeps_the_newest_and_counts_every_drop(capacity, ops):
    ring = RingBuffer(capacity, policy="drop-oldest")
    model: list[int] = []
    dropped = 0
    for op in ops:
        if op == "get":
            if model:
                assert ring.get(timeout=0) == model.pop(0)
            else:
                with pytest.raises(TimeoutError):
                    ring.get(timeout=0)
        else:
            ring.put(op)
            model.append(op)
            if len(model) > capacity:
                model.pop(0)
                dropped += 1
        assert len(ring) == len(model)
        assert ring.dropped == dropped
        assert ring.put_count == ring.get_count + ring.dropped + len(ring)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 8), ops=operations)
def test_block_policy_is_a_lossless_fifo(capacity, ops):
    ring = RingBuffer(capacity, policy="block")
    model: list[int] = []
    for op in ops:
        if op == "get":
            if model:
                assert ring.get(timeout=0) == model.pop(0)
        elif len(model) < capacity:
            ring.put(op)
            model.append(op)
        else:
            with pytest.raises(TimeoutError):
                ring.put(op, timeout=0)
        assert len(ring) == len(model) and ring.dropped == 0


def run_threads(ring, items, consumer_delay, producer_delay):
    received = []

    def produce():
        for item in range(items):
            ring.put(item)
            time.sleep(producer_delay)
        ring.close()

    def consume():
        for item in ring:
            received.append(item)
            time.sleep(consumer_delay)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return received


def test_block_loses_nothing_under_a_producer_ten_times_faster():
    ring = RingBuffer(4, policy="block")
    received = run_threads(ring, 300, consumer_delay=1e-3, producer_delay=1e-4)
    assert received == list(range(300))
    assert ring.dropped == 0


def test_drop_oldest_counts_every_drop_under_a_fast_producer():
    ring = RingBuffer(4, policy="drop-oldest")
    received = run_threads(ring, 300, consumer_delay=1e-3, producer_delay=1e-4)
    assert ring.dropped > 0
    assert len(received) + ring.dropped == 300
    assert received == sorted(received) and received[-1] == 299  # FIFO, newest kept


def test_close_wakes_a_blocked_producer_and_consumer():
    ring = RingBuffer(1)
    ring.put("a")
    errors = []

    def blocked_put():
        try:
            ring.put("b")
        except RingClosed as error:
            errors.append(error)

    thread = threading.Thread(target=blocked_put)
    thread.start()
    time.sleep(0.05)
    ring.close()
    thread.join(timeout=5)
    assert errors and ring.get() == "a"
    with pytest.raises(RingClosed):
        ring.get()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)
    with pytest.raises(ValueError, match="policy"):
        RingBuffer(2, policy="newest")
