"""Envelopes of order-service's events: ids, versions and provenance in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from order_service import SERVICE_NAME
from shared_events import Envelope, new_envelope


def order_envelope(event_type: str, payload: dict[str, Any], version: int, *, occurred_at: datetime,
                   cause: Envelope | None = None, correlation_id: str | None = None) -> Envelope:
    """An orders.events envelope: keyed by the order, ``version`` = the order's version after it."""
    return new_envelope(
        event_type, payload["order_id"], version, payload, producer=SERVICE_NAME, shop_id=payload["shop_id"],
        occurred_at=occurred_at,
        correlation_id=cause.correlation_id if cause else correlation_id,
        causation_id=cause.event_id if cause else None,
    )
