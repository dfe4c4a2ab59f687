"""The CloudEvents Kafka protocol binding (binary content mode) of our records, so that other teams' tools read
them as CloudEvents without knowing our envelope: every record we produce carries ``ce_specversion``, ``ce_id``
(the envelope's event_id), ``ce_source`` (the producing service, as a URI reference), ``ce_type`` (the event type),
``ce_time`` (occurred_at, RFC 3339) and ``content-type``, beside our own ``event_type`` header. The record's value
is the envelope (the CloudEvent's data) and its key the aggregate id, unchanged.

The relay (outbox rows) and the catalog publisher both build their headers here, so the two cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
SOURCE_PREFIX = "/recurring-orders/"
# The headers every record carries, in this order (the AsyncAPI document describes them).
HEADER_NAMES = ("event_type", "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type")


def source(producer: str) -> str:
    """``ce_source`` of a producing service's events."""
    return f"{SOURCE_PREFIX}{producer}"


def headers(event_id: str, event_type: str, producer: str, occurred_at: datetime) -> list[tuple[str, bytes]]:
    """The Kafka headers of one event's record."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware (UTC)")
    time = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return [
        ("event_type", event_type.encode()),
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", str(event_id).encode()),
        ("ce_source", source(producer).encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", time.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
