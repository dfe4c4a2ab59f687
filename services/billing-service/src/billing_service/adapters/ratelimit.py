"""Client-side pacing of Stripe requests, and the pause before resending one. The logic is pure: the clock and
the sleep are injected, so a unit test drives them without waiting.

Stripe allows 100 requests/s live and 25/s in test mode; going over earns 429s. The limiter spaces requests
``1/rate`` apart (GCRA: a theoretical arrival time moved on by one interval per request), shared by every
thread of the process, with an optional burst. A 429 pushes every sender back (``hold_off``), so a storm
of 429s cannot build up.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.tolerance = (max(1, burst) - 1) * self.interval
        self.clock = clock
        self.sleep = sleep
        self._tat: float | None = None  # when the next request may go, burst aside
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait before using it (0 = now)."""
        with self._lock:
            now = self.clock()
            tat = now if self._tat is None else max(self._tat, now)
            self._tat = tat + self.interval
            return max(0.0, tat - self.tolerance - now)

    def acquire(self) -> float:
        """Block until this caller may send one request. Returns the time waited."""
        wait = self.reserve()
        if wait > 0:
            self.sleep(wait)
        return wait

    def hold_off(self, seconds: float) -> None:
        """Nobody sends before ``seconds`` from now (Stripe answered 429)."""
        with self._lock:
            until = self.clock() + seconds
            self._tat = until if self._tat is None else max(self._tat, until)


def backoff_delay(retry: int, *, base: float = 0.5, cap: float = 8.0,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds before resend number ``retry`` (0, 1, 2...): exponential, capped, with "equal jitter" so that
    concurrent senders spread out while each still waits at least half of the step."""
    step = min(cap, base * (2 ** retry))
    return step / 2 + rand() * step / 2
