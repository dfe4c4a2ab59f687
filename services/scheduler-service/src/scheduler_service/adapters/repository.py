"""PostgreSQL reads of the scheduler's projections, and the per-shop claims.

Claims: every writer that decides dues takes the shop's transaction-scoped advisory lock *after* writing
its facts and *before* reading the state it decides on (the ticker and the test-clock API to emit a
boundary, the consumer to emit a mid-cycle due). Two such transactions on one shop are therefore serialized
and the later one sees everything the earlier one committed: a subscription created while its cycle opens
is either in the opening batch or emitted by the consumer, never neither, never both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

from scheduler_service.domain.model import (
    Boundary,
    Candidate,
    OpenCycleCandidate,
    OrderCycle,
    PauseEnd,
    ShopPolicy,
    Subscription,
)

_SHOP_LOCK = "hashtextextended('scheduler-shop:' || %s, 0)"


def lock_shop(conn: psycopg.Connection, shop_id: str) -> None:
    """Wait for and take the shop's claim until the end of the transaction."""
    conn.execute(f"SELECT pg_advisory_xact_lock({_SHOP_LOCK})", [shop_id])


def try_lock_shop(conn: psycopg.Connection, shop_id: str) -> bool:
    """Take the shop's claim if nobody holds it (until the end of the transaction)."""
    row = conn.cursor(row_factory=tuple_row).execute(f"SELECT pg_try_advisory_xact_lock({_SHOP_LOCK})",
                                                     [shop_id]).fetchone()
    return bool(row and row[0])


# -- boundaries ------------------------------------------------------------------------------------------------

_PENDING = """
SELECT order_cycle_id, shop_id, kind, fire_at FROM (
    SELECT c.order_cycle_id, c.shop_id, 'open' AS kind, c.open_fires_at AS fire_at
    FROM order_cycles c
    WHERE c.open_fires_at IS NOT NULL AND NOT c.deleted {open_filter}
      AND NOT EXISTS (SELECT 1 FROM cycle_boundaries b WHERE b.order_cycle_id = c.order_cycle_id AND b.kind = 'open')
    UNION ALL
    SELECT c.order_cycle_id, c.shop_id, 'close' AS kind, c.close_fires_at AS fire_at
    FROM order_cycles c JOIN cycle_boundaries o ON o.order_cycle_id = c.order_cycle_id AND o.kind = 'open'
    WHERE true {close_filter}
      AND NOT EXISTS (SELECT 1 FROM cycle_boundaries b WHERE b.order_cycle_id = c.order_cycle_id AND b.kind = 'close')
    UNION ALL
    SELECT order_cycle_id, shop_id, 'reminder' AS kind, fire_at FROM (
        -- the cut-off reminder (domain.rules.reminder_fires_at): hours before the close, after the open, before
        -- the close is emitted; a shop's new setting applies to every cycle not reminded yet
        SELECT c.order_cycle_id, c.shop_id, c.closes_at - make_interval(hours => s.order_reminder_hours) AS fire_at,
               c.close_fires_at, o.boundary_at AS opened_at
        FROM order_cycles c
        JOIN shops s ON s.shop_id = c.shop_id AND s.order_reminder_hours IS NOT NULL
        JOIN cycle_boundaries o ON o.order_cycle_id = c.order_cycle_id AND o.kind = 'open'
        WHERE NOT c.deleted
          AND NOT EXISTS (SELECT 1 FROM cycle_boundaries b WHERE b.order_cycle_id = c.order_cycle_id
                          AND b.kind IN ('close', 'reminder'))
    ) c
    WHERE fire_at > opened_at {reminder_filter}
) pending
ORDER BY fire_at, kind = 'open', order_cycle_id
LIMIT %(limit)s
"""


