"""subscriptions.events -> subscriptions, occurrence_skips."""

from __future__ import annotations

from typing import Any

import psycopg

from shared_events import Envelope
from subscription_service.adapters.projections.sql import jsonb, update, upsert
from subscription_service.domain.terms import TERM_NAMES

JSON_TERMS = ("items", "bill_address", "ship_address")


def _terms(terms: dict[str, Any]) -> dict[str, Any]:
    return {k: (jsonb(v) if k in JSON_TERMS else v) for k, v in terms.items() if k in TERM_NAMES}


def _set(conn: psycopg.Connection, env: Envelope, values: dict[str, Any]) -> None:
    update(conn, "subscriptions", {"subscription_id": env.aggregate_id},
           {**values, "updated_at": env.occurred_at, "version": env.aggregate_version})


def subscription_created(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    terms = {n: None for n in TERM_NAMES} | _terms(p["terms"])
    upsert(conn, "subscriptions", {"subscription_id": p["subscription_id"]},
           {**terms, "updated_at": env.occurred_at, "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "customer_id": p["customer_id"], "schedule_id": p["schedule_id"],
                        "currency": p["currency"], "created_at": env.occurred_at})


def _occurrence(skipped: bool):  # type: ignore[no-untyped-def]
    def project(conn: psycopg.Connection, env: Envelope) -> None:
        upsert(conn, "occurrence_skips",
               {"subscription_id": env.aggregate_id, "order_cycle_id": env.payload["order_cycle_id"]},
               {"skipped": skipped, "changed_at": env.occurred_at, "version": env.aggregate_version})
        _set(conn, env, {})

    return project


PROJECTORS = {
    "SubscriptionCreated": subscription_created,
    "SubscriptionUpdated": lambda c, e: _set(c, e, _terms(e.payload["changes"])),
    "SubscriptionPaused": lambda c, e: _set(c, e, {"paused_at": e.occurred_at,
                                                   "paused_until": e.payload.get("resumes_at")}),
    "SubscriptionUnpaused": lambda c, e: _set(c, e, {"paused_at": None, "paused_until": None}),
    "SubscriptionCancelled": lambda c, e: _set(c, e, {"cancelled_at": e.occurred_at}),
    "OccurrenceSkipped": _occurrence(True),
    "OccurrenceResumed": _occurrence(False),
}
