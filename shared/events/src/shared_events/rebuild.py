"""Projection rebuild: replay topics from offset 0 into a fresh schema, compare, optionally swap.

A service's projections are pure functions of events. To prove it (and to repair
a projection), we create a scratch schema, run the service's migrations there,
read every record of the given topics up to the end offsets seen at the start,
merge them by Kafka timestamp (the order they were produced in), apply each
with the same ``apply`` the live consumer and the write path use, then diff each
projection table against the live one. ``swap=True`` replaces the live rows.
"""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from kafka import TopicPartition
from psycopg import sql

from shared_events import kafka as kafka_clients
from shared_events.envelope import Envelope, decode
from shared_events.registry import DecodeError
from shared_events.topics import physical

log = logging.getLogger("shared_events.rebuild")

Apply = Callable[[psycopg.Connection, Envelope], None]


@dataclass
class RebuildReport:
    events: int = 0
    undecodable: int = 0
    seconds: float = 0.0
    differences: dict[str, int] = field(default_factory=dict)
    swapped: bool = False

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def identical(self) -> bool:
        return not any(self.differences.values())


def read_topics(topics: Iterable[str], bootstrap: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Every record of the topics up to their current end, merged by (timestamp, topic, partition, offset)."""
    consumer = kafka_clients.consumer(None, bootstrap, enable_auto_commit=False, max_poll_records=5000,
                                      fetch_max_bytes=64 * 1024 * 1024)
    try:
        tps: list[TopicPartition] = []
        for t in topics:
            parts = consumer.partitions_for_topic(physical(t)) or set()
            tps += [TopicPartition(physical(t), p) for p in sorted(parts)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = {tp: off for tp, off in consumer.end_offsets(tps).items()}
        start = {tp: consumer.position(tp) for tp in tps}
        remaining = {tp for tp in tps if start[tp] < end[tp]}
        per_tp: dict[TopicPartition, list[Any]] = {tp: [] for tp in tps}
        while remaining:
            for tp, recs in consumer.poll(timeout_ms=1000).items():
                for rec in recs:
                    if rec.offset < end[tp]:
                        per_tp[tp].append(rec)
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        streams = [[(r.timestamp, r.topic, r.partition, r.offset, r.value) for r in recs] for recs in per_tp.values()]
        yield from heapq.merge(*streams)
    finally:
        consumer.close()


def rebuild(
    dsn: str,
    *,
    topics: Iterable[str],
    apply: Apply,
    tables: Iterable[str],
    migrate: Callable[[psycopg.Connection], None],
    bootstrap: str | None = None,
    swap: bool = False,
    ignore_columns: dict[str, list[str]] | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
) -> RebuildReport:
    """Replay ``topics`` into a scratch schema; report events/s and per-table differences with the live schema.

    ``migrate(conn)`` must create the service's tables in the connection's current search_path.
    """
    tables = list(tables)
    scratch = f"rebuild_{uuid.uuid4().hex[:10]}"
    report = RebuildReport()
    with psycopg.connect(dsn) as conn:
        live_schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(scratch)))
        migrate(conn)
        conn.commit()
        started = time.perf_counter()
        try:
            pending = 0
            for _, _topic, _part, _off, value in read_topics(topics, bootstrap):
                try:
                    env = decode(value)
                except DecodeError:
                    report.undecodable += 1  # dead-lettered when live, skipped here too
                    continue
                try:
                    with conn.transaction():
                        apply(conn, env)
                except Exception:  # same rule as the live consumer: a poison event does not stop the replay
                    report.undecodable += 1
                    log.exception("event could not be applied during rebuild", extra={"event_id": env.event_id})
                report.events += 1
                pending += 1
                if pending >= batch_size:
                    conn.commit()
                    pending = 0
                    if progress:
                        progress(report.events)
            conn.commit()
            report.seconds = time.perf_counter() - started
            if progress:
                progress(report.events)
            for table in tables:
                report.differences[table] = diff_tables(conn, live_schema, scratch, table,
                                                        (ignore_columns or {}).get(table, []))
            conn.commit()
            if swap:  # one transaction: readers see the old rows or the new ones, never a mix
                for table in tables:
                    live = sql.Identifier(live_schema, table)
                    conn.execute(sql.SQL("DELETE FROM {}").format(live))
                    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                        live, sql.Identifier(scratch, table)))
                conn.commit()
                report.swapped = True
        finally:
            conn.rollback()
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(live_schema)))
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(scratch)))
            conn.commit()
    return report


def diff_tables(conn: psycopg.Connection, schema_a: str, schema_b: str, table: str, ignore: list[str]) -> int:
    """Number of rows present in one schema's table and not the other's (0 = identical)."""
    cols = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            [schema_a, table],
        ).fetchall()
        if r[0] not in ignore
    ]
    if not cols:
        raise ValueError(f"table {schema_a}.{table} not found")
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    a, b = sql.Identifier(schema_a, table), sql.Identifier(schema_b, table)
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM (SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}) x)"
        " + (SELECT count(*) FROM (SELECT {c} FROM {b} EXCEPT ALL SELECT {c} FROM {a}) y)"
    ).format(c=col_list, a=a, b=b)
    return int(conn.execute(query).fetchone()[0])  # type: ignore[index]
