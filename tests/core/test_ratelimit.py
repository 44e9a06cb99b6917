"""TokenBucket laws on a fake clock: no test waits for real time."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horizon.core.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(45, 10, clock=clock)
    assert sum(bucket.try_acquire() for _ in range(20)) == 10
    clock.now += 1 / 45
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_refund_gives_tokens_back_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(45, 10, clock=clock)
    assert sum(bucket.try_acquire() for _ in range(10)) == 10
    bucket.refund(3)
    assert sum(bucket.try_acquire() for _ in range(10)) == 3
    bucket.refund(50)
    assert bucket.tokens == 10
    with pytest.raises(ValueError, match="tokens"):
        bucket.refund(-1)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1, 0)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(1, 100),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 0.2), min_size=1, max_size=300),
    window=st.floats(0.01, 3),
)
def test_never_more_than_burst_plus_rate_times_window(
    rate: float, burst: int, gaps: list[float], window: float
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock)
    grants: list[float] = []
    for gap in gaps:
        clock.now += gap
        if bucket.try_acquire():
            grants.append(clock.now)
    # and blocking acquisitions, on the same clock
    for _ in range(len(gaps) // 3):
        delay = bucket.reserve()
        grants.append(clock.now + delay)
    grants.sort()
    j = 0
    for i, t in enumerate(grants):
        while grants[j] < t - window:
            j += 1
        assert i - j + 1 <= burst + rate * window + 1e-6


def test_saturated_caller_gets_the_full_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(45, 10, clock=clock, sleep=clock.sleep)
    n = 45 * 60
    for _ in range(n):
        bucket.acquire()
    achieved = n / clock.now
    assert achieved >= 0.97 * 45
    assert achieved <= 45 + 10 / clock.now + 1e-9


async def test_async_waiters_are_paced() -> None:
    bucket = TokenBucket(200, 2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(bucket.acquire_async() for _ in range(12)))
    # 2 free, 10 at 200/s: at least 50 ms must have passed
    assert loop.time() - start >= 10 / 200 - 0.005


def test_thread_safe_accounting() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, 1000, clock=clock)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(500):
            ok = bucket.try_acquire()
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 1000
    assert bucket.granted == 1000
