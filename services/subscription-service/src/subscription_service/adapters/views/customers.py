"""Customers, as the API shows them (a customer never sees another customer; nobody sees Stripe's ids)."""

from __future__ import annotations

from typing import Any

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.queries import PageRequest, Query, Sort, fetch_page, like_pattern, select
from subscription_service.adapters.views.common import row

CUSTOMER_SORTS = {"created_at": Sort("created_at", "created_at"), "email": Sort("email", "lower(email)", "text"),
                  "last_name": Sort("last_name", "lower(last_name)", "text")}


def customer_from_row(r: dict[str, Any], live_subscriptions: int | None = None) -> dict[str, Any]:
    """The API's customer from a row of customers read with ``repository.SIGNED_IN_BY_EMAIL``."""
    card = None
    if r["card_payment_method_id"]:  # what a person recognises their card by; never Stripe's ids
        card = {"brand": r["card_brand"], "last4": r["card_last4"], "exp_month": r["card_exp_month"],
                "exp_year": r["card_exp_year"]}
    out = {"id": r["customer_id"], "shop_id": r["shop_id"], "email": r["email"], "first_name": r["first_name"],
           "last_name": r["last_name"], "locale": r["locale"], "bill_address": r["bill_address"],
           "ship_address": r["ship_address"], "card": card, "allow_charges": r["allow_charges"],
           "email_proven": repo.customer_from_row(r).email_proven, "created_at": r["created_at"],
           "updated_at": r["updated_at"], "version": r["version"]}
    if live_subscriptions is not None:
        out["subscriptions_not_cancelled"] = live_subscriptions
    return out


def customer(conn: psycopg.Connection, shop_id: str, customer_id: str) -> dict[str, Any] | None:
    found = row(conn, f"SELECT c.*, {repo.SIGNED_IN_BY_EMAIL}, (SELECT count(*) FROM subscriptions s "  # noqa: S608 - constants
                      "WHERE s.customer_id = c.customer_id AND s.cancelled_at IS NULL) AS live FROM customers c "
                      "WHERE c.customer_id = %s AND c.shop_id = %s AND c.deleted_at IS NULL", [customer_id, shop_id])
    return customer_from_row(found, found["live"]) if found else None


def list_customers(conn: psycopg.Connection, shop_id: str, page: PageRequest, q: str | None,
                   only: str | None = None) -> tuple[list, Any]:
    sort = CUSTOMER_SORTS[page.sort]
    query = Query(select(f"c.*, {repo.SIGNED_IN_BY_EMAIL}", "customers c", sort, "customer_id"), "customer_id")
    query.filter("shop_id = %s", shop_id).filter("deleted_at IS NULL")
    if only is not None:
        query.filter("customer_id = %s", only)
    if q:
        pattern = like_pattern(q)
        query.filter("(email ILIKE %s OR (first_name || ' ' || last_name) ILIKE %s)", pattern, pattern)
    found, cursor = fetch_page(conn, query, CUSTOMER_SORTS, page)
    return [customer_from_row(r) for r in found], cursor
