"""Storing our own events in the outbox (shared_events' event_store table) in bulk.

``store_new`` encodes (validates, shared_events.encode) each group of events on its own, so one bad order
never stops the others, and stores them all with one binary COPY and one statement (``outbox.store_rows_new``);
an event whose (aggregate, version) is already stored is skipped, which is what makes a replayed trigger
harmless.

With tracing on, each order's events continue the order's trace (``shared_events.tracing.continuing``): a new
order's, the trace of its OrderDue (kept under the due's key, ``<subscription_id>:<order_cycle_id>``), so an order
placed in its cycle's opening batch, whichever due completed it, is in its subscription's trace; a later event's,
the order's first, so the confirmation at the close is too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from shared_events import Envelope, outbox, tracing

log = logging.getLogger("order_service.event_store")


@dataclass
class Stored:
    events: list[Envelope] = field(default_factory=list)
    failures: list[tuple[list[Envelope], str]] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.event_type == event_type]


def _trace_subject(env: Envelope) -> str:
    """What an order's event continues the trace of: its due for the OrderPlaced, else the order."""
    if env.event_type == "OrderPlaced" and env.payload.get("subscription_id"):
        return f"{env.payload['subscription_id']}:{env.payload['order_cycle_id']}"
    return env.aggregate_id


def store_new(conn: psycopg.Connection, groups: Sequence[Sequence[Envelope]]) -> Stored:
    with tracing.continuing(conn, [e for group in groups for e in group] if tracing.ENABLED else [], _trace_subject):
        return _store_new(conn, groups)


def _store_new(conn: psycopg.Connection, groups: Sequence[Sequence[Envelope]]) -> Stored:
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
    stored_ids = outbox.store_rows_new(conn, rows)
    result.events = [e for group in groups for e in group if e.event_id in stored_ids]
    return result
