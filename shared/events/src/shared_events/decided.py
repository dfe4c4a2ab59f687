"""What a decision returns: the events it decided on, before anyone gives them an id, a version or a time.

Every service's domain functions return a list of ``Decided``; the service layer numbers them after the
aggregate's version (``envelopes``) and records them (``shared_events.recording.record``). Events that carry
their own exactly-once key instead of following an aggregate's history (scheduler-service's: one OrderDue per
subscription and cycle, a cycle's open and close) get it from a pure function of the event (``keyed_envelopes``).
Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from shared_events.envelope import Envelope, new_envelope
from shared_events.registry import REGISTRY


class Decided(NamedTuple):
    """One event a domain function decided on: its type and its payload (the contract's field names).

    A pair, so that ``[(event_type, payload)] = decide(...)`` reads it too."""

    event_type: str
    payload: dict[str, Any]


def envelopes(decided: Sequence[Decided], aggregate_id: str, version: int, *, producer: str, shop_id: str | None,
              occurred_at: datetime, correlation_id: str | None = None,
              causation_id: str | None = None) -> list[Envelope]:
    """Envelopes for events decided on an aggregate now at ``version``: the first gets version + 1."""
    return [new_envelope(d.event_type, aggregate_id, version + n, d.payload, producer=producer, shop_id=shop_id,
                         occurred_at=occurred_at, correlation_id=correlation_id, causation_id=causation_id)
            for n, d in enumerate(decided, 1)]


Key = Callable[[Decided], tuple[str, int]]  # an event's aggregate id and version, from the event alone


def keyed_envelopes(decided: Sequence[Decided], key: Key, *, producer: str, occurred_at: datetime,
                    correlation_id: str | None = None, causation_id: str | None = None) -> list[Envelope]:
    """Envelopes for events whose aggregate and version ``key`` derives from the event itself (its shop from its
    payload): the outbox's unique (topic, aggregate, version) then refuses any second copy, whoever makes it."""
    correlation_id = correlation_id or str(uuid.uuid4())
    envelopes = []
    for d in decided:
        aggregate_id, version = key(d)
        envelopes.append(Envelope(event_type=d.event_type, schema_version=_latest(d.event_type),
                                  aggregate_id=aggregate_id, aggregate_version=version, payload=d.payload,
                                  producer=producer, shop_id=d.payload.get("shop_id"), occurred_at=occurred_at,
                                  correlation_id=correlation_id, causation_id=causation_id))
    return envelopes


@cache
def _latest(event_type: str) -> int:
    return REGISTRY.latest_version(event_type)
