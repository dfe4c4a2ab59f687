"""Use cases of billing-service, one function each; dependencies are parameters.

Each runs in the caller's transaction: it locks the Payment's row, decides with the pure domain, applies the
events to the projection and stores them in the outbox. Nothing here builds a connection or a client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from billing_service.adapters import repository as repo
from billing_service.adapters.stripe_gateway import StripeCallFailed, StripeGateway
from billing_service.domain import outcomes as oc
from billing_service.domain import payments as decide
from billing_service.domain.errors import DomainError, PaymentStateError
from billing_service.domain.model import DEFAULT_RETRY_POLICY, Attempt, Payment, PaymentRequest
from billing_service.service_layer.links import Links
from shared_events import Envelope

log = logging.getLogger("billing_service.handlers")

CheckVersion = Callable[[int], None]


class PaymentNotFound(DomainError):
    """No such payment in this shop (or not the caller's)."""


class StripeRefused(DomainError):
    """Stripe refused a request a manager made (refund, cancel): HTTP 502 with Stripe's safe message."""

    def __init__(self, message: str, failure: oc.StripeFailure) -> None:
        super().__init__(message)
        self.failure = failure


# -- the consumer's reaction ------------------------------------------------------------------------------------


def open_payment(conn: psycopg.Connection, env: Envelope) -> list[Envelope]:
    """PaymentRequested -> a Payment (and, for cards, attempt 1) committed before Stripe is ever called.

    Unique per order: a redelivered or replayed request, or a copy with another event id, opens nothing.
    Ids and times come from the request event, so a re-run decides exactly the same events.
    """
    p = env.payload
    if repo.one(conn, "SELECT payment_id FROM payments WHERE order_id = %s", [p["order_id"]]):
        return []
    request = PaymentRequest(order_id=p["order_id"], shop_id=p["shop_id"], customer_id=p["customer_id"],
                             number=p["number"], amount=p["amount"], currency=p["currency"],
                             payment_kind=p["payment_kind"])
    payment_id = repo.payment_id_for(request.order_id)
    return repo.store(conn, None, payment_id, request.shop_id, decide.open_payment(request, payment_id),
                      occurred_at=env.occurred_at, correlation_id=env.correlation_id, causation_id=env.event_id,
                      deterministic_ids=True)


# -- outcomes from Stripe (charger, webhooks, the authorisation page, reconciliation) --------------------------


def record_outcome(conn: psycopg.Connection, payment_id: str, attempt: int, outcome: oc.Outcome, *,
                   now: datetime, links: Links, correlation_id: str | None = None) -> list[Envelope]:
    """Record what Stripe says about an attempt, unless it would move the payment backwards."""
    payment = repo.load_payment(conn, payment_id, lock=True)
    if payment is None:
        return []
    shop = repo.load_shop(conn, payment.shop_id)
    policy = shop.retry if shop else DEFAULT_RETRY_POLICY
    card = repo.card_charged(conn, payment.customer_id, outcome.payment_method_id) \
        if outcome.kind == oc.SUCCEEDED else None
    events = decide.record_outcome(payment, attempt, outcome, policy, now,
                                   lambda _n: links.authorization_url(payment.shop_id, payment_id), card)
    return repo.store(conn, payment, payment_id, payment.shop_id, events, occurred_at=now,
                      correlation_id=correlation_id)


def attempt_of_intent(conn: psycopg.Connection, intent: dict[str, Any]) -> tuple[str, int] | None:
    """Which of our attempts a PaymentIntent belongs to: by its id, else by its metadata (checked against our key)."""
    row = repo.one(conn, "SELECT payment_id, attempt FROM payment_attempts WHERE stripe_payment_intent_id = %s",
                   [intent.get("id")])
    if row:
        return row["payment_id"], row["attempt"]
    meta = intent.get("metadata") or {}
    row = repo.one(conn, "SELECT payment_id, attempt FROM payment_attempts WHERE idempotency_key = %s",
                   [meta.get("attempt_key")])
    if row and row["payment_id"] == meta.get("payment_id"):
        return row["payment_id"], row["attempt"]
    return None


HANDLED_STRIPE_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
                         "payment_intent.requires_action")


