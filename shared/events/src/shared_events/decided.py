"""What a decision returns: the events it decided on, before anyone gives them an id, a version or a time.

Every service's domain functions return a list of ``Decided``; the service layer numbers them after the
aggregate's version (``envelopes``) and records them (``shared_events.recording.record``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from shared_events.envelope import Envelope, new_envelope


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
