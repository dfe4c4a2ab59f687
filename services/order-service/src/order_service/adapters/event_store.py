"""Storing our own events in the outbox (shared_events' event_store table) in bulk.

``store_new`` encodes (validates, shared_events.encode) each group of events on its own, so one bad order
never stops the others, and inserts them all in one statement; an event whose (aggregate, version) is already
stored is skipped, which is what makes a replayed trigger harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from order_service.adapters import bulk
from shared_events import Envelope, outbox

log = logging.getLogger("order_service.event_store")

COLUMNS = ("event_id", "topic", "aggregate_id", "aggregate_version", "event_type", "occurred_at", "body")


@dataclass
class Stored:
    events: list[Envelope] = field(default_factory=list)
    failures: list[tuple[list[Envelope], str]] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.event_type == event_type]


def store_new(conn: psycopg.Connection, groups: Sequence[Sequence[Envelope]]) -> Stored:
    result = Stored()
    rows: list[tuple[Any, ...]] = []
    for group in groups:
        try:
            encoded = outbox.iter_rows(group)
        except ValueError as exc:  # a payload that breaks its contract: report it, carry on with the others
            log.error("event could not be encoded", extra={"error": str(exc)})
            result.failures.append((list(group), str(exc)))
            continue
        rows.extend(encoded)
    if not rows:
        return result
    stored_ids = {str(r["event_id"]) for r in bulk.staged(
        conn, "event_store", "event_store", COLUMNS, rows,
        f"INSERT INTO event_store ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM {{staged}} "
        "ON CONFLICT ON CONSTRAINT event_store_aggregate_version DO NOTHING RETURNING event_id")}
    result.events = [e for group in groups for e in group if e.event_id in stored_ids]
    return result
