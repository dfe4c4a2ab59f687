"""Emitting order-cycle boundaries: claim, decide, store, one transaction per boundary.

At a cycle's open, ONE transaction stores an OrderDue (reason cycle_opened) per due subscription (or, when
the open is processed after the cycle closed and the shop places nothing late, an OrderDueMissed), then
OrderCycleOpened{due_count, missed_count}; at its close OrderCycleClosed; in between, when the shop asks for a
cut-off reminder, OrderCycleClosingSoon that many hours before the close. The transaction also writes the
boundary's row (``shared_events.recording.record_new``: the same projector a replay of scheduler.events uses)
and an operations row. Exactly once comes from two unique keys written in that transaction: the outbox's
(topic, aggregate_id, aggregate_version) and cycle_boundaries' (order_cycle_id, kind). A crash before the commit
leaves nothing; after it, the boundary is no longer pending.

Claims and replicas: boundaries are claimed per shop with a transaction-scoped PostgreSQL advisory lock
(``repository.try_lock_shop``), so replicas work on different shops at once, a shop's boundaries are
emitted one at a time in time order, and a replica that dies mid-boundary releases its claim with its
connection. No leader, no home-made consensus: the locks, the unique keys and PostgreSQL's transactions are
the whole protocol.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import psycopg

from scheduler_service import SERVICE_NAME
from scheduler_service.adapters import metrics, projections, repository
from scheduler_service.domain import events
from scheduler_service.domain.model import CLOSE, OPEN, OPEN_PROCESSED_AFTER_CLOSE, REMINDER, Boundary
from scheduler_service.domain.planning import plan_open
from scheduler_service.domain.rules import lateness_seconds
from servicekit.config import env_int
from shared_events import Envelope, decode, outbox, recording, tracing
from shared_events.contracts.scheduler import closing_soon_id
from shared_events.decided import Decided, keyed_envelopes

log = logging.getLogger("scheduler_service.boundaries")

TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)  # incl. deadlocks and serialization failures

NOTHING_DUE = "nothing_due"
CONTENDED = "contended"  # due boundaries exist but other replicas hold their shops
RETRY = "retry"  # the claimed shop's boundary was emitted meanwhile: look again

BeforeCommit = Callable[[Boundary], None]


def stamp(decided: list[Decided], now: datetime, correlation_id: str | None = None,
          causation_id: str | None = None) -> list[Envelope]:
    """The scheduler's decided events as envelopes, each under its own exactly-once key (``events.key``)."""
    return keyed_envelopes(decided, events.key, producer=SERVICE_NAME, occurred_at=now,
                           correlation_id=correlation_id, causation_id=causation_id)


class Clock(Protocol):
    def now(self) -> datetime: ...
    def lag_seconds(self, boundary_at: datetime) -> float: ...


@dataclass(frozen=True)
class Emitted:
    """One boundary emitted (and committed)."""

    boundary: Boundary
    emitted_at: datetime
    lateness_seconds: float
    due_count: int | None  # None for a close
    not_due: int
    missed_count: int  # OrderDueMissed emitted: due, but the open was processed after the close (while_open)
    lag_seconds: float


@dataclass
class RunResult:
    emitted: list[Emitted] = field(default_factory=list)
    contended: bool = False
    failed: dict[str, str] = field(default_factory=dict)  # shop -> error of a boundary that could not be emitted


def claim_next(conn: psycopg.Connection, now: datetime, *, wait: bool,
               skip_shops: Collection[str] = ()) -> Boundary | str:
    """Claim the shop of the earliest due boundary (skipping shops other replicas hold unless ``wait``, and
    ``skip_shops``) and return that shop's earliest due boundary, read after the claim."""
    due = [b for b in repository.pending_boundaries(conn, until=now, limit=200) if b.shop_id not in skip_shops]
    if not due:
        return NOTHING_DUE
    tried: set[str] = set()
    for candidate in due:
        if candidate.shop_id in tried:
            continue
        tried.add(candidate.shop_id)
        if wait:
            repository.lock_shop(conn, candidate.shop_id)
        elif not repository.try_lock_shop(conn, candidate.shop_id):
            continue
        mine = repository.pending_boundaries(conn, until=now, shop_id=candidate.shop_id, limit=1)
        return mine[0] if mine else RETRY
    return CONTENDED


# an open reads, plans and stores its dues this many subscriptions at a time, so memory stays flat however
# large the cycle (all at once, memory grew with the cycle: bench's `memory` row)
OPEN_SLICE = env_int("SCHEDULER_OPEN_SLICE", 5000)


