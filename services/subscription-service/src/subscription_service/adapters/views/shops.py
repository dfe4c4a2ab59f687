"""Shops and their methods, as the API shows them."""

from __future__ import annotations

from typing import Any

import psycopg

from servicekit.auth import Principal
from subscription_service.adapters.queries import PageRequest, Query, Sort, fetch_page, like_pattern, select
from subscription_service.adapters.views.common import row, rows
from subscription_service.domain.readiness import ShopFacts
from subscription_service.domain.shops import TAX_DEFAULTS

SHOP_SORTS = {"created_at": Sort("created_at", "created_at"), "name": Sort("name", "settings->>'name'", "text")}
METHOD_SORTS = {"created_at": Sort("created_at", "created_at"), "name": Sort("name", "name", "text")}
MANAGER_SORTS = {"email": Sort("email", "email", "text"), "added_at": Sort("added_at", "added_at")}


def shop_from_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["shop_id"], **TAX_DEFAULTS, **r["settings"], "created_at": r["created_at"],
            "updated_at": r["updated_at"], "version": r["version"]}


def shop(conn: psycopg.Connection, shop_id: str) -> dict[str, Any] | None:
    found = row(conn, "SELECT * FROM shops WHERE shop_id = %s", [shop_id])
    return shop_from_row(found) if found else None


def list_shops(conn: psycopg.Connection, p: Principal, page: PageRequest, q: str | None) -> tuple[list, Any]:
    sort = SHOP_SORTS[page.sort]
    query = Query(select("*", "shops", sort, "shop_id"), "shop_id")
    if not p.is_admin:
        query.filter("shop_id = ANY(%s)", list(p.shop_ids))
    if q:
        query.filter("settings->>'name' ILIKE %s", like_pattern(q))
    found, cursor = fetch_page(conn, query, SHOP_SORTS, page)
    return [shop_from_row(r) for r in found], cursor


def method_from_row(r: dict[str, Any]) -> dict[str, Any]:
    out = {"id": r["method_id"], "shop_id": r["shop_id"], "name": r["name"], "description": r["description"],
           "fee_flat": r["fee_flat"], "fee_percent_bp": r["fee_percent_bp"], "active": r["active"],
           "tax_category": r["tax_category"],
           "created_at": r["created_at"], "updated_at": r["updated_at"], "version": r["version"]}
    out.update({"pickup": r["pickup"]} if r["method_type"] == "shipping" else {"kind": r["kind"]})
    return out


def method(conn: psycopg.Connection, shop_id: str, kind: str, method_id: str) -> dict[str, Any] | None:
    found = row(conn, "SELECT * FROM shop_methods WHERE method_id = %s AND shop_id = %s AND method_type = %s "
                      "AND removed_at IS NULL", [method_id, shop_id, kind])
    return method_from_row(found) if found else None


def list_methods(conn: psycopg.Connection, shop_id: str, kind: str, page: PageRequest,
                 active: bool | None) -> tuple[list, Any]:
    sort = METHOD_SORTS[page.sort]
    query = Query(select("*", "shop_methods", sort, "method_id"), "method_id")
    query.filter("shop_id = %s", shop_id).filter("method_type = %s", kind).filter("removed_at IS NULL")
    if active is not None:
        query.filter("active = %s", active)
    found, cursor = fetch_page(conn, query, METHOD_SORTS, page)
    return [method_from_row(r) for r in found], cursor


def all_methods(conn: psycopg.Connection, shop_id: str) -> list[dict[str, Any]]:
    return [method_from_row(r) for r in rows(conn, "SELECT * FROM shop_methods WHERE shop_id = %s", [shop_id])]


def readiness_facts(conn: psycopg.Connection, shop_id: str, now: Any) -> ShopFacts:
    """The counts the set-up checklist reads, in one statement."""
    found = row(conn, """
        SELECT coalesce((s.settings->>'subscriptions_enabled')::boolean, false) AS subscriptions_enabled,
          (SELECT count(*) FROM shop_methods m WHERE m.shop_id = s.shop_id AND m.method_type = 'shipping'
             AND m.active AND m.removed_at IS NULL) AS shipping_methods,
          (SELECT count(*) FROM shop_methods m WHERE m.shop_id = s.shop_id AND m.method_type = 'payment'
             AND m.active AND m.removed_at IS NULL) AS payment_methods,
          (SELECT count(*) FROM (SELECT 1 FROM customers c WHERE c.shop_id = s.shop_id AND c.deleted_at IS NULL
             LIMIT 1) c) AS customers,
          (SELECT count(*) FROM schedules sc WHERE sc.shop_id = s.shop_id AND sc.deleted_at IS NULL
             AND EXISTS (SELECT 1 FROM order_cycles oc WHERE oc.order_cycle_id = ANY(sc.order_cycle_ids)
                         AND oc.shop_id = s.shop_id AND oc.deleted_at IS NULL AND oc.closes_at > %s))
             AS schedules_with_upcoming_cycles
        FROM shops s WHERE s.shop_id = %s""", [now, shop_id])
    assert found is not None  # the caller loaded the shop
    return ShopFacts(**found)


def manager_from_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(r["manager_id"]), "shop_id": r["shop_id"], "email": r["email"], "added_at": r["added_at"],
            "version": r["version"]}


def manager(conn: psycopg.Connection, shop_id: str, manager_id: str) -> dict[str, Any] | None:
    found = row(conn, "SELECT * FROM shop_managers WHERE manager_id::text = %s AND shop_id = %s "
                      "AND removed_at IS NULL", [manager_id, shop_id])
    return manager_from_row(found) if found else None


def list_managers(conn: psycopg.Connection, shop_id: str, page: PageRequest) -> tuple[list, Any]:
    sort = MANAGER_SORTS[page.sort]
    query = Query(select("*", "shop_managers", sort, "manager_id::text"), "manager_id::text")
    query.filter("shop_id = %s", shop_id).filter("removed_at IS NULL")
    found, cursor = fetch_page(conn, query, MANAGER_SORTS, page)
    return [manager_from_row(r) for r in found], cursor