def pending_boundaries(conn: psycopg.Connection, *, until: datetime | None = None, shop_id: str | None = None,
                       limit: int = 200) -> list[Boundary]:
    """Boundaries not emitted yet, earliest first (a close before an open at the same instant).

    A close is pending only once its cycle has opened; a deleted cycle that has opened still closes. A cut-off
    reminder is pending once its cycle has opened, until its close is emitted, when its shop asks for one.
    """
    open_filter, close_filter, reminder_filter = [], [], []
    if until is not None:
        open_filter.append("c.open_fires_at <= %(until)s")
        close_filter.append("c.close_fires_at <= %(until)s")
        reminder_filter.append("c.fire_at <= %(until)s")
    if shop_id is not None:
        for filters in (open_filter, close_filter, reminder_filter):
            filters.append("c.shop_id = %(shop_id)s")
    query = _PENDING.format(open_filter="".join(f" AND {f}" for f in open_filter),
                            close_filter="".join(f" AND {f}" for f in close_filter),
                            reminder_filter="".join(f" AND {f}" for f in reminder_filter))
    rows = conn.cursor(row_factory=tuple_row).execute(
        query, {"until": until, "shop_id": shop_id, "limit": limit}).fetchall()  # type: ignore[arg-type]
    return [Boundary(r[0], r[1], r[2], r[3]) for r in rows]


def next_fire_at(conn: psycopg.Connection) -> datetime | None:
    """When the earliest pending boundary or pause end fires (possibly in the past), or None."""
    found = pending_boundaries(conn, limit=1)
    ends = pending_pause_ends(conn, limit=1)
    times = [t for t in (found[0].fire_at if found else None, ends[0].resumes_at if ends else None) if t is not None]
    return min(times) if times else None


def pending_pause_ends(conn: psycopg.Connection, *, until: datetime | None = None, subscription_id: str | None = None,
                       limit: int = 200) -> list[PauseEnd]:
    """Pauses until a date whose end is not emitted yet, earliest first (``until``: due by then)."""
    rows = conn.cursor(row_factory=tuple_row).execute(
        "SELECT subscription_id, shop_id, paused_version, resumes_at FROM subscriptions "
        "WHERE paused AND NOT cancelled AND resumes_at IS NOT NULL "
        "AND (%(until)s::timestamptz IS NULL OR resumes_at <= %(until)s) "
        "AND (%(sub)s::text IS NULL OR subscription_id = %(sub)s) "
        "ORDER BY resumes_at, subscription_id LIMIT %(limit)s",
        {"until": until, "sub": subscription_id, "limit": limit}).fetchall()
    return [PauseEnd(*r) for r in rows]


def boundary_due_before(conn: psycopg.Connection, shop_id: str, at: datetime) -> bool:
    """Whether a boundary of the shop is pending that fires strictly before ``at`` (it is emitted first: time
    order; a subscription's cycles are its shop's)."""
    return any(b.fire_at < at for b in pending_boundaries(conn, until=at, shop_id=shop_id, limit=1))


def reminder_hours(conn: psycopg.Connection, shop_id: str) -> int | None:
    """The shop's cut-off reminder setting (hours before a close), None when it asks for none."""
    row = conn.cursor(row_factory=tuple_row).execute(
        "SELECT order_reminder_hours FROM shops WHERE shop_id = %s", [shop_id]).fetchone()
    return row[0] if row else None


def cycle(conn: psycopg.Connection, order_cycle_id: str) -> OrderCycle | None:
    row = conn.cursor(row_factory=tuple_row).execute(
        "SELECT order_cycle_id, shop_id, opens_at, closes_at FROM order_cycles WHERE order_cycle_id = %s",
        [order_cycle_id]).fetchone()
    return OrderCycle(*row) if row else None


def shops(conn: psycopg.Connection, shop_ids: Iterable[str]) -> dict[str, ShopPolicy]:
    rows = conn.cursor(row_factory=tuple_row).execute(
        "SELECT shop_id, timezone, subscriptions_enabled, late_placement FROM shops WHERE shop_id = ANY(%s)",
        [sorted(set(shop_ids))]).fetchall()
    return {r[0]: ShopPolicy(*r) for r in rows}


_SUB_COLUMNS = ("s.subscription_id, s.shop_id, s.customer_id, s.schedule_id, s.begins_at, s.ends_at, s.paused, "
                "s.cancelled")


