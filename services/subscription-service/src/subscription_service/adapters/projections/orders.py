"""scheduler.events, orders.events, billing.events -> order_dues, missed_dues, occurrence_orders, order_payments:
what became of each occurrence. Each event carries the ids of its row, so rows are upserted whatever arrives
first."""

from __future__ import annotations

from typing import Any

import psycopg

from shared_events import Envelope
from shared_events.setwrite import insert_new_statement, write
from subscription_service.adapters.projections.sql import jsonb, upsert

_NEW_DUE = insert_new_statement("order_dues", ("subscription_id", "order_cycle_id", "shop_id", "due_at", "reason",
                                                "late"), key=("subscription_id", "order_cycle_id"))


def order_due(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    write(conn, _NEW_DUE, [p["subscription_id"], p["order_cycle_id"], p["shop_id"], p["due_at"], p["reason"],
                           p["late"]])


def order_due_missed(conn: psycopg.Connection, env: Envelope) -> None:
    """OrderDueMissed: due, but no order will be placed (processed after the cycle closed, the shop places nothing
    late); the occurrence shows ``missed`` with ``reason``. Version-guarded: a redelivery changes nothing."""
    p = env.payload
    upsert(conn, "missed_dues", {"subscription_id": p["subscription_id"], "order_cycle_id": p["order_cycle_id"]},
           {"shop_id": p["shop_id"], "due_at": p["due_at"], "due_reason": p["due_reason"], "reason": p["reason"],
            "version": env.aggregate_version})


def _totals(p: dict[str, Any]) -> dict[str, Any]:
    t = p.get("totals")
    if not t:
        return {}
    return {"item_total": t["item_total"], "shipping_fee": t["shipping_fee"], "payment_fee": t["payment_fee"],
            "total": t["total"]}


def _order(conn: psycopg.Connection, env: Envelope, values: dict[str, Any]) -> None:
    p = env.payload
    upsert(conn, "occurrence_orders", {"order_id": p["order_id"]}, {**values, "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "subscription_id": p["subscription_id"],
                        "order_cycle_id": p["order_cycle_id"], "customer_id": p["customer_id"],
                        "placed_at": env.occurred_at, "status": values.get("status", "placed")})


def order_placed(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    _order(conn, env, {"status": p["status"], "number": p["number"], "currency": p["currency"],
                       "opens_at": p["opens_at"], "closes_at": p["closes_at"], **_totals(p)})


PROJECTORS: dict[str, Any] = {
    "OrderDue": order_due,
    "OrderDueMissed": order_due_missed,
    "OrderPlaced": order_placed,
    "OrderLineChanged": lambda c, e: _order(c, e, _totals(e.payload)),
    "OrderLineAdded": lambda c, e: _order(c, e, _totals(e.payload)),
    "OrderLineRemoved": lambda c, e: _order(c, e, _totals(e.payload)),
    # a product gone from the catalog after placement: the order's totals without it, empty when nothing is left
    "OrderLineWithdrawn": lambda c, e: _order(c, e, {"status": e.payload["status"], **_totals(e.payload)}),
    "OrderDetailsChanged": lambda c, e: _order(c, e, _totals(e.payload)),
    "OrderUpdateIssuesRecorded": lambda c, e: _order(c, e, {"update_issues": jsonb(e.payload["issues"])}),
    "OrderCancelled": lambda c, e: _order(c, e, {"status": "cancelled", "cancelled_at": e.occurred_at,
                                                 "cancel_cause": e.payload["cause"]}),
    "OrderResumed": lambda c, e: _order(c, e, {"status": "placed", "cancelled_at": None, "cancel_cause": None,
                                               **_totals(e.payload)}),
    "OrderConfirmed": lambda c, e: _order(c, e, {"status": "confirmed", "number": e.payload["number"],
                                                 "confirmed_at": e.payload["confirmed_at"],
                                                 "payment_required": e.payload["payment_required"],
                                                 **_totals(e.payload)}),
    "PaymentRequested": lambda c, e: _order(c, e, {}),
}


def _payment(conn: psycopg.Connection, env: Envelope, values: dict[str, Any]) -> None:
    p = env.payload
    upsert(conn, "order_payments", {"payment_id": p["payment_id"]},
           {**values, "updated_at": env.occurred_at, "version": env.aggregate_version},
           insert_only={"order_id": p["order_id"], "shop_id": p["shop_id"], "status": values.get("status", "pending")})


def payment_refunded(conn: psycopg.Connection, env: Envelope) -> None:
    _payment(conn, env, {"total_refunded": env.payload["total_refunded"]})
    # fully refunded when everything charged has been given back
    conn.execute("UPDATE order_payments SET status = 'refunded' WHERE payment_id = %s AND version = %s "
                 "AND amount IS NOT NULL AND total_refunded >= amount",
                 [env.payload["payment_id"], env.aggregate_version])


PROJECTORS.update({
    "PaymentPending": lambda c, e: _payment(c, e, {"status": "pending", "amount": e.payload["amount"],
                                                   "currency": e.payload["currency"], "method": e.payload["method"]}),
    "PaymentAttemptStarted": lambda c, e: _payment(c, e, {"status": "processing", "attempt": e.payload["attempt"]}),
    "PaymentSucceeded": lambda c, e: _payment(c, e, {"status": "paid", "amount": e.payload["amount"],
                                                     "attempt": e.payload["attempt"], "code": None, "message": None,
                                                     "authorization_url": None}),
    "PaymentFailed": lambda c, e: _payment(c, e, {
        "status": "failed", "attempt": e.payload["attempt"], "code": e.payload["code"],
        "message": e.payload["message"], "final": e.payload["final"],
        "next_attempt_at": e.payload.get("next_attempt_at")}),
    "PaymentAuthorizationRequired": lambda c, e: _payment(c, e, {
        "status": "authorization_required", "attempt": e.payload["attempt"],
        "authorization_url": e.payload["authorization_url"]}),
    "PaymentMarkedPaid": lambda c, e: _payment(c, e, {"status": "paid", "code": None, "message": None}),
    "PaymentRefunded": payment_refunded,
})
