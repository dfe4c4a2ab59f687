"""The clock every service reads "now" from.

Production: the system clock. Test clock mode (TEST_CLOCK_URL, refused in
production): a frozen time kept in one small PostgreSQL table that every service
reads, moved only by the scheduler's test-clock API; moving it NOTIFYs
``test_clock`` so the scheduler wakes at once. Like Stripe's test clocks, time
does not flow by itself: tests and the demo advance it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS test_clock (
    id         integer PRIMARY KEY CHECK (id = 1),
    now_at     timestamptz NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """For unit tests: a clock you set and move by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


class DbTestClock:
    """Reads the shared test clock (one row) on every call: all services agree on "now"."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True)
        return self._conn

    def now(self) -> datetime:
        try:
            row = self._connection().execute("SELECT now_at FROM test_clock WHERE id = 1").fetchone()
        except psycopg.OperationalError:
            self._conn = None
            row = self._connection().execute("SELECT now_at FROM test_clock WHERE id = 1").fetchone()
        if row is None:
            raise RuntimeError("the test clock is not initialised (POST /api/v1/test-clock on scheduler-service)")
        return row[0].astimezone(UTC)


def init_test_clock(dsn: str, at: datetime | None = None) -> datetime:
    """Create the clock table; set the time if given or if it was never set."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        if at is not None:
            conn.execute(
                "INSERT INTO test_clock (id, now_at) VALUES (1, %s) ON CONFLICT (id) DO UPDATE "
                "SET now_at = EXCLUDED.now_at, version = test_clock.version + 1, updated_at = clock_timestamp()",
                [at],
            )
            conn.execute("SELECT pg_notify('test_clock', '')")
        else:
            conn.execute("INSERT INTO test_clock (id, now_at) VALUES (1, now()) ON CONFLICT DO NOTHING")
        row = conn.execute("SELECT now_at FROM test_clock WHERE id = 1").fetchone()
        return row[0].astimezone(UTC)  # type: ignore[index]


def make_clock(test_clock_url: str | None) -> Clock:
    return DbTestClock(test_clock_url) if test_clock_url else SystemClock()


def main() -> None:
    """``python -m servicekit.clock``: create the shared test clock in TEST_CLOCK_URL's database if it is not
    there (the dev overlay's init Job and `devstack`), print its time."""
    import os

    print(init_test_clock(os.environ["TEST_CLOCK_URL"]).isoformat())


if __name__ == "__main__":
    main()
