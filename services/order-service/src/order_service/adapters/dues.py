"""Dues and opening batches in PostgreSQL (tables order_dues, cycle_batches): recorded once per occurrence,
counted towards their cycle's opening batch, their state moved as they are placed, set aside or kept waiting, and
taken up again once what held them back has gone.

A use case names the dues it means with ``DuesOf`` (a shop's, a subscription's, an occurrence's); the
statements here turn that into SQL.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from order_service.adapters import bulk
from order_service.adapters.db import all_rows, one_row
from order_service.domain.dues import OpeningBatch
from shared_events import Envelope

Pair = tuple[str, str]  # (subscription id, order cycle id): an occurrence

DUE_COLUMNS = ("subscription_id", "order_cycle_id", "shop_id", "customer_id", "reason", "late", "opens_at",
               "closes_at", "due_at", "event_id")


def opening_batch(row: dict[str, Any]) -> OpeningBatch:
    return OpeningBatch(row["due_count"], row["dues_recorded"], row["missed_count"], row["missed_recorded"],
                        row["placed_at"] is not None)


@dataclass(frozen=True)
class Recorded:
    """What recording OrderDue events came to: the dues not recorded before (rows of order_dues, in the events'
    order), the opening batch of each cycle they count towards, and which of their cycles have closed."""

    dues: list[dict[str, Any]]
    batches: dict[str, OpeningBatch]
    closed: set[str]


def record(conn: psycopg.Connection, dues: Sequence[Envelope]) -> Recorded:
    """Record OrderDue events (one statement for all: a cycle opening is 100,000 of them) and count each new
    opening due towards its cycle's batch (one statement for all). A due recorded before (a replay) is left out."""
    rows = [(*(env.payload[c] for c in DUE_COLUMNS[:-1]), env.event_id) for env in dues]
    columns = ", ".join(DUE_COLUMNS)
    new = bulk.staged(conn, "order_dues", "order_dues", DUE_COLUMNS, rows,
                      f"INSERT INTO order_dues ({columns}) SELECT {columns} FROM {{staged}} "  # noqa: S608 - column names from the DUE_COLUMNS constant
                      "ON CONFLICT DO NOTHING RETURNING *")
    if not new:
        return Recorded([], {}, set())
    opening: dict[str, list[dict[str, Any]]] = {}
    for due in new:
        if due["reason"] == "cycle_opened":
            opening.setdefault(due["order_cycle_id"], []).append(due)
    batches = {r["order_cycle_id"]: opening_batch(r) for r in all_rows(
        conn,
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, dues_recorded)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::int[])
        ON CONFLICT (order_cycle_id) DO UPDATE SET dues_recorded = cycle_batches.dues_recorded + EXCLUDED.dues_recorded
        RETURNING *
        """,
        [list(opening), [d[0]["shop_id"] for d in opening.values()], [len(d) for d in opening.values()]])
    } if opening else {}
    closed = {r["order_cycle_id"] for r in all_rows(
        conn, "SELECT order_cycle_id FROM order_cycles WHERE order_cycle_id = ANY(%s) AND closed_at IS NOT NULL",
        [sorted({d["order_cycle_id"] for d in new})])}
    return Recorded(new, batches, closed)


@dataclass(frozen=True)
class RecordedMiss:
    order_cycle_id: str
    shop_id: str
    reason: str  # the due's reason (cycle_opened: it counts towards the opening batch)
    batch: OpeningBatch | None  # the opening batch it counts towards


def record_missed(conn: psycopg.Connection, env: Envelope) -> RecordedMiss | None:
    """Record an OrderDueMissed (state missed) and, for an opening due, count it towards its cycle's batch; None
    when recorded before, or when the occurrence already had a due."""
    p = env.payload
    row = one_row(
        conn,
        """
        WITH due AS (
            INSERT INTO order_dues (subscription_id, order_cycle_id, shop_id, customer_id, reason, late, opens_at,
                                    closes_at, due_at, event_id, state, skipped_because)
            VALUES (%s, %s, %s, %s, %s, true, %s, %s, %s, %s, 'missed', %s) ON CONFLICT DO NOTHING RETURNING *
        ), batch AS (
            INSERT INTO cycle_batches (order_cycle_id, shop_id, missed_recorded)
            SELECT order_cycle_id, shop_id, 1 FROM due WHERE reason = 'cycle_opened'
            ON CONFLICT (order_cycle_id) DO UPDATE SET missed_recorded = cycle_batches.missed_recorded + 1
            RETURNING due_count, dues_recorded, missed_count, missed_recorded, placed_at
        )
        SELECT due.order_cycle_id, due.shop_id, due.reason, batch.* FROM due LEFT JOIN batch ON true
        """,
        [p["subscription_id"], p["order_cycle_id"], p["shop_id"], p["customer_id"], p["due_reason"], p["opens_at"],
         p["closes_at"], p["due_at"], env.event_id, p["reason"]],
    )
    if row is None:
        return None
    batch = opening_batch(row) if row["missed_recorded"] is not None else None
    return RecordedMiss(row["order_cycle_id"], row["shop_id"], row["reason"], batch)


def announce_batch(conn: psycopg.Connection, order_cycle_id: str, shop_id: str, due_count: int, missed_count: int
                   ) -> OpeningBatch:
    """How many dues and missed dues the cycle's opening batch has (OrderCycleOpened)."""
    row = one_row(
        conn,
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, due_count, missed_count) VALUES (%s, %s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET due_count = EXCLUDED.due_count,
            missed_count = EXCLUDED.missed_count RETURNING *
        """,
        [order_cycle_id, shop_id, due_count, missed_count],
    )
    assert row is not None
    return opening_batch(row)


def batch_placed(conn: psycopg.Connection, order_cycle_id: str, at: datetime | str) -> None:
    conn.execute("UPDATE cycle_batches SET placed_at = %s WHERE order_cycle_id = %s", [at, order_cycle_id])


def batch_confirmed(conn: psycopg.Connection, order_cycle_id: str, shop_id: str, at: datetime | str) -> None:
    """The cycle's close was seen (the first time counts)."""
    conn.execute(
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, confirmed_at) VALUES (%s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET confirmed_at = coalesce(cycle_batches.confirmed_at,
                                                                            EXCLUDED.confirmed_at)
        """,
        [order_cycle_id, shop_id, at],
    )


def pending(conn: psycopg.Connection, order_cycle_id: str) -> list[dict[str, Any]]:
    """The cycle's dues still waiting for their batch."""
    return all_rows(conn, "SELECT * FROM order_dues WHERE order_cycle_id = %s AND state = 'pending' "
                          "ORDER BY subscription_id", [order_cycle_id])


def of_cycle(conn: psycopg.Connection, order_cycle_id: str, subscription_ids: list[str]) -> list[dict[str, Any]]:
    return all_rows(conn, "SELECT * FROM order_dues WHERE order_cycle_id = %s AND subscription_id = ANY(%s)",
                    [order_cycle_id, subscription_ids])


def shop_of_cycle(conn: psycopg.Connection, order_cycle_id: str) -> str | None:
    """The shop of the cycle's recorded dues (None: none recorded)."""
    row = one_row(conn, "SELECT shop_id FROM order_dues WHERE order_cycle_id = %s LIMIT 1", [order_cycle_id])
    return None if row is None else row["shop_id"]


def opening_in_first_come_order(conn: psycopg.Connection, order_cycle_id: str, chunk: int
                                ) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Every pending opening due of the cycle in first-come order (Terms.first_come_key, computed here: unranked
    subscriptions first by creation time, then ranked ones by rank; ties by id, compared bytewise as Python compares
    str; dues whose subscription is not projected yet last), streamed from a server-side cursor ``chunk`` rows at a
    time: (subscription id, its shipping and payment method ids and whether the shop's catalog has told of every
    variant it asks for, or None when it is not projected yet)."""
    with conn.cursor(name=f"opening_batch_{uuid.uuid4().hex}", row_factory=tuple_row) as cur:
        cur.execute(
            """
            SELECT d.subscription_id, s.subscription_id IS NOT NULL, s.shipping_method_id, s.payment_method_id,
                   NOT EXISTS (SELECT FROM jsonb_array_elements(s.items) i WHERE NOT EXISTS (
                       SELECT FROM catalog_variants c WHERE c.shop_id = d.shop_id
                                                        AND c.variant_id = i->>'variant_id'))
            FROM order_dues d LEFT JOIN subscriptions s ON s.subscription_id = d.subscription_id
            WHERE d.order_cycle_id = %s AND d.state = 'pending' AND d.reason = 'cycle_opened'
            ORDER BY CASE WHEN s.subscription_id IS NULL THEN 2 WHEN s.sequence IS NULL THEN 0 ELSE 1 END,
                     coalesce(s.sequence, 0), s.created_at, d.subscription_id COLLATE "C"
            """, [order_cycle_id])
        while rows := cur.fetchmany(chunk):
            for subscription_id, known, shipping, payment, catalog_known in rows:
                yield subscription_id, ({"shipping_method_id": shipping, "payment_method_id": payment,
                                         "catalog_known": catalog_known} if known else None)


def skipped_occurrences(conn: psycopg.Connection, pairs: Sequence[Pair]) -> set[Pair]:
    """Those of these occurrences the customer or the shop skipped."""
    return {(r["subscription_id"], r["order_cycle_id"]) for r in all_rows(
        conn, "SELECT subscription_id, order_cycle_id FROM occurrences WHERE skipped AND "
              "(subscription_id, order_cycle_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        [[p[0] for p in pairs], [p[1] for p in pairs]], binary=True)}


def existing_orders(conn: psycopg.Connection, order_ids: Iterable[str]) -> set[str]:
    """Those of these orders that exist."""
    return {r["order_id"] for r in all_rows(conn, "SELECT order_id FROM orders WHERE order_id = ANY(%s)",
                                            [list(order_ids)], binary=True)}


def order_numbers(conn: psycopg.Connection, n: int) -> list[str]:
    """``n`` new order numbers."""
    if n == 0:
        return []
    return [r["number"] for r in all_rows(
        conn, "SELECT 'R' || lpad(nextval('order_numbers')::text, 8, '0') AS number FROM generate_series(1, %s)",
        [n])]


def mark(conn: psycopg.Connection, pairs: Sequence[Pair], state: str, why: Sequence[str | None] | None = None
         ) -> None:
    """These dues are now in ``state`` (pending, waiting, placed, skipped), with why (or none)."""
    if not pairs:
        return
    reasons = why or [None] * len(pairs)
    bulk.staged(conn, "due_states", "order_dues", ("subscription_id", "order_cycle_id", "skipped_because"),
                [(s, c, r) for (s, c), r in zip(pairs, reasons, strict=True)],
                "UPDATE order_dues d SET state = %s, skipped_because = x.skipped_because FROM {staged} x "
                "WHERE d.subscription_id = x.subscription_id AND d.order_cycle_id = x.order_cycle_id", [state])


@dataclass(frozen=True)
class DuesOf:
    """Which dues: each field given narrows them (a shop's; a subscription's; an occurrence's: subscription and
    order cycle)."""

    shop_id: str | None = None
    subscription_id: str | None = None
    order_cycle_id: str | None = None

    def given(self) -> tuple[tuple[str, ...], list[Any]]:
        """The columns narrowed (``d.<column> = %s``), and their values."""
        named = [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]
        assert named, "DuesOf names at least one of shop, subscription, order cycle"
        return tuple(name for name, _ in named), [value for _, value in named]


def _statement(template: str, columns: tuple[str, ...]) -> str:
    condition = sql.SQL(" AND ").join(sql.SQL("d.{} = %s").format(sql.Identifier(c)) for c in columns)
    return sql.SQL(template).format(condition=condition).as_string(None)


@cache
def _release_waiting(columns: tuple[str, ...]) -> str:
    return _statement(
        """
        WITH released AS (
            UPDATE order_dues d SET state = 'pending', skipped_because = NULL
            WHERE d.state = 'waiting' AND {condition}
            RETURNING d.*
        )
        SELECT r.*, c.closed_at FROM released r LEFT JOIN order_cycles c ON c.order_cycle_id = r.order_cycle_id
        ORDER BY r.order_cycle_id, r.subscription_id
        """, columns)


SUBSCRIPTION_LOCKS = 64


def lock_what_decides(conn: psycopg.Connection, shop_id: str, subscription_ids: Iterable[str] = ()) -> None:
    """Transaction-scoped advisory locks on a shop and on its subscriptions. A placement holds its shop's and its
    subscriptions' from before it reads what decides its dues until it commits; a reaction to a change of that
    data holds them before it looks for the dues or the orders the change acts on: the data a due waited for
    arriving, a pause or a cancellation that cancels the open orders, an unpause, a skipped or resumed
    occurrence, new items.

    Two consumer processes of the service (members of its group, each with its partitions) may apply a due and
    a change of what decides it at the same moment, each in a transaction that cannot see the other's. Without
    the lock, the due could wait, or stay set aside, for a change already made; or the change's reaction found
    no order yet while the placement read the subscription as it was before the change. With it, the later of
    the two waits for the earlier's commit and its next statement sees it.

    Every taker takes the shop's lock first, then its subscriptions' in one order, in one statement. A shop's
    subscriptions share ``SUBSCRIPTION_LOCKS`` locks (by a hash of their id): an opening batch places many
    subscriptions in one transaction, and PostgreSQL's lock table is small (max_locks_per_transaction); two
    subscriptions sharing one merely wait for each other. A consumer's transaction applies several events and
    may lock two shops in turn; two that meet in a deadlock get a transient error, and the poll is
    redelivered."""
    buckets = sorted({zlib.crc32(s.encode()) % SUBSCRIPTION_LOCKS for s in subscription_ids})
    keys = [f"dues:{shop_id}", *(f"dues:{shop_id}:subscriptions:{b}" for b in buckets)]
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                 "FROM (SELECT k FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n) AS keys", [keys])


def release_waiting(conn: psycopg.Connection, dues: DuesOf) -> list[dict[str, Any]]:
    """These dues that waited for data become pending again; returns them in placement order (cycle, then
    subscription), each with its cycle's ``closed_at`` (set when the cycle closed meanwhile)."""
    columns, params = dues.given()
    return all_rows(conn, _release_waiting(columns), params)


@cache
def _release_set_aside(columns: tuple[str, ...]) -> str:
    return _statement(
        """
        WITH released AS (
            UPDATE order_dues d SET state = 'pending', skipped_because = NULL
            FROM order_dues o LEFT JOIN order_cycles c ON c.order_cycle_id = o.order_cycle_id
            WHERE o.subscription_id = d.subscription_id AND o.order_cycle_id = d.order_cycle_id
              AND d.state = 'skipped' AND {condition}
              AND c.closed_at IS NULL AND coalesce(c.closes_at, o.closes_at) > %s
            RETURNING d.*
        )
        SELECT * FROM released ORDER BY order_cycle_id
        """, columns)


def release_set_aside(conn: psycopg.Connection, dues: DuesOf, now: datetime) -> list[dict[str, Any]]:
    """These dues set aside (paused, skipped) whose cycle is still open at ``now`` become pending again; returns
    them in cycle order."""
    columns, params = dues.given()
    return all_rows(conn, _release_set_aside(columns), [*params, now])