def _already_stored(conn: psycopg.Connection, boundary: Boundary) -> Envelope | None:
    aggregate_id, version = {
        OPEN: (boundary.order_cycle_id, events.OPENED_VERSION),
        CLOSE: (boundary.order_cycle_id, events.CLOSED_VERSION),
        REMINDER: (closing_soon_id(boundary.order_cycle_id), events.CLOSING_SOON_VERSION)}[boundary.kind]
    row = conn.execute("SELECT body FROM event_store WHERE topic = 'scheduler.events' AND aggregate_id = %s "
                       "AND aggregate_version = %s", [aggregate_id, version]).fetchone()
    return decode(bytes(row[0])) if row else None


def _subscription(env: Envelope) -> str:
    return str(env.payload["subscription_id"])


def emit_boundary(conn: psycopg.Connection, boundary: Boundary, now: datetime, *, worker: str, clock: Clock,
                  before_commit: BeforeCommit | None = None) -> Emitted | None:
    """Store the boundary's events in the caller's transaction (the caller holds the shop's claim); a span of its
    own when tracing is on, linked from each OrderDue's (which continues its subscription's trace)."""
    with tracing.span(f"{boundary.kind} order cycle", {"order_cycle_id": boundary.order_cycle_id}):
        return _emit_boundary(conn, boundary, now, worker=worker, clock=clock, before_commit=before_commit)


def _emit_boundary(conn: psycopg.Connection, boundary: Boundary, now: datetime, *, worker: str, clock: Clock,
                   before_commit: BeforeCommit | None = None) -> Emitted | None:
    stored = _already_stored(conn, boundary)
    if stored is not None:  # its projection row was lost (e.g. a rebuild ran before the relay): restore it
        projections.apply(conn, stored)
        return None
    cycle = repository.cycle(conn, boundary.order_cycle_id)
    assert cycle is not None, "a pending boundary always has its cycle"
    started_at = datetime.now(UTC)
    correlation_id = str(uuid.uuid4())
    not_due = missed_count = 0
    due_count: int | None = None
    if boundary.kind == OPEN:
        due_count = 0
        shops = repository.shops(conn, {cycle.shop_id})
        for candidates in repository.open_candidates(conn, cycle.order_cycle_id, OPEN_SLICE):
            if unknown := {c.subscription.shop_id for c in candidates} - shops.keys():
                shops.update(repository.shops(conn, unknown))
            plan = plan_open(cycle, boundary.fire_at, candidates, shops, now)
            dues = stamp([events.order_due(d, now) for d in plan.dues], now, correlation_id)
            with tracing.continuing(conn, dues, _subscription):  # each due continues its subscription's trace
                due_count += len(outbox.append_new(conn, dues))
            missed_count += len(outbox.append_new(
                conn, stamp([events.order_due_missed(m, now) for m in plan.missed], now, correlation_id)))
            not_due += plan.not_due
        decided = events.cycle_opened(cycle, boundary.fire_at, now, due_count, missed_count=missed_count)
    elif boundary.kind == REMINDER:
        hours = repository.reminder_hours(conn, cycle.shop_id)
        assert hours is not None, "a pending reminder always has its shop's setting"
        decided = events.cycle_closing_soon(cycle, boundary.fire_at, now, hours)
    else:
        decided = events.cycle_closed(cycle, boundary.fire_at, now)
    [envelope] = stamp([decided], now, correlation_id)
    if not recording.record_new(conn, [envelope], projections.apply):
        raise RuntimeError(f"{envelope.event_type} of {cycle.order_cycle_id} appeared while this replica held "
                           "the shop's claim")
    lag = clock.lag_seconds(boundary.fire_at)
    repository.record_run(conn, boundary, worker=worker, lag_seconds=lag, not_due=not_due,
                          late_skipped=missed_count, started_at=started_at)
    if before_commit is not None:
        before_commit(boundary)  # fault injection: everything is computed and written, nothing committed
    return Emitted(boundary, now, lateness_seconds(now, boundary.fire_at), due_count, not_due, missed_count, lag)


def _observe(emitted: Emitted) -> None:
    kind = emitted.boundary.kind
    metrics.BOUNDARY_LAG.labels(kind).observe(emitted.lag_seconds)
    metrics.BOUNDARIES.labels(kind, str(emitted.lag_seconds < 1.0).lower()).inc()
    if emitted.due_count:
        metrics.ORDER_DUE.labels("cycle_opened", "false").inc(emitted.due_count)
    if emitted.missed_count:
        metrics.ORDER_DUE_MISSED.labels(OPEN_PROCESSED_AFTER_CLOSE).inc(emitted.missed_count)


@dataclass
class PauseEndRun:
    status: str  # "emitted", "retry", NOTHING_DUE or CONTENDED
    shop_id: str | None = None  # the shop whose pause end this run looked at last


