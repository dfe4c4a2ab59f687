"""catalog.events (published by the platform) -> variants: names, per-shop prices, availability."""

from __future__ import annotations

import psycopg

from shared_events import Envelope
from subscription_service.adapters.projections.sql import upsert


def variant_updated(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    upsert(conn, "variants", {"shop_id": p["shop_id"], "variant_id": p["variant_id"]}, {
        "product_name": p["product_name"], "variant_name": p.get("variant_name"), "unit_price": p["unit_price"],
        "currency": p["currency"], "on_hand": p.get("on_hand"), "available": p["available"], "deleted": False,
        "tax_category": p.get("tax_category"), "version": env.aggregate_version})


def stock_adjusted(conn: psycopg.Connection, env: Envelope) -> None:
    """Only known variants with counted stock change (a StockAdjusted before any VariantUpdated says nothing we
    could show)."""
    p = env.payload
    conn.execute("UPDATE variants SET on_hand = on_hand + %s, version = %s "
                 "WHERE shop_id = %s AND variant_id = %s AND version < %s AND on_hand IS NOT NULL",
                 [p["delta"], env.aggregate_version, p["shop_id"], p["variant_id"], env.aggregate_version])


def variant_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    conn.execute("UPDATE variants SET deleted = true, version = %s "
                 "WHERE shop_id = %s AND variant_id = %s AND version < %s",
                 [env.aggregate_version, p["shop_id"], p["variant_id"], env.aggregate_version])


PROJECTORS = {
    "VariantUpdated": variant_updated,
    "StockAdjusted": stock_adjusted,
    "VariantDeleted": variant_deleted,
}
