"""Transactional outbox: append a service's events in the caller's transaction.

The caller's transaction also writes the projection rows the events produce, so
state and events commit together or not at all; the relay publishes them later.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from shared_events import tracing
from shared_events.envelope import Envelope, decode, encode


class ConcurrencyError(Exception):
    """Another writer already stored this aggregate version: the caller's view was stale."""


# traceparent, tracestate: the W3C trace context of the span the event was recorded in (shared_events.tracing),
# the Kafka record's headers; NULL when tracing is off
_COLUMNS = ("event_id", "topic", "aggregate_id", "aggregate_version", "event_type", "occurred_at", "body",
            "traceparent", "tracestate")
_INSERT = sql.SQL("INSERT INTO event_store ({}) VALUES ({})").format(
    sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)), sql.SQL(", ").join(sql.Placeholder() * len(_COLUMNS))
)


def _row(env: Envelope, body: bytes | None = None) -> tuple[Any, ...]:
    return (env.event_id, env.topic_family, env.aggregate_id, env.aggregate_version, env.event_type,
            env.occurred_at, encode(env) if body is None else body, *tracing.stored_context(env))


def _rows(envelopes: Sequence[Envelope], bodies: Sequence[bytes] | None) -> list[tuple[Any, ...]]:
    if bodies is None:
        return [_row(e) for e in envelopes]
    return [_row(e, b) for e, b in zip(envelopes, bodies, strict=True)]


def atomically(conn: psycopg.Connection) -> AbstractContextManager[Any]:
    """A transaction around a block if the connection is not in one yet; inside the caller's transaction, nothing.

    A savepoint there would cost two round trips (SAVEPOINT, RELEASE) for a rollback nobody uses: every caller
    that meets an error rolls its whole transaction back (a request answers 4xx/5xx; a consumer's batch and each
    of its events already have their own savepoint)."""
    if conn.info.transaction_status == TransactionStatus.IDLE:
        return conn.transaction()
    return nullcontext()


def append(conn: psycopg.Connection, envelopes: Sequence[Envelope], *, bodies: Sequence[bytes] | None = None) -> None:
    """Store events for publication. Raises ConcurrencyError on a version conflict.

    All of them or none: in the caller's transaction, or in one of its own on a connection outside a transaction.
    After a ConcurrencyError the caller's transaction is failed and must be rolled back. ``bodies``: the
    envelopes already encoded, in the same order (``shared_events.recording`` encodes each once); without it,
    they are encoded here."""
    if not envelopes:
        return
    try:
        with atomically(conn), conn.cursor() as cur:
            rows = _rows(envelopes, bodies)
            if len(rows) == 1:  # a request's usual one: executemany's pipeline costs more than it saves
                cur.execute(_INSERT, rows[0])
            else:
                cur.executemany(_INSERT, rows)
    except psycopg.errors.UniqueViolation as exc:
        raise ConcurrencyError(str(exc.diag.message_detail or exc)) from exc


def append_new(conn: psycopg.Connection, envelopes: Sequence[Envelope], *,
               bodies: Sequence[bytes] | None = None) -> list[Envelope]:
    """Store the events whose (topic, aggregate, version) is not stored yet; return those stored.

    For "exactly once per key" producers (the scheduler): a duplicate is silently skipped. ``bodies`` as for
    ``append``.
    """
    if not envelopes:
        return []
    if len(envelopes) >= COPY_THRESHOLD:
        return _append_new_copy(conn, envelopes, bodies)
    stored: list[Envelope] = []
    by_id = {e.event_id: e for e in envelopes}
    with conn.cursor(row_factory=tuple_row) as cur:  # rows by position, even on a dict-row connection
        cur.execute(
            """
            INSERT INTO event_store (event_id, topic, aggregate_id, aggregate_version, event_type, occurred_at, body,
                                     traceparent, tracestate)
            SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::int[], %s::text[], %s::timestamptz[],
                                 %s::bytea[], %s::text[], %s::text[])
            ON CONFLICT ON CONSTRAINT event_store_aggregate_version DO NOTHING
            RETURNING event_id
            """,
            [list(col) for col in zip(*_rows(envelopes, bodies), strict=True)],
        )
        for (event_id,) in cur.fetchall():
            stored.append(by_id[str(event_id)])
    return stored


