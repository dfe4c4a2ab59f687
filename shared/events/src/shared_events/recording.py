"""Record decided events in the caller's transaction: each one applied to the service's projection and
appended to the outbox, so that state and events commit together or not at all.

Each envelope is encoded once, and the outbox stores those bytes. The projection is written by the same projector a
replay (``shared_events.rebuild``) applies; by default it is given the event decoded from the very bytes the outbox
stores, so that what a request writes and what a rebuild writes come from the same event in the same form.
``as_stored=False`` gives it the envelope as built instead and saves a decode per event, for the services whose
projectors always got that form on a hot path (order-service's reactions, billing's opening of a payment per
PaymentRequested); their "rebuilt == live" tests keep the two forms in agreement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from shared_events import outbox
from shared_events.envelope import Envelope, decode, encode

Apply = Callable[[psycopg.Connection, Envelope], Any]


def record(conn: psycopg.Connection, envelopes: Sequence[Envelope], apply: Apply, *,
           as_stored: bool = True) -> list[Envelope]:
    """Apply each event (in order) with ``apply``, then append them all to the outbox; return ``envelopes``.

    Raises ``outbox.ConcurrencyError`` when another writer stored one of these aggregate versions first; what
    ``apply`` raises goes through. Either way the caller's transaction is failed and must be rolled back (no
    savepoint: see ``outbox.atomically``)."""
    if not envelopes:
        return []
    bodies = [encode(env) for env in envelopes]
    with outbox.atomically(conn):
        for env, body in zip(envelopes, bodies, strict=True):
            apply(conn, decode(body) if as_stored else env)
        outbox.append(conn, envelopes, bodies=bodies)
    return list(envelopes)


def record_new(conn: psycopg.Connection, envelopes: Sequence[Envelope], apply: Apply, *,
               as_stored: bool = True) -> list[Envelope]:
    """``record`` for "exactly once per key" producers: the events whose (topic, aggregate, version) is not stored
    yet are appended, then applied; a duplicate is skipped, neither stored nor applied. Returns those stored.
    ``as_stored`` as for ``record``."""
    if not envelopes:
        return []
    bodies = [encode(env) for env in envelopes]
    by_id = {env.event_id: body for env, body in zip(envelopes, bodies, strict=True)}
    with outbox.atomically(conn):
        stored = outbox.append_new(conn, envelopes, bodies=bodies)
        for env in stored:
            apply(conn, decode(by_id[env.event_id]) if as_stored else env)
    return stored
