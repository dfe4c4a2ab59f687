"""The test clock (like Stripe's test clocks): freeze time, and advance it so that every boundary on the
way is emitted exactly as real time would have emitted it, in order.

Advancing steps the shared clock to each pending boundary's instant in turn and emits what is due there
(waiting for a ticker replica that is already on it), so lateness is what real time would have given;
it returns once every boundary up to the target is in the outbox. Setting the clock (``set_time``) jumps
without emitting: that is how a test simulates downtime, which the tickers then catch up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from scheduler_service.adapters import repository
from scheduler_service.adapters.clock import ClockState, PlatformClock, TestClockStore
from scheduler_service.service_layer.boundaries import run_due


class ClockError(Exception):
    """The request cannot be honoured (test clock mode off, or time would go backwards)."""


class BoundaryFailed(Exception):
    """A boundary on the way could not be emitted (the clock stays at its instant)."""


@dataclass
class AdvanceResult:
    started_at: datetime
    state: ClockState
    boundaries: list[dict[str, Any]] = field(default_factory=list)  # emitted meanwhile, by us or a ticker


def store_of(clock: PlatformClock) -> TestClockStore:
    if clock.store is None:
        raise ClockError("Test clock mode is off: set TEST_CLOCK_URL (never in production).")
    return clock.store


def set_time(clock: PlatformClock, at: datetime) -> ClockState:
    """Freeze the shared clock at ``at`` (creating it if needed). Nothing is emitted by the jump itself."""
    store = store_of(clock)
    with store.exclusive():
        return store.set(at)


def advance(clock: PlatformClock, dsn: str, to: datetime, *, worker: str, max_steps: int = 100_000) -> AdvanceResult:
    """Move the clock forward to ``to``, emitting every boundary on the way at its own instant."""
    store = store_of(clock)
    with store.exclusive():
        state = store.state()
        if state is None:
            raise ClockError("The test clock is not initialised: POST /api/v1/test-clock {\"at\": ...} first.")
        if to < state.now:
            raise ClockError(f"The test clock only moves forward: it is {state.now.isoformat()}.")
        result = AdvanceResult(state.now, state)
        current = state.now
        with psycopg.connect(dsn, autocommit=True) as conn:
            position = repository.outbox_position(conn)
            for _ in range(max_steps):
                next_at = repository.next_fire_at(conn)
                if next_at is None or next_at > to:
                    break
                if next_at > current:
                    store.set(next_at)
                    current = next_at
                run = run_due(conn, clock, worker=worker, wait=True)
                if run.failed:
                    raise BoundaryFailed("; ".join(run.failed.values()))
            else:
                raise ClockError(f"more than {max_steps} boundaries before {to.isoformat()}: advance in smaller steps")
            result.boundaries = repository.boundaries_stored_after(conn, position)
        result.state = store.set(to) if to > current else store.state() or state
        return result
