"""PostgreSQL access of the write path: load a Payment (locked), the context it is decided from, and store
decided events (through the shared recording step: projection + outbox, in the caller's transaction).

Works on any connection (the consumer's returns tuples, the pools' dicts): every cursor asks for dict rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from billing_service import SERVICE_NAME
from billing_service.adapters.projections import apply_billing
from billing_service.domain.model import (
    DEFAULT_RETRY_POLICY,
    Attempt,
    CardLabel,
    CardOnFile,
    Payment,
    RetryPolicy,
    ShopTerms,
)
from shared_events import Decided, Envelope, decided, recording

PAYMENT_NAMESPACE = uuid.UUID("5d0b6f0e-3c52-4f4e-9b1e-6a1f0c2b7d11")


def payment_id_for(order_id: str) -> str:
    """One Payment per order, with an id any replica or replay computes alike."""
    return str(uuid.uuid5(PAYMENT_NAMESPACE, f"payment:{order_id}"))


def one(conn: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchone()


def many(conn: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall()


def _attempts(conn: psycopg.Connection, payment_id: str) -> tuple[Attempt, ...]:
    rows = many(conn, "SELECT attempt, idempotency_key, amount, status, stripe_payment_intent_id, code "
                      "FROM payment_attempts WHERE payment_id = %s ORDER BY attempt", [payment_id])
    return tuple(Attempt(**r) for r in rows)


def load_payment(conn: psycopg.Connection, payment_id: str, *, lock: bool = False,
                 skip_locked: bool = False) -> Payment | None:
    suffix = " FOR UPDATE" + (" SKIP LOCKED" if skip_locked else "") if lock else ""
    row = one(conn, "SELECT payment_id, order_id, shop_id, customer_id, method, amount, currency, status, version, "  # noqa: S608 - the suffix is a fixed locking clause chosen in code
                    "attempts, final, next_attempt_at, collected_amount, collected_by, amount_refunded, "
                    "stripe_payment_intent_id, order_number, created_at FROM payments WHERE payment_id = %s" + suffix,
              [payment_id])
    if row is None:
        return None
    return Payment(**row, history=_attempts(conn, payment_id))


def load_card(conn: psycopg.Connection, customer_id: str) -> CardOnFile | None:
    row = one(conn, "SELECT customer_id, stripe_customer_id, payment_method_id, charges_allowed, "
                    "allowed_payment_method_id, deleted FROM customers WHERE customer_id = %s", [customer_id])
    return CardOnFile(**row) if row else None


def card_charged(conn: psycopg.Connection, customer_id: str, payment_method_id: str | None) -> CardLabel | None:
    """The customer's card on file as a receipt names it, when it is the card charged (``payment_method_id``;
    None: Stripe did not say, the card on file is the one the charger uses)."""
    row = one(conn, "SELECT payment_method_id, card_brand, card_last4 FROM customers WHERE customer_id = %s",
              [customer_id])
    if row is None or not (row["card_brand"] or row["card_last4"]):
        return None
    if payment_method_id is not None and row["payment_method_id"] != payment_method_id:
        return None
    return CardLabel(row["card_brand"], row["card_last4"])


def load_shop(conn: psycopg.Connection, shop_id: str) -> ShopTerms | None:
    row = one(conn, "SELECT shop_id, name, currency, stripe_account_id, retry_delays_hours, retry_max_attempts "
                    "FROM shops WHERE shop_id = %s", [shop_id])
    if row is None:
        return None
    policy = DEFAULT_RETRY_POLICY
    if row["retry_max_attempts"] is not None:
        policy = RetryPolicy(tuple(row["retry_delays_hours"] or ()), int(row["retry_max_attempts"]))
    return ShopTerms(row["shop_id"], row["name"], row["currency"], row["stripe_account_id"], policy)


def store(conn: psycopg.Connection, aggregate: Payment | None, payment_id: str, shop_id: str,
          events: list[Decided], *, occurred_at: datetime, correlation_id: str | None = None,
          causation_id: str | None = None, deterministic_ids: bool = False) -> list[Envelope]:
    """Wrap decided events in envelopes (versions after the aggregate's) and record them
    (``shared_events.recording``: applied to the projections, put in the outbox).

    A concurrent writer of the same version makes the outbox raise ConcurrencyError: the transaction
    rolls back and nothing of this decision remains.
    """
    envelopes = decided.envelopes(events, payment_id, aggregate.version if aggregate else 0, producer=SERVICE_NAME,
                                  shop_id=shop_id, occurred_at=occurred_at, correlation_id=correlation_id,
                                  causation_id=causation_id)
    if deterministic_ids and causation_id:  # a reaction to an event: the same ids on any re-run
        envelopes = [replace(env, event_id=str(uuid.uuid5(PAYMENT_NAMESPACE, f"{causation_id}:{i}")))
                     for i, env in enumerate(envelopes, start=1)]
    return recording.record(conn, envelopes, apply_billing, as_stored=False)  # as built: no decode per payment opened
