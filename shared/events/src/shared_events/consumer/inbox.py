"""The inbox: which events of a service were applied (or dead-lettered), written in the transaction of their
effect, so that a redelivered event is skipped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from shared_events.topics import logical


class InboxRace(Exception):
    """An event of the batch was recorded in the inbox meanwhile by another consumer of the service (a member of
    this group during a rebalance, or of another group during a blue/green switch)."""


def synthetic_event_id(topic: str, partition: int, offset: int) -> str:
    """An inbox key for a message with no readable event_id (so it is dead-lettered once)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{topic}:{partition}:{offset}"))


def outcomes(conn: psycopg.Connection, consumer: str, event_ids: Sequence[str]) -> dict[str, str]:
    """The recorded outcome ('applied' or 'dead_lettered') of each of these events the inbox has seen."""
    return {
        str(r[0]): r[1]
        for r in conn.execute(
            "SELECT event_id, outcome FROM inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
            [consumer, list(event_ids)],
        ).fetchall()
    }


def record(conn: psycopg.Connection, consumer: str, done: Sequence[tuple[Any, str, str]], prior: dict[str, str]
           ) -> None:
    """One inbox row per event of the batch (record, event_id, outcome). Events the inbox has never seen are copied
    in (COPY: an executemany of the rows of a cycle's open cost subscription-service seconds of PostgreSQL time); a
    dead-lettered event replayed on purpose updates its row. A copied row that another consumer of the service has
    recorded meanwhile (two members briefly own a partition during a rebalance, or two groups read the same topics
    during a blue/green switch) fails the whole batch with InboxRace: it is rolled back and redelivered, and the
    inbox then skips what the other applied."""
    rows = [(consumer, eid, logical(r.topic), r.partition, r.offset, outcome) for r, eid, outcome in done]
    with conn.cursor() as cur:
        new = [row for row in rows if row[1] not in prior]
        if new:
            try:
                with cur.copy("COPY inbox (consumer, event_id, topic, partition, \"offset\", outcome) FROM STDIN"
                              ) as copy:
                    for row in new:
                        copy.write_row(row)
            except psycopg.errors.UniqueViolation as exc:
                raise InboxRace(str(exc)) from exc
        again = [row for row in rows if row[1] in prior]
        if again:
            cur.executemany(
                "INSERT INTO inbox (consumer, event_id, topic, partition, \"offset\", outcome) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (consumer, event_id) DO UPDATE "
                "SET outcome = EXCLUDED.outcome, topic = EXCLUDED.topic, partition = EXCLUDED.partition, "
                "\"offset\" = EXCLUDED.\"offset\", processed_at = now() WHERE inbox.outcome = 'dead_lettered'",
                again,
            )
