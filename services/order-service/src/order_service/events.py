"""Envelopes of order-service's events: ids, versions and provenance in one place."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from order_service import SERVICE_NAME
from shared_events import REGISTRY, Envelope


@functools.cache
def _latest(event_type: str) -> int:
    return REGISTRY.latest_version(event_type)


def order_envelope(event_type: str, payload: dict[str, Any], version: int, *, occurred_at: datetime,
                   cause: Envelope | None = None, correlation_id: str | None = None) -> Envelope:
    """An orders.events envelope (newest schema version): keyed by the order, ``version`` = the order's
    version after it."""
    return Envelope(
        event_type=event_type, aggregate_id=payload["order_id"], aggregate_version=version, payload=payload,
        producer=SERVICE_NAME, shop_id=payload["shop_id"], schema_version=_latest(event_type),
        occurred_at=occurred_at,
        correlation_id=(cause.correlation_id if cause else correlation_id) or str(uuid.uuid4()),
        causation_id=cause.event_id if cause else None,
    )
