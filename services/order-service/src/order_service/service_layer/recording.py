"""Recording decisions about one order: events to the outbox, the same events to the projection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from order_service.adapters import order_projection
from order_service.domain.model import Order, Payload
from order_service.events import order_envelope
from shared_events import Envelope, outbox


def record(conn: psycopg.Connection, order: Order, decision: Sequence[tuple[str, Payload]], *,
           occurred_at: datetime, actor: dict[str, Any] | None, reason: str | None = None,
           cause: Envelope | None = None, correlation_id: str | None = None) -> list[Envelope]:
    """Store the decided events (versions following the order's) and apply them to the projections.
    Raises shared_events.outbox.ConcurrencyError when another writer got there first."""
    envs = [order_envelope(event_type, {**order.ids(), **body, "actor": actor, "reason": reason},
                           order.version + i, occurred_at=occurred_at, cause=cause, correlation_id=correlation_id)
            for i, (event_type, body) in enumerate(decision, start=1)]
    outbox.append(conn, envs)
    for env in envs:
        order_projection.apply(conn, env)
    return envs