def handle_stripe_event(conn: psycopg.Connection, event: dict[str, Any], *, now: datetime, links: Links) -> str:
    """A verified webhook event, processed once per Stripe event id. Returns what it did."""
    inserted = repo.one(conn, "INSERT INTO stripe_events (event_id, type, outcome) VALUES (%s, %s, 'received') "
                              "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                        [event["id"], event.get("type") or ""])
    if inserted is None:
        return "duplicate"
    result = "ignored"
    if event.get("type") in HANDLED_STRIPE_EVENTS:
        intent = (event.get("data") or {}).get("object") or {}
        target = attempt_of_intent(conn, intent)
        if target is None:
            result = "unknown_payment"
        else:
            stored = record_outcome(conn, target[0], target[1], oc.classify_intent(intent), now=now, links=links)
            result = "applied" if stored else "no_change"
    conn.execute("UPDATE stripe_events SET outcome = %s WHERE event_id = %s", [result, event["id"]])
    return result


# -- the customer's authorisation (3-D Secure), from the web app's page of the payment -----------------------------


class NothingToAuthorize(PaymentStateError):
    """The payment waits for no authorisation (already paid, failed, or never asked): HTTP 409."""


@dataclass(frozen=True)
class Authorization:
    """What the customer's browser needs to authorise the waiting attempt with Stripe.js (``confirmCardPayment``).
    The client secret is read from Stripe when asked for, never stored or logged."""

    payment_id: str
    attempt: int
    amount: int
    currency: str
    order_number: str | None
    client_secret: str
    payment_method: str | None
    stripe_account: str | None


def _customers_payment(conn: psycopg.Connection, shop_id: str, payment_id: str, customer_id: str, *,
                       lock: bool = False) -> Payment:
    payment = repo.load_payment(conn, payment_id, lock=lock)
    if payment is None or payment.shop_id != shop_id or payment.customer_id != customer_id:
        raise PaymentNotFound("No such payment.")
    return payment


def _waiting_attempt(payment: Payment) -> Attempt | None:
    if payment.status != "requires_action":
        return None
    return next((a for a in reversed(payment.history) if a.status == "requires_action"
                 and a.stripe_payment_intent_id), None)


def _intent(conn: psycopg.Connection, gateway: StripeGateway, payment: Payment, attempt: Attempt) -> dict[str, Any]:
    shop = repo.load_shop(conn, payment.shop_id)
    assert attempt.stripe_payment_intent_id is not None
    try:
        return gateway.retrieve_payment_intent(attempt.stripe_payment_intent_id,
                                               shop.stripe_account_id if shop else None)
    except StripeCallFailed as exc:
        raise StripeRefused(exc.failure.message or "Stripe did not answer; try again in a moment.",
                            exc.failure) from exc


def authorization(conn: psycopg.Connection, shop_id: str, payment_id: str, customer_id: str, *,
                  gateway: StripeGateway) -> Authorization:
    """The customer's payment that waits for their authorisation, with its PaymentIntent's client secret."""
    payment = _customers_payment(conn, shop_id, payment_id, customer_id)
    attempt = _waiting_attempt(payment)
    if attempt is None:
        raise NothingToAuthorize("This payment waits for no authorisation.")
    intent = _intent(conn, gateway, payment, attempt)
    shop = repo.load_shop(conn, payment.shop_id)
    pm = intent.get("payment_method") or ((intent.get("last_payment_error") or {}).get("payment_method") or {})
    return Authorization(payment.payment_id, attempt.attempt, attempt.amount, payment.currency, payment.order_number,
                         str(intent.get("client_secret") or ""), pm.get("id") if isinstance(pm, dict) else pm,
                         shop.stripe_account_id if shop else None)


def record_authorization(conn: psycopg.Connection, shop_id: str, payment_id: str, customer_id: str, *,
                         gateway: StripeGateway, now: datetime, links: Links) -> list[Envelope]:
    """The customer's browser says it went through 3-D Secure: what Stripe now says of the waiting attempt's
    PaymentIntent is recorded at once (the webhook would record it too, once). Nothing waiting: nothing to do."""
    payment = _customers_payment(conn, shop_id, payment_id, customer_id)
    attempt = _waiting_attempt(payment)
    if attempt is None:
        return []
    intent = _intent(conn, gateway, payment, attempt)
    return record_outcome(conn, payment.payment_id, attempt.attempt, oc.classify_intent(intent), now=now,
                          links=links)


# -- manager commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentCommand:
    shop_id: str
    payment_id: str
    actor: dict[str, str]
    reason: str | None = None


def _load_for_command(conn: psycopg.Connection, cmd: PaymentCommand, check_version: CheckVersion) -> Payment:
    payment = repo.load_payment(conn, cmd.payment_id, lock=True)
    if payment is None or payment.shop_id != cmd.shop_id:
        raise PaymentNotFound("No such payment in this shop.")
    check_version(payment.version)
    return payment


def retry_payment(conn: psycopg.Connection, cmd: PaymentCommand, *, now: datetime,
                  check_version: CheckVersion) -> list[Envelope]:
    """Retry now: a new attempt, picked up by the charger at once."""
    payment = _load_for_command(conn, cmd, check_version)
    events = decide.retry_now(payment, cmd.actor, cmd.reason)
    return repo.store(conn, payment, payment.payment_id, payment.shop_id, events, occurred_at=now)


def mark_paid(conn: psycopg.Connection, cmd: PaymentCommand, note: str | None, *, gateway: StripeGateway | None,
              now: datetime, check_version: CheckVersion) -> list[Envelope]:
    """Paid by other means. A payment waiting for 3-D Secure has its PaymentIntent cancelled first, so the
    customer can no longer pay it by card as well."""
    payment = _load_for_command(conn, cmd, check_version)
    events = decide.mark_paid(payment, note, cmd.actor, cmd.reason)  # refuses first, before any Stripe call
    if payment.status == "requires_action" and payment.stripe_payment_intent_id:
        if gateway is None:
            raise PaymentStateError("Stripe is not configured: the pending card payment cannot be cancelled.")
        shop = repo.load_shop(conn, payment.shop_id)
        try:
            gateway.cancel_payment_intent(payment.stripe_payment_intent_id, shop.stripe_account_id if shop else None)
        except StripeCallFailed as exc:
            raise PaymentStateError("The card payment waiting for the customer's authorisation could not be "
                                    "cancelled (it may have just succeeded); try again in a moment.") from exc
    return repo.store(conn, payment, payment.payment_id, payment.shop_id, events, occurred_at=now)


@dataclass(frozen=True)
class Refund:
    refund_id: str
    payment_id: str
    amount: int
    total_refunded: int
    currency: str
    stripe_refund_id: str | None
    version: int


def refund(conn: psycopg.Connection, side: psycopg.Connection, cmd: PaymentCommand, amount: int | None, *,
           gateway: StripeGateway | None, now: datetime, check_version: CheckVersion) -> Refund:
    """A full (amount None) or partial refund, never more than was collected.

    1. On ``side`` (its own transaction, committed at once): the payment is locked, the amount checked against
       what was collected minus what was refunded or is being refunded, and a refund request recorded.
       A concurrent refund therefore sees it, and a crash after the Stripe call leaves a trace that the
       charger reconciles with Stripe (by the refund id in the refund's metadata).
    2. Stripe refunds it (card payments; a payment marked paid is refunded by hand), idempotency key
       derived from the refund id.
    3. In the request's transaction: PaymentRefunded.
    """
    with side.transaction():
        payment = _load_for_command(side, cmd, check_version)
        pending = repo.one(side, "SELECT COALESCE(SUM(amount), 0) AS s FROM refund_requests "
                                 "WHERE payment_id = %s AND status = 'requested'", [payment.payment_id])
        value = decide.refund_amount(payment, amount, int(pending["s"]) if pending else 0)
        refund_id = str(uuid.uuid4())
        side.execute("INSERT INTO refund_requests (refund_id, payment_id, amount, status, actor, reason) "
                     "VALUES (%s, %s, %s, 'requested', %s, %s)",
                     [refund_id, payment.payment_id, value, Jsonb(cmd.actor), cmd.reason])
        shop = repo.load_shop(side, payment.shop_id)
    # no transaction is open on `side` from here: each of its writes below commits on its own
    stripe_refund_id = None
    if payment.collected_by == "stripe":
        if gateway is None or not payment.stripe_payment_intent_id:
            _refund_request_failed(side, refund_id)
            raise PaymentStateError("Stripe is not configured: the card payment cannot be refunded.")
        try:
            made = gateway.create_refund(payment.stripe_payment_intent_id, value,
                                         {"refund_id": refund_id, "payment_id": payment.payment_id,
                                          "order_id": payment.order_id},
                                         f"refund-{refund_id}", shop.stripe_account_id if shop else None)
        except StripeCallFailed as exc:
            if not exc.failure.transient:  # a transient failure stays "requested": reconciled later
                _refund_request_failed(side, refund_id)
            raise StripeRefused(exc.failure.message or "Stripe refused the refund.", exc.failure) from exc
        stripe_refund_id = made.get("id")
    record_refund(conn, refund_id, stripe_refund_id, now=now)
    after = repo.load_payment(conn, payment.payment_id)
    assert after is not None
    return Refund(refund_id, payment.payment_id, value, after.amount_refunded, payment.currency, stripe_refund_id,
                  after.version)


def _refund_request_failed(side: psycopg.Connection, refund_id: str) -> None:
    with side.transaction():
        side.execute("UPDATE refund_requests SET status = 'failed' WHERE refund_id = %s AND status = 'requested'",
                     [refund_id])


def record_refund(conn: psycopg.Connection, refund_id: str, stripe_refund_id: str | None, *,
                  now: datetime) -> list[Envelope]:
    """PaymentRefunded for a refund request Stripe carried out (once, whoever records it first)."""
    req = repo.one(conn, "SELECT refund_id, payment_id, amount, status, actor, reason FROM refund_requests "
                         "WHERE refund_id = %s FOR UPDATE", [refund_id])
    if req is None or req["status"] == "succeeded":
        return []
    payment = repo.load_payment(conn, req["payment_id"], lock=True)
    assert payment is not None
    event = decide.refunded(payment, refund_id, req["amount"], stripe_refund_id, req["actor"], req["reason"])
    stored = repo.store(conn, payment, payment.payment_id, payment.shop_id, [event], occurred_at=now)
    conn.execute("UPDATE refund_requests SET status = 'succeeded', stripe_refund_id = %s WHERE refund_id = %s",
                 [stripe_refund_id, refund_id])
    return stored