COPY_THRESHOLD = 200  # from this many events on, append_new stages them with a binary COPY
_STAGE_COLUMNS = ("ord", *_COLUMNS)
_STAGE_TYPES = ("int4", "uuid", "text", "text", "int4", "text", "timestamptz", "bytea", "text", "text")


def _append_new_copy(conn: psycopg.Connection, envelopes: Sequence[Envelope],
                     bodies: Sequence[bytes] | None) -> list[Envelope]:
    """append_new for a burst (a cycle's open stores 100,000 OrderDue in one transaction), by ``store_rows_new``.
    Returns the envelopes stored, in the given order."""
    inserted = store_rows_new(conn, _rows(envelopes, bodies))
    return [e for e in envelopes if e.event_id in inserted]


def store_rows_new(conn: psycopg.Connection, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """Store the rows of ``iter_rows`` whose (topic, aggregate, version) is not stored yet, in their given order;
    return the event ids stored. The rows go to a session-local temporary table by a binary COPY (bodies as raw
    bytes: a text COPY escapes every byte of a body, several times slower a row, and unnest parameters escape
    them in Python), then one INSERT ... SELECT with the conflict rule."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS _outbox_stage (ord int4 NOT NULL, event_id uuid NOT NULL, "
                    "topic text NOT NULL, aggregate_id text NOT NULL, aggregate_version int4 NOT NULL, "
                    "event_type text NOT NULL, occurred_at timestamptz NOT NULL, body bytea NOT NULL, "
                    "traceparent text, tracestate text)")
        with cur.copy(f"COPY _outbox_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(_STAGE_TYPES))
            for i, row in enumerate(rows):
                copy.write_row((i, uuid.UUID(row[0]), *row[1:]))
        columns = ", ".join(_COLUMNS)
        cur.execute(f"INSERT INTO event_store ({columns}) SELECT {columns} FROM _outbox_stage ORDER BY ord "  # noqa: S608 - column names from the _COLUMNS constant
                    "ON CONFLICT ON CONSTRAINT event_store_aggregate_version DO NOTHING RETURNING event_id")
        inserted = {str(event_id) for (event_id,) in cur.fetchall()}
        cur.execute("TRUNCATE _outbox_stage")
    return inserted


def history(conn: psycopg.Connection, aggregate_id: str, topic: str | None = None) -> list[Envelope]:
    """The aggregate's events in version order, as this service recorded them."""
    query = "SELECT body FROM event_store WHERE aggregate_id = %s"
    params: list[Any] = [aggregate_id]
    if topic:
        query += " AND topic = %s"
        params.append(topic)
    with conn.cursor(row_factory=tuple_row) as cur:  # rows by position, even on a dict-row connection
        cur.execute(query + " ORDER BY aggregate_version", params)
        return [decode(bytes(body)) for (body,) in cur.fetchall()]


def pending_count(conn: psycopg.Connection, cap: int | None = None) -> tuple[int, float | None]:
    """(unpublished events, age in seconds of the oldest one) for health and metrics.

    Both are read through the partial index of unpublished rows. With ``cap`` the count stops there, so a scrape
    costs the same however far behind the relay is: a count equal to ``cap`` means at least that many."""
    with conn.cursor(row_factory=tuple_row) as cur:  # rows by position, even on a dict-row connection
        cur.execute(
            "SELECT (SELECT count(*) FROM (SELECT FROM event_store WHERE published_at IS NULL LIMIT %s) AS p), "
            "extract(epoch FROM clock_timestamp() - (SELECT stored_at FROM event_store WHERE published_at IS NULL "
            "ORDER BY position LIMIT 1))",
            [cap],
        )
        count, age = cur.fetchone()  # type: ignore[misc]
    return int(count), float(age) if age is not None else None


def iter_rows(envelopes: Iterable[Envelope]) -> list[tuple[Any, ...]]:
    return [_row(e) for e in envelopes]
