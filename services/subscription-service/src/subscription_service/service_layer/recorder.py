"""Record decided events: envelopes, the projection rows, and the outbox, in the caller's transaction.

The events are applied in the exact form consumers and a rebuild will see them (encoded and decoded again), with
the same projector a replay uses; a version clash in the outbox (another writer won) is a 409 and the request's
transaction is rolled back: it changes nothing.
"""

from __future__ import annotations

import psycopg

from shared_events import Envelope, decode, encode, new_envelope
from shared_events.outbox import ConcurrencyError, append, atomically
from subscription_service import SERVICE_NAME
from subscription_service.adapters.projections import apply
from subscription_service.domain.common import Decided
from subscription_service.domain.errors import Conflict
from subscription_service.service_layer.caller import Caller


def envelopes(caller: Caller, aggregate_id: str, shop_id: str | None, version: int,
              decided: list[Decided]) -> list[Envelope]:
    """Envelopes for events decided on an aggregate now at ``version`` (the first gets version + 1)."""
    return [new_envelope(d.event_type, aggregate_id, version + n, d.payload, producer=SERVICE_NAME,
                         shop_id=shop_id, occurred_at=caller.now, correlation_id=caller.correlation_id)
            for n, d in enumerate(decided, 1)]


def record(conn: psycopg.Connection, envs: list[Envelope]) -> None:
    if not envs:
        return
    try:
        with atomically(conn):  # a failure fails the caller's transaction, which the request rolls back
            for env in envs:
                apply(conn, decode(encode(env)))
            append(conn, envs)
    except ConcurrencyError as exc:
        raise Conflict("A concurrent change won; read the resource again and retry.") from exc
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("A concurrent change won; read the resource again and retry.") from exc


def record_decided(conn: psycopg.Connection, caller: Caller, aggregate_id: str, shop_id: str | None, version: int,
                   decided: list[Decided]) -> int:
    """Record and return the aggregate's new version."""
    record(conn, envelopes(caller, aggregate_id, shop_id, version, decided))
    return version + len(decided)
