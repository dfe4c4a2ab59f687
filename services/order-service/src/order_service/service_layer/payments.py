"""Reactions to billing.events: tell the customer (and the shop) what happened to a payment, and let
the confirmation run's summary know its outcome (DEVELOPING "Notifications")."""

from __future__ import annotations

import psycopg

from order_service.adapters import notifications, repository, runs
from order_service.adapters.notifications import Notice
from order_service.config import ReactionSettings
from order_service.domain.receipts import PAID_EVENTS
from order_service.service_layer import receipts
from shared_events import Envelope

OUTCOMES = {
    "PaymentSucceeded": "paid",
    "PaymentMarkedPaid": "paid",
    "PaymentFailed": "failed",
    "PaymentAuthorizationRequired": "authorization_required",
}


def on_payment_event(conn: psycopg.Connection, env: Envelope, _cfg: ReactionSettings) -> None:
    p = env.payload
    outcome = OUTCOMES.get(env.event_type)
    if outcome is None:
        return
    order = repository.order_parties(conn, p["order_id"])
    if order is None:  # not one of ours (billing only charges orders we confirmed)
        return
    shop_id, customer_id, order_id = order["shop_id"], order["customer_id"], order["order_id"]
    issued = receipts.issue(conn, env) if env.event_type in PAID_EVENTS else []  # before the email carrying it
    attempt = f"{p['payment_id']}:{p.get('attempt', 0)}"
    told_shop, complete = runs.record_outcome(conn, order_id, outcome)
    notices: list[Notice] = []
    if env.event_type == "PaymentSucceeded":
        notices.append(Notice("order_confirmed", order_id, shop_id, customer_id, order_id,
                              payload={"paid": True, "amount": p["amount"], "currency": p["currency"]}))
    elif env.event_type == "PaymentMarkedPaid" and issued and receipts.emails_receipts(conn, shop_id):
        # paid by other means (cash): the customer gets their receipt when the shop emails receipts
        notices.append(Notice("order_paid", order_id, shop_id, customer_id, order_id,
                              payload={"paid": True, "amount": p["amount"], "currency": issued[0].payload["currency"]}))
    elif env.event_type == "PaymentFailed":
        detail = {k: p.get(k) for k in ("attempt", "code", "decline_code", "message", "retryable", "final")}
        detail["next_attempt_at"] = p["next_attempt_at"].isoformat() if p.get("next_attempt_at") else None
        notices.append(Notice("payment_failed", attempt, shop_id, customer_id, order_id, payload=detail))
        if told_shop:  # its run's summary is already out: the shop hears of this failure on its own
            notices.append(Notice("payment_failed_shop", attempt, shop_id, customer_id, order_id, payload=detail))
    elif env.event_type == "PaymentAuthorizationRequired":
        detail = {"attempt": p["attempt"], "amount": p["amount"], "currency": p["currency"],
                  "authorization_url": p["authorization_url"]}
        notices += [Notice("authorization_required", attempt, shop_id, customer_id, order_id, payload=detail),
                    Notice("authorization_required_shop", attempt, shop_id, customer_id, order_id, payload=detail),
                    # the order is confirmed even though the payment waits for the customer (reference 10.2)
                    Notice("order_confirmed", order_id, shop_id, customer_id, order_id, payload={"paid": False})]
    notifications.queue(conn, notices)
    for run_id in complete:
        runs.summarise_if_complete(conn, run_id)