def open_candidates(conn: psycopg.Connection, order_cycle_id: str, slice_size: int = 5000
                    ) -> Iterator[list[Candidate]]:
    """Every not-cancelled subscription of the cycle's schedules, first created first, ``slice_size`` at a time
    from a server-side cursor (a cycle of 100,000 is never held at once). Inside the caller's transaction."""
    with conn.cursor(name=f"open_candidates_{order_cycle_id}", row_factory=tuple_row) as cur:
        cur.itersize = slice_size
        cur.execute(
            f"""
            SELECT {_SUB_COLUMNS}, k.subscription_id IS NOT NULL AS skipped
            FROM subscriptions s
            LEFT JOIN skipped_occurrences k ON k.subscription_id = s.subscription_id AND k.order_cycle_id = %(c)s
            WHERE NOT s.cancelled
              AND s.schedule_id IN (SELECT schedule_id FROM schedule_cycles WHERE order_cycle_id = %(c)s)
            ORDER BY s.created_at, s.subscription_id
            """,  # noqa: S608 - _SUB_COLUMNS is a constant of this module
            {"c": order_cycle_id},
        )
        while rows := cur.fetchmany(slice_size):
            yield [Candidate(Subscription(*r[:8]), r[8]) for r in rows]


@dataclass(frozen=True)
class Scope:
    """Which (subscription, opened cycle) pairs a change may make due."""

    subscription_id: str | None = None
    schedule_id: str | None = None
    order_cycle_ids: tuple[str, ...] | None = None
    shop_id: str | None = None


def mid_cycle_candidates(conn: psycopg.Connection, scope: Scope, changed_at: datetime) -> list[OpenCycleCandidate]:
    """Pairs in ``scope`` whose cycle the scheduler has opened, that did not close before ``changed_at``
    and that have no OrderDue yet."""
    filters: list[sql.Composable] = []
    params: dict[str, Any] = {"changed_at": changed_at}
    if scope.subscription_id is not None:
        filters.append(sql.SQL("s.subscription_id = %(sub)s"))
        params["sub"] = scope.subscription_id
    if scope.schedule_id is not None:
        filters.append(sql.SQL("sc.schedule_id = %(schedule)s"))
        params["schedule"] = scope.schedule_id
    if scope.order_cycle_ids is not None:
        filters.append(sql.SQL("c.order_cycle_id = ANY(%(cycles)s)"))
        params["cycles"] = list(scope.order_cycle_ids)
    if scope.shop_id is not None:
        filters.append(sql.SQL("s.shop_id = %(shop)s"))
        params["shop"] = scope.shop_id
    where = sql.SQL("").join(sql.SQL(" AND ") + f for f in filters)
    query = sql.SQL(
        """
        SELECT {subs}, k.subscription_id IS NOT NULL AS skipped,
               c.order_cycle_id, c.shop_id, c.opens_at, c.closes_at, o.boundary_at, cl.boundary_at
        FROM cycle_boundaries o
        JOIN order_cycles c ON c.order_cycle_id = o.order_cycle_id
        LEFT JOIN cycle_boundaries cl ON cl.order_cycle_id = o.order_cycle_id AND cl.kind = 'close'
        JOIN schedule_cycles sc ON sc.order_cycle_id = c.order_cycle_id
        JOIN subscriptions s ON s.schedule_id = sc.schedule_id AND NOT s.cancelled
        LEFT JOIN skipped_occurrences k ON k.subscription_id = s.subscription_id
                                       AND k.order_cycle_id = c.order_cycle_id
        WHERE o.kind = 'open' AND c.closes_at > %(changed_at)s
          AND (cl.boundary_at IS NULL OR cl.boundary_at > %(changed_at)s) {where}
          AND NOT EXISTS (SELECT 1 FROM event_store e WHERE e.topic = 'scheduler.events'
                          AND e.aggregate_id = s.subscription_id || ':' || c.order_cycle_id
                          AND e.aggregate_version = 1)
        ORDER BY c.opens_at, c.order_cycle_id, s.created_at, s.subscription_id
        """
    ).format(subs=sql.SQL(_SUB_COLUMNS), where=where)
    rows = conn.cursor(row_factory=tuple_row).execute(query, params).fetchall()
    return [OpenCycleCandidate(Subscription(*r[:8]), r[8], OrderCycle(*r[9:13]), r[13], r[14]) for r in rows]


