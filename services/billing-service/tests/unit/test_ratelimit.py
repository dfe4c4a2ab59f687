"""The client-side Stripe rate limiter and the resend backoff, driven by a fake clock (no waiting, no I/O)."""

import itertools
import threading

import pytest

from billing_service.adapters.ratelimit import RateLimiter, backoff_delay


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def sends(limiter: RateLimiter, t: FakeTime, n: int) -> list[float]:
    """Send n requests one after the other; the times they leave at."""
    times = []
    for _ in range(n):
        wait = limiter.reserve()
        times.append(t.now + wait)
        t.now = max(t.now, t.now + wait)
    return times


def test_requests_leave_at_exactly_the_configured_rate():
    t = FakeTime()
    limiter = RateLimiter(25, clock=t.clock, sleep=t.sleep)
    times = sends(limiter, t, 2000)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved == pytest.approx(25, rel=1e-9)
    assert min(b - a for a, b in itertools.pairwise(times)) == pytest.approx(1 / 25)


def test_an_idle_limiter_does_not_save_up_a_burst():
    t = FakeTime()
    limiter = RateLimiter(10, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    t.now += 60  # a long quiet minute
    times = sends(limiter, t, 5)
    assert [round(b - a, 9) for a, b in itertools.pairwise(times)] == [0.1] * 4


def test_a_burst_allows_that_many_at_once_then_the_rate():
    t = FakeTime()
    limiter = RateLimiter(10, burst=3, clock=t.clock, sleep=t.sleep)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(0.1) and waits[4] == pytest.approx(0.2)


def test_slots_are_shared_by_concurrent_senders():
    t = FakeTime()
    limiter = RateLimiter(20, clock=t.clock, sleep=t.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(50):
            w = limiter.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # the clock never moved: 400 reservations are 400 distinct slots 1/20 s apart
    assert sorted(round(w, 6) for w in waits) == [round(i / 20, 6) for i in range(400)]


def test_a_429_holds_every_sender_back():
    t = FakeTime()
    limiter = RateLimiter(25, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    limiter.hold_off(2.0)
    assert limiter.reserve() == pytest.approx(2.0)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_delay(0, rand=lambda: 0.0) == 0.25 and backoff_delay(0, rand=lambda: 1.0) == 0.5
    assert backoff_delay(2, rand=lambda: 0.0) == 1.0 and backoff_delay(2, rand=lambda: 1.0) == 2.0
    assert backoff_delay(10, rand=lambda: 1.0) == 8.0
    assert backoff_delay(10, rand=lambda: 0.0) == 4.0


def test_a_non_positive_rate_is_refused():
    with pytest.raises(ValueError):
        RateLimiter(0)