def emit_pause_end(conn: psycopg.Connection, now: datetime, *, wait: bool, skip_shops: Collection[str] = (),
                   run: PauseEndRun | None = None) -> PauseEndRun:
    """Emit the earliest pause end due at ``now`` whose shop has no boundary due before it (time order: a cycle
    that opened while the subscription was paused does not count it; one opening at or after its end does), under
    its shop's claim, in the caller's transaction. ``run`` (filled in as it goes) tells the caller which shop a
    failure was about."""
    run = run or PauseEndRun(NOTHING_DUE)
    contended = False
    for end in repository.pending_pause_ends(conn, until=now, limit=50):
        if end.shop_id in skip_shops:
            continue
        run.shop_id = end.shop_id
        if repository.boundary_due_before(conn, end.shop_id, end.resumes_at):
            continue  # that shop's earlier boundaries go first
        if wait:
            repository.lock_shop(conn, end.shop_id)
        elif not repository.try_lock_shop(conn, end.shop_id):
            contended = True
            continue
        mine = repository.pending_pause_ends(conn, until=now, subscription_id=end.subscription_id, limit=1)
        if not mine:
            run.status = "retry"
            return run
        # a second copy (another replica) is refused by the outbox's key
        recording.record_new(conn, stamp([events.pause_ended(mine[0], now)], now), projections.apply)
        metrics.PAUSE_ENDS.inc()
        run.status = "emitted"
        return run
    run.status = CONTENDED if contended else NOTHING_DUE
    return run


def run_due(conn: psycopg.Connection, clock: Clock, *, worker: str, wait: bool = False,
            before_commit: BeforeCommit | None = None, skip_shops: Collection[str] = ()) -> RunResult:
    """Emit every boundary due at the clock's "now", earliest first, each in its own transaction.

    ``conn`` is an autocommit connection. ``wait=False`` (the ticker) skips shops that another replica is
    working on and reports ``contended``; ``wait=True`` (a test-clock advance) waits for them, so that when
    it returns every boundary due at "now" is in the outbox. A boundary that fails (a bug, bad data) is
    rolled back and its shop left alone for the rest of the run (``failed``): one shop cannot stop time for
    the others, and that shop's later boundaries wait so its events stay in order. Losing PostgreSQL raises.
    """
    result = RunResult()
    skipped = set(skip_shops)
    while True:
        now = clock.now()
        pause_run = PauseEndRun(NOTHING_DUE)
        try:
            with conn.transaction():
                emit_pause_end(conn, now, wait=wait, skip_shops=skipped, run=pause_run)
        except TRANSIENT:
            raise
        except Exception as exc:  # like a failed boundary: its shop waits, the others go on
            if pause_run.shop_id is None:
                raise
            log.exception("pause end failed; its shop waits", extra={"shop_id": pause_run.shop_id})
            metrics.FAILURES.inc()
            result.failed[pause_run.shop_id] = f"pause end: {type(exc).__name__}: {exc}"
            skipped.add(pause_run.shop_id)
            continue
        if pause_run.status in ("emitted", "retry"):
            continue
        if pause_run.status == CONTENDED:
            result.contended = True
        emitted = None
        claimed: Boundary | str = NOTHING_DUE
        try:
            with conn.transaction():
                claimed = claim_next(conn, now, wait=wait, skip_shops=skipped)
                if claimed == NOTHING_DUE:
                    break
                if claimed == CONTENDED:
                    result.contended = True
                    break
                if isinstance(claimed, Boundary):
                    emitted = emit_boundary(conn, claimed, now, worker=worker, clock=clock,
                                            before_commit=before_commit)
        except TRANSIENT:
            raise
        except Exception as exc:
            if not isinstance(claimed, Boundary):
                raise
            log.exception("boundary failed; its shop waits", extra={"order_cycle_id": claimed.order_cycle_id,
                                                                   "kind": claimed.kind, "shop_id": claimed.shop_id})
            metrics.FAILURES.inc()
            result.failed[claimed.shop_id] = f"{claimed.kind} of {claimed.order_cycle_id}: {type(exc).__name__}: {exc}"
            skipped.add(claimed.shop_id)
            continue
        if emitted is not None:
            _observe(emitted)
            result.emitted.append(emitted)
    return result


def report_pending(conn: psycopg.Connection, now: datetime, skip_shops: Collection[str] = ()) -> datetime | None:
    """Update the overdue/next-boundary gauges; return when the next boundary (or pause end) not of
    ``skip_shops`` fires."""
    pending = repository.pending_boundaries(conn, limit=1000)
    metrics.OVERDUE.set(sum(1 for b in pending if b.fire_at <= now))
    metrics.NEXT_BOUNDARY.set((pending[0].fire_at - now).total_seconds() if pending else float("inf"))
    times = [b.fire_at for b in pending if b.shop_id not in skip_shops][:1]
    times += [e.resumes_at for e in repository.pending_pause_ends(conn, limit=50) if e.shop_id not in skip_shops][:1]
    return min(times) if times else None
