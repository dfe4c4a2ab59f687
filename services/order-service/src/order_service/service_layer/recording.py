"""order-service's provenance for the shared recording step (``shared_events.recording``): decided events about
one order, stamped with the order's ids, the actor and the reason, numbered after the order's version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from order_service import SERVICE_NAME
from order_service.adapters import order_projection
from order_service.domain.model import Order
from shared_events import Decided, Envelope, decided, recording


def record(conn: psycopg.Connection, order: Order, decision: Sequence[Decided], *,
           occurred_at: datetime, actor: dict[str, Any] | None, reason: str | None = None,
           cause: Envelope | None = None, correlation_id: str | None = None) -> list[Envelope]:
    """Apply the decided events (versions following the order's) to the projections and store them in the outbox.
    Raises shared_events.outbox.ConcurrencyError when another writer got there first."""
    stamped = [Decided(event_type, {**order.ids(), **body, "actor": actor, "reason": reason})
               for event_type, body in decision]
    envs = decided.envelopes(stamped, order.order_id, order.version, producer=SERVICE_NAME, shop_id=order.shop_id,
                             occurred_at=occurred_at,
                             correlation_id=cause.correlation_id if cause else correlation_id,
                             causation_id=cause.event_id if cause else None)
    return recording.record(conn, envs, order_projection.apply, as_stored=False)