# -- operations log ------------------------------------------------------------------------------------------------

def record_run(conn: psycopg.Connection, boundary: Boundary, *, worker: str, lag_seconds: float, not_due: int,
               late_skipped: int, started_at: datetime) -> None:
    conn.execute(
        "INSERT INTO boundary_runs (order_cycle_id, kind, worker, lag_seconds, not_due, late_skipped, started_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_cycle_id, kind) DO NOTHING",
        [boundary.order_cycle_id, boundary.kind, worker, lag_seconds, not_due, late_skipped, started_at],
    )


def emitted_boundaries(conn: psycopg.Connection, *, shop_ids: list[str] | None, limit: int,
                       before: tuple[datetime, str, str] | None = None) -> list[dict[str, Any]]:
    """Emitted boundaries, most recent boundary first, with how they went (for operators)."""
    filters: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit}
    if shop_ids is not None:
        filters.append(sql.SQL("b.shop_id = ANY(%(shops)s)"))
        params["shops"] = shop_ids
    if before is not None:
        filters.append(sql.SQL("(b.boundary_at, b.order_cycle_id, b.kind) < (%(at)s, %(id)s, %(kind)s)"))
        params.update(at=before[0], id=before[1], kind=before[2])
    where = sql.SQL(" AND ").join(filters) if filters else sql.SQL("true")
    return conn.cursor(row_factory=dict_row).execute(
        sql.SQL(
            """
            SELECT b.order_cycle_id, b.kind, b.shop_id, b.opens_at, b.closes_at, b.boundary_at, b.emitted_at,
                   b.lateness_seconds, b.due_count, b.event_id, coalesce(s.timezone, 'UTC') AS timezone,
                   r.worker, r.lag_seconds, r.not_due, r.late_skipped
            FROM cycle_boundaries b
            LEFT JOIN shops s ON s.shop_id = b.shop_id
            LEFT JOIN boundary_runs r ON r.order_cycle_id = b.order_cycle_id AND r.kind = b.kind
            WHERE {where}
            ORDER BY b.boundary_at DESC, b.order_cycle_id DESC, b.kind DESC
            LIMIT %(limit)s
            """
        ).format(where=where),
        params,
    ).fetchall()


def outbox_position(conn: psycopg.Connection) -> int:
    row = conn.cursor(row_factory=tuple_row).execute("SELECT coalesce(max(position), 0) FROM event_store").fetchone()
    return int(row[0]) if row else 0


def boundaries_stored_after(conn: psycopg.Connection, position: int) -> list[dict[str, Any]]:
    """Boundaries whose event was stored after outbox ``position``, in the order they were stored."""
    return conn.cursor(row_factory=dict_row).execute(
        """
        SELECT b.order_cycle_id, b.shop_id, b.kind, b.boundary_at, b.emitted_at, b.due_count, b.lateness_seconds,
               r.lag_seconds, r.worker
        FROM event_store e
        JOIN cycle_boundaries b ON b.event_id = e.event_id
        LEFT JOIN boundary_runs r ON r.order_cycle_id = b.order_cycle_id AND r.kind = b.kind
        WHERE e.position > %s AND e.topic = 'scheduler.events'
        ORDER BY e.position
        """,
        [position],
    ).fetchall()


def shop_exists(conn: psycopg.Connection, shop_id: str) -> bool:
    """Whether this service knows the shop (shops.events)."""
    return conn.execute("SELECT 1 FROM shops WHERE shop_id = %s", [shop_id]).fetchone() is not None


def timezones(conn: psycopg.Connection, shop_ids: Iterable[str]) -> dict[str, str]:
    return {sid: p.timezone for sid, p in shops(conn, shop_ids).items()}
