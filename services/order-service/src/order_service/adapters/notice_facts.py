"""What the emails that tell of something outside an order need to read when they are decided: the orders a
cut-off reminder goes to, the customer of a subscription, the names of its products and methods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg

from order_service.adapters.db import all_rows, value


def changeable_orders(conn: psycopg.Connection, order_cycle_id: str, at: datetime) -> list[dict[str, Any]]:
    """The cycle's orders their customers can still change at ``at``: placed (not cancelled, empty or
    confirmed), the cycle not closed by then, the shop allowing customers to change their orders."""
    return all_rows(
        conn,
        """
        SELECT o.order_id, o.shop_id, o.customer_id FROM orders o
        JOIN shops s ON s.shop_id = o.shop_id AND s.allow_order_changes
        WHERE o.order_cycle_id = %s AND o.status = 'placed' AND o.closes_at > %s
        ORDER BY o.order_id
        """,
        [order_cycle_id, at])


def customer_of(conn: psycopg.Connection, subscription_id: str) -> str | None:
    return value(conn, "SELECT customer_id FROM subscriptions WHERE subscription_id = %s", [subscription_id])


def product_names(conn: psycopg.Connection, shop_id: str, variant_ids: Iterable[str]) -> dict[str, str]:
    """variant id -> "Product - variant" as the catalog names it now (the id itself when it is not known)."""
    ids = sorted(set(variant_ids))
    rows = all_rows(conn, "SELECT variant_id, product_name, variant_name FROM catalog_variants "
                          "WHERE shop_id = %s AND variant_id = ANY(%s)", [shop_id, ids])
    names = {r["variant_id"]: " - ".join(n for n in (r["product_name"], r["variant_name"]) if n) for r in rows}
    return {i: names.get(i, i) for i in ids}


def method_names(conn: psycopg.Connection, shop_id: str) -> dict[tuple[str, str], str]:
    """(kind, method id) -> name, for the shop's shipping and payment methods."""
    rows = all_rows(conn, "SELECT kind, method_id, name FROM shop_methods WHERE shop_id = %s", [shop_id])
    return {(r["kind"], r["method_id"]): r["name"] for r in rows}
