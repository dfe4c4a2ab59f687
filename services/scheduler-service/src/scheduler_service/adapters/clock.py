"""The platform clock as the scheduler uses it: read "now", measure wall-clock lag, move the test clock.

System mode: "now" is the system clock and a boundary's lag is simply now - boundary.
Test clock mode (TEST_CLOCK_URL): "now" is the shared frozen time (servicekit.clock); it moves only when
this service's test-clock API moves it, which NOTIFYs ``test_clock``. The lag of a boundary is then the
platform time it was late by plus the wall seconds since the clock was moved past it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from servicekit.clock import Clock, DbTestClock, SystemClock, init_test_clock

_ADVANCE_LOCK = zlib.crc32(b"scheduler:test-clock-advance")


@dataclass(frozen=True)
class ClockState:
    now: datetime
    version: int
    moved_at: datetime  # wall clock when it was last moved


class TestClockStore:
    """The one row of the shared test clock: read, set (with NOTIFY), and an exclusive lock for advances."""

    __test__ = False  # not a pytest class

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)

    def state(self) -> ClockState | None:
        """The clock, or None while it has never been set."""
        with self._connect() as conn:
            try:
                row = conn.execute("SELECT now_at, version, updated_at FROM test_clock WHERE id = 1").fetchone()
            except psycopg.errors.UndefinedTable:
                return None
        return ClockState(row[0].astimezone(UTC), row[1], row[2].astimezone(UTC)) if row else None

    def set(self, at: datetime) -> ClockState:
        """Freeze the clock at ``at`` (every service reads it) and wake the tickers."""
        init_test_clock(self.dsn, at.astimezone(UTC))
        state = self.state()
        assert state is not None
        return state

    def lag_seconds(self, boundary_at: datetime) -> float:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM now_at - %s) + extract(epoch FROM clock_timestamp() - updated_at) "
                "FROM test_clock WHERE id = 1", [boundary_at]).fetchone()
        return max(0.0, float(row[0])) if row else 0.0

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One advance at a time, across every API replica."""
        with self._connect() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [_ADVANCE_LOCK])
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [_ADVANCE_LOCK])


class PlatformClock:
    """``now()`` for every decision, ``lag_seconds(at)`` for the lag metric; ``store`` in test clock mode."""

    def __init__(self, test_clock_url: str | None) -> None:
        self.store = TestClockStore(test_clock_url) if test_clock_url else None
        self._clock: Clock = DbTestClock(test_clock_url) if test_clock_url else SystemClock()

    @property
    def test_mode(self) -> bool:
        return self.store is not None

    def now(self) -> datetime:
        return self._clock.now()

    def lag_seconds(self, boundary_at: datetime) -> float:
        if self.store is not None:
            return self.store.lag_seconds(boundary_at)
        return max(0.0, (datetime.now(UTC) - boundary_at).total_seconds())
