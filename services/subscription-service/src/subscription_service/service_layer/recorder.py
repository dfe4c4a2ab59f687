"""subscription-service's provenance for the shared recording step (``shared_events.recording``): envelopes
stamped with the caller's time and correlation, the projector a replay uses, and a version clash as a 409.

A version clash in the outbox, or a duplicate key in the projection (another writer won), is a Conflict and the
request's transaction is rolled back: it changes nothing.
"""

from __future__ import annotations

import psycopg

from shared_events import Envelope, decided, recording
from shared_events.outbox import ConcurrencyError
from subscription_service import SERVICE_NAME
from subscription_service.adapters.projections import apply
from subscription_service.domain.common import Decided
from subscription_service.domain.errors import Conflict
from subscription_service.service_layer.caller import Caller


def envelopes(caller: Caller, aggregate_id: str, shop_id: str | None, version: int,
              decided_events: list[Decided]) -> list[Envelope]:
    """Envelopes for events decided on an aggregate now at ``version`` (the first gets version + 1)."""
    return decided.envelopes(decided_events, aggregate_id, version, producer=SERVICE_NAME, shop_id=shop_id,
                             occurred_at=caller.now, correlation_id=caller.correlation_id)


def record(conn: psycopg.Connection, envs: list[Envelope]) -> None:
    try:
        recording.record(conn, envs, apply)
    except ConcurrencyError as exc:
        raise Conflict("A concurrent change won; read the resource again and retry.") from exc
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("A concurrent change won; read the resource again and retry.") from exc


def record_decided(conn: psycopg.Connection, caller: Caller, aggregate_id: str, shop_id: str | None, version: int,
                   decided_events: list[Decided]) -> int:
    """Record and return the aggregate's new version."""
    record(conn, envelopes(caller, aggregate_id, shop_id, version, decided_events))
    return version + len(decided_events)
