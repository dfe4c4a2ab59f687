"""Helpers shared by the read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row


def local(at: datetime | None, tz: str) -> str | None:
    """An instant as a person of the shop reads it: ISO-8601 with the shop's offset."""
    return None if at is None else at.astimezone(ZoneInfo(tz)).isoformat()


def rows(conn: psycopg.Connection, query: str, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall()


def row(conn: psycopg.Connection, query: str, params: list[Any]) -> dict[str, Any] | None:
    found = rows(conn, query, params)
    return found[0] if found else None


def shop_timezone(conn: psycopg.Connection, shop_id: str) -> str:
    found = row(conn, "SELECT settings->>'timezone' AS tz FROM shops WHERE shop_id = %s", [shop_id])
    return found["tz"] if found and found["tz"] else "UTC"
