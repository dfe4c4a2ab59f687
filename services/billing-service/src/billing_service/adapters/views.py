"""Read models for the API: payments (with their order's cycle), attempts, refunds; keyset pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from billing_service.adapters.repository import many, one

_PAYMENT_COLUMNS = """
    p.payment_id, p.order_id, p.order_number, o.order_cycle_id, p.shop_id, p.customer_id, p.method, p.amount,
    p.currency, p.status, p.attempts, p.collected_amount, p.amount_refunded, p.failure_code, p.decline_code,
    p.failure_message, p.retryable, p.final, p.next_attempt_at, p.stripe_payment_intent_id, p.stripe_charge_id,
    p.authorization_url, p.paid_note, p.paid_at, p.card_brand, p.card_last4, p.created_at, p.updated_at, p.version,
    s.timezone, c.email AS customer_email"""
_FROM = ("FROM payments p LEFT JOIN orders o ON o.order_id = p.order_id LEFT JOIN shops s ON s.shop_id = p.shop_id "
         "LEFT JOIN customers c ON c.customer_id = p.customer_id")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _local(value: datetime | None, tz: str | None) -> str | None:
    if value is None:
        return None
    try:
        return value.astimezone(ZoneInfo(tz or "UTC")).isoformat()
    except (ZoneInfoNotFoundError, ValueError):
        return value.isoformat()


def payment_doc(row: dict[str, Any]) -> dict[str, Any]:
    failure = None
    if row["failure_code"]:
        failure = {"code": row["failure_code"], "decline_code": row["decline_code"],
                   "message": row["failure_message"], "retryable": row["retryable"], "final": row["final"]}
    keys = ("payment_id", "order_id", "order_number", "order_cycle_id", "shop_id", "customer_id", "customer_email",
            "method", "amount",
            "currency", "status", "attempts", "collected_amount", "amount_refunded", "stripe_payment_intent_id",
            "stripe_charge_id", "authorization_url", "paid_note", "version")
    return {**{k: row[k] for k in keys}, "failure": failure,
            "next_attempt_at": _iso(row["next_attempt_at"]),
            "next_attempt_at_local": _local(row["next_attempt_at"], row["timezone"]),
            "paid_at": _iso(row["paid_at"]), "paid_at_local": _local(row["paid_at"], row["timezone"]),
            "card": {"brand": row["card_brand"], "last4": row["card_last4"]} if row["card_last4"] else None,
            "created_at": _iso(row["created_at"]), "created_at_local": _local(row["created_at"], row["timezone"]),
            "updated_at": _iso(row["updated_at"])}


def payment(conn: psycopg.Connection, shop_id: str, payment_id: str,
            customer_id: str | None = None) -> dict[str, Any] | None:
    row = one(conn, f"SELECT {_PAYMENT_COLUMNS} {_FROM} WHERE p.payment_id = %s AND p.shop_id = %s "
                    "AND (%s::text IS NULL OR p.customer_id = %s)", [payment_id, shop_id, customer_id, customer_id])
    return payment_doc(row) if row else None


def payments(conn: psycopg.Connection, shop_id: str, *, customer_id: str | None = None, order_id: str | None = None,
             statuses: list[str] | None = None, cycle: str | None = None, after: list[Any] | None = None,
             limit: int = 50) -> list[dict[str, Any]]:
    """Oldest first (in any of ``statuses``); ``after`` = [created_at, payment_id] of the last row of the previous
    page."""
    where = ["p.shop_id = %s"]
    params: list[Any] = [shop_id]
    for column, value in (("p.customer_id", customer_id), ("p.order_id", order_id), ("o.order_cycle_id", cycle)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if statuses:
        where.append("p.status = ANY(%s)")
        params.append(list(statuses))
    if after:
        where.append("(p.created_at, p.payment_id) > (%s::timestamptz, %s)")
        params += after
    rows = many(conn, f"SELECT {_PAYMENT_COLUMNS} {_FROM} WHERE {' AND '.join(where)} "
                      "ORDER BY p.created_at, p.payment_id LIMIT %s", [*params, limit + 1])
    return [payment_doc(r) for r in rows]


def customer_payments(conn: psycopg.Connection, shop_id: str, customer_id: str, *, after: list[Any] | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
    """A customer's payments, newest first; ``after`` = [created_at, payment_id] of the last row of the previous
    page."""
    where, params = "p.shop_id = %s AND p.customer_id = %s", [shop_id, customer_id]
    if after:
        where += " AND (p.created_at, p.payment_id) < (%s::timestamptz, %s)"
        params += after
    rows = many(conn, f"SELECT {_PAYMENT_COLUMNS} {_FROM} WHERE {where} "
                      "ORDER BY p.created_at DESC, p.payment_id DESC LIMIT %s", [*params, limit + 1])
    return [payment_doc(r) for r in rows]


def customer_exists(conn: psycopg.Connection, shop_id: str, customer_id: str) -> bool:
    """Whether this service knows the customer in this shop (customers.events)."""
    return one(conn, "SELECT 1 AS x FROM customers WHERE customer_id = %s AND shop_id = %s",
               [customer_id, shop_id]) is not None


def shop_exists(conn: psycopg.Connection, shop_id: str) -> bool:
    """Whether this service knows the shop (shops.events)."""
    return one(conn, "SELECT 1 AS x FROM shops WHERE shop_id = %s", [shop_id]) is not None


def order_exists(conn: psycopg.Connection, shop_id: str, order_id: str, customer_id: str | None = None) -> bool:
    """Whether this service knows the order in this shop (orders.events), and of this customer when one is given."""
    return one(conn, "SELECT 1 AS x FROM orders WHERE order_id = %s AND shop_id = %s "
                     "AND (%s::text IS NULL OR customer_id = %s)", [order_id, shop_id, customer_id, customer_id]) \
        is not None


def attempts(conn: psycopg.Connection, payment_id: str, after: int, limit: int) -> list[dict[str, Any]]:
    rows = many(conn, "SELECT attempt, idempotency_key, amount, status, started_by, stripe_payment_intent_id, "
                      "stripe_charge_id, code, decline_code, message, started_at, finished_at FROM payment_attempts "
                      "WHERE payment_id = %s AND attempt > %s ORDER BY attempt LIMIT %s",
                [payment_id, after, limit + 1])
    return [{**r, "started_at": _iso(r["started_at"]), "finished_at": _iso(r["finished_at"])} for r in rows]


def refunds(conn: psycopg.Connection, payment_id: str, after: int, limit: int) -> list[dict[str, Any]]:
    """In the order they were made: the running total only grows."""
    rows = many(conn, "SELECT refund_id, payment_id, amount, total_refunded, currency, stripe_refund_id, reason, "
                      "created_at FROM refunds WHERE payment_id = %s AND total_refunded > %s "
                      "ORDER BY total_refunded LIMIT %s", [payment_id, after, limit + 1])
    return [{**r, "created_at": _iso(r["created_at"])} for r in rows]


def refund(conn: psycopg.Connection, refund_id: str) -> dict[str, Any] | None:
    row = one(conn, "SELECT refund_id, payment_id, amount, total_refunded, currency, stripe_refund_id, reason, "
                    "created_at FROM refunds WHERE refund_id = %s", [refund_id])
    return {**row, "created_at": _iso(row["created_at"])} if row else None


def shop_for_page(conn: psycopg.Connection, shop_id: str) -> dict[str, Any]:
    return one(conn, "SELECT name, stripe_account_id FROM shops WHERE shop_id = %s", [shop_id]) or {}
