"""What an email says, read at send time: the shop, the customer, the order (for placement emails, the
snapshot in the OrderPlaced event the notification points at), the cycle, the notification's payload."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from order_service.adapters.db import all_rows, one_row
from order_service.domain.model import TOTAL_KEYS
from shared_events.money import tax_by_rate

SNAPSHOT_KINDS = {"order_placed", "order_empty"}


class NotReady(Exception):
    """Something the email needs (the shop, the customer's address) is not projected yet: try again later."""


def recipient(row: dict[str, Any], shop: dict[str, Any], customer: dict[str, Any] | None) -> str:
    if row["recipient"] == "customer":
        address = customer and customer.get("email")
    elif row["recipient"] == "shop_owner":
        address = shop.get("owner_email") or shop.get("contact_email")
    else:
        address = shop.get("contact_email")
    if not address:
        raise NotReady(f"no {row['recipient']} address for notification {row['notification_id']}")
    return str(address)


def language(row: dict[str, Any], shop: dict[str, Any], customer: dict[str, Any] | None) -> str:
    """The email's language: a consent's own (the text the customer was shown), else the customer's for an email
    to them, else the shop's."""
    chosen = row["payload"].get("locale")
    if not chosen and row["recipient"] == "customer":
        chosen = (customer or {}).get("locale")
    return str(chosen or shop.get("locale") or "en")


def web_links(public_web_url: str, shop_id: str, order_id: str | None) -> dict[str, str | None]:
    """The customer's pages an email links to (the web app asks for a sign-in link first when needed)."""
    shop = f"{public_web_url}/shops/{shop_id}"
    return {"order": f"{shop}/orders/{order_id}" if order_id else None, "subscriptions": f"{shop}/subscriptions",
            "payment": f"{shop}/payment"}


def links(row: dict[str, Any], cycle_id: str | None, order_service_url: str, public_web_url: str) -> str:
    """Where the email's link goes. A customer's: the web app's page of their order (or, without one, of their
    subscriptions), which asks for a sign-in link when their session is missing or expired and then opens that page.
    A shop's: the REST API's address of the order or the cycle (the managers have no pages yet)."""
    shop_id, order_id = row["shop_id"], row["order_id"]
    if row["recipient"] == "customer":
        web = web_links(public_web_url, shop_id, order_id)
        return str(web["order"] or web["subscriptions"])
    return (f"{order_service_url}/api/v1/shops/{shop_id}/orders/{order_id}" if order_id
            else f"{order_service_url}/api/v1/shops/{shop_id}/order-cycles/{cycle_id}")


def build(conn: psycopg.Connection, row: dict[str, Any], order_service_url: str,
          public_web_url: str) -> tuple[str, dict[str, Any]]:
    """(recipient address, template context) of a notification row."""
    shop = one_row(conn, "SELECT * FROM shops WHERE shop_id = %s", [row["shop_id"]])
    if shop is None:
        raise NotReady(f"shop {row['shop_id']} is not known yet")
    customer = None
    if row["customer_id"]:
        customer = one_row(conn, "SELECT * FROM customers WHERE customer_id = %s", [row["customer_id"]])
    to = recipient(row, shop, customer)
    order = _order(conn, row) if row["order_id"] else None
    cycle_id = (order or {}).get("order_cycle_id") or row["payload"].get("order_cycle_id")
    cycle = one_row(conn, "SELECT name, coalesce(closes_at, %s) AS closes_at FROM order_cycles "
                          "WHERE order_cycle_id = %s", [(order or {}).get("closes_at"), cycle_id]) if cycle_id else None
    if cycle is None:
        cycle = {"name": None, "closes_at": (order or {}).get("closes_at")}
    url = links(row, cycle_id, order_service_url, public_web_url)
    person = {"first_name": "", "last_name": "", "email": ""}
    person.update({k: v for k, v in (customer or {}).items() if v is not None})
    context = {
        "shop": shop, "customer": person,
        "order": order, "cycle": cycle, "payload": row["payload"], "order_url": url,
        "may_change": bool(shop["allow_order_changes"]) and (order or {}).get("status") == "placed",
        "capped": any(line["quantity"] < line["requested_quantity"] for line in (order or {}).get("lines", [])),
        "language": language(row, shop, customer), "web": web_links(public_web_url, row["shop_id"], row["order_id"]),
    }
    return to, context


def _order(conn: psycopg.Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    order = one_row(
        conn,
        """
        SELECT o.*, coalesce(sm.name, o.shipping_method_id) AS shipping_method_name,
               coalesce(pm.name, o.payment_method_id) AS payment_method_name
        FROM orders o
        LEFT JOIN shop_methods sm ON sm.shop_id = o.shop_id AND sm.kind = 'shipping'
                                 AND sm.method_id = o.shipping_method_id
        LEFT JOIN shop_methods pm ON pm.shop_id = o.shop_id AND pm.kind = 'payment'
                                 AND pm.method_id = o.payment_method_id
        WHERE o.order_id = %s
        """,
        [row["order_id"]],
    )
    if order is None:
        raise NotReady(f"order {row['order_id']} is not known yet")
    order["totals"] = {k: order[k] for k in TOTAL_KEYS}
    snapshot = None
    if row["kind"] in SNAPSHOT_KINDS and row["event_id"]:
        body = one_row(conn, "SELECT body FROM event_store WHERE event_id = %s", [row["event_id"]])
        snapshot = json.loads(bytes(body["body"]))["payload"] if body else None  # our own, validated bytes
    if snapshot:
        order["lines"] = snapshot["lines"]
        order["totals"] = {**dict.fromkeys(TOTAL_KEYS, 0), **snapshot["totals"]}  # no tax in events before it
    else:
        order["lines"] = all_rows(conn, "SELECT * FROM order_lines WHERE order_id = %s ORDER BY position",
                                  [row["order_id"]])
    order["tax_by_rate"] = tax_by_rate((line.get("tax_rate_bp", 0), line.get("tax", 0)) for line in order["lines"])
    return order
