"""Order cycles and schedules, as the API shows them: UTC and the shop's local time side by side."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from subscription_service.adapters.queries import PageRequest, Query, Sort, fetch_page, like_pattern, select
from subscription_service.adapters.repository import cycle_from_row
from subscription_service.adapters.views.common import local, row, rows, shop_timezone

CYCLE_SORTS = {"opens_at": Sort("opens_at", "opens_at"), "closes_at": Sort("closes_at", "closes_at"),
               "created_at": Sort("created_at", "created_at")}
SCHEDULE_SORTS = {"created_at": Sort("created_at", "created_at"), "name": Sort("name", "lower(name)", "text")}


def schedules_by_cycle(conn: psycopg.Connection, cycle_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in cycle_ids}
    for r in rows(conn, "SELECT schedule_id, unnest(order_cycle_ids) AS cycle_id FROM schedules "
                        "WHERE order_cycle_ids && %s::text[] AND deleted_at IS NULL ORDER BY schedule_id",
                  [cycle_ids]):
        if r["cycle_id"] in out:
            out[r["cycle_id"]].append(r["schedule_id"])
    return out


def cycle_from(r: dict[str, Any], tz: str, now: datetime, schedule_ids: list[str]) -> dict[str, Any]:
    c = cycle_from_row(r)
    return {"id": c.order_cycle_id, "shop_id": c.shop_id, "name": c.name, "opens_at": c.opens_at,
            "closes_at": c.closes_at, "opens_at_local": local(c.opens_at, tz),
            "closes_at_local": local(c.closes_at, tz),
            "timezone": tz, "status": c.status(now), "schedule_ids": schedule_ids, "created_at": r["created_at"],
            "updated_at": r["updated_at"], "version": c.version}


def cycle(conn: psycopg.Connection, shop_id: str, cycle_id: str, now: datetime) -> dict[str, Any] | None:
    found = row(conn, "SELECT * FROM order_cycles WHERE order_cycle_id = %s AND shop_id = %s AND deleted_at IS NULL",
                [cycle_id, shop_id])
    if found is None:
        return None
    return cycle_from(found, shop_timezone(conn, shop_id), now, schedules_by_cycle(conn, [cycle_id])[cycle_id])


def cycles_in_order(conn: psycopg.Connection, shop_id: str, ids: list[str], now: datetime) -> list[dict[str, Any]]:
    found = rows(conn, "SELECT * FROM order_cycles WHERE shop_id = %s AND order_cycle_id = ANY(%s) "
                       "AND deleted_at IS NULL ORDER BY opens_at, order_cycle_id", [shop_id, ids])
    tz, by_cycle = shop_timezone(conn, shop_id), schedules_by_cycle(conn, [r["order_cycle_id"] for r in found])
    return [cycle_from(r, tz, now, by_cycle[r["order_cycle_id"]]) for r in found]


def list_cycles(conn: psycopg.Connection, shop_id: str, page: PageRequest, now: datetime, *,
                schedule_id: str | None = None, status: list[str] | None = None,
                closes_after: datetime | None = None, opens_before: datetime | None = None) -> tuple[list, Any]:
    sort = CYCLE_SORTS[page.sort]
    query = Query(select("*", "order_cycles", sort, "order_cycle_id"), "order_cycle_id")
    query.filter("shop_id = %s", shop_id).filter("deleted_at IS NULL")
    if schedule_id is not None:
        query.filter("order_cycle_id = ANY(COALESCE((SELECT order_cycle_ids FROM schedules WHERE schedule_id = %s "
                     "AND shop_id = %s AND deleted_at IS NULL), '{}'))", schedule_id, shop_id)
    if status:  # any of them
        wanted = set(status)
        query.filter("((%s AND opens_at > %s) OR (%s AND opens_at <= %s AND closes_at > %s) OR "
                     "(%s AND closes_at <= %s))", "upcoming" in wanted, now, "open" in wanted, now, now,
                     "closed" in wanted, now)
    if closes_after is not None:
        query.filter("closes_at >= %s", closes_after)
    if opens_before is not None:
        query.filter("opens_at < %s", opens_before)
    found, cursor = fetch_page(conn, query, CYCLE_SORTS, page)
    tz, by_cycle = shop_timezone(conn, shop_id), schedules_by_cycle(conn, [r["order_cycle_id"] for r in found])
    return [cycle_from(r, tz, now, by_cycle[r["order_cycle_id"]]) for r in found], cursor


def schedule_from(conn: psycopg.Connection, r: dict[str, Any], now: datetime) -> dict[str, Any]:
    cycles = cycles_in_order(conn, r["shop_id"], list(r["order_cycle_ids"]), now)
    return {"id": r["schedule_id"], "shop_id": r["shop_id"], "name": r["name"],
            "order_cycle_ids": list(r["order_cycle_ids"]), "order_cycles": cycles,
            "subscription_count": r["subscription_count"], "created_at": r["created_at"],
            "updated_at": r["updated_at"], "version": r["version"]}


SCHEDULE_COLUMNS = ("schedules.*, (SELECT count(*) FROM subscriptions s WHERE s.schedule_id = schedules.schedule_id)"
                    " AS subscription_count")


def schedule(conn: psycopg.Connection, shop_id: str, schedule_id: str, now: datetime) -> dict[str, Any] | None:
    found = row(conn, f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE schedule_id = %s AND shop_id = %s "  # noqa: S608 - SCHEDULE_COLUMNS is a constant of this module
                      "AND deleted_at IS NULL", [schedule_id, shop_id])
    return schedule_from(conn, found, now) if found else None


def list_schedules(conn: psycopg.Connection, shop_id: str, page: PageRequest, now: datetime,
                   q: str | None) -> tuple[list, Any]:
    sort = SCHEDULE_SORTS[page.sort]
    query = Query(select(SCHEDULE_COLUMNS, "schedules", sort, "schedule_id"), "schedule_id")
    query.filter("shop_id = %s", shop_id).filter("deleted_at IS NULL")
    if q:
        query.filter("name ILIKE %s", like_pattern(q))
    found, cursor = fetch_page(conn, query, SCHEDULE_SORTS, page)
    return [schedule_from(conn, r, now) for r in found], cursor
