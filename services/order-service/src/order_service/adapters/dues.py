"""The dues recorded for placement (order_dues, PostgreSQL): those taken up again once what held them back
has gone.

A use case names the dues it means with ``DuesOf`` (a shop's, a subscription's, an occurrence's); the
statements here turn that into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from psycopg import sql

from order_service.adapters.db import all_rows


@dataclass(frozen=True)
class DuesOf:
    """Which dues: each field given narrows them (a shop's; a subscription's; an occurrence's: subscription and
    order cycle)."""

    shop_id: str | None = None
    subscription_id: str | None = None
    order_cycle_id: str | None = None

    def given(self) -> tuple[tuple[str, ...], list[Any]]:
        """The columns narrowed (``d.<column> = %s``), and their values."""
        named = [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]
        assert named, "DuesOf names at least one of shop, subscription, order cycle"
        return tuple(name for name, _ in named), [value for _, value in named]


def _statement(template: str, columns: tuple[str, ...]) -> str:
    condition = sql.SQL(" AND ").join(sql.SQL("d.{} = %s").format(sql.Identifier(c)) for c in columns)
    return sql.SQL(template).format(condition=condition).as_string(None)


@cache
def _release_waiting(columns: tuple[str, ...]) -> str:
    return _statement(
        """
        WITH released AS (
            UPDATE order_dues d SET state = 'pending', skipped_because = NULL
            WHERE d.state = 'waiting' AND {condition}
            RETURNING d.*
        )
        SELECT r.*, c.closed_at FROM released r LEFT JOIN order_cycles c ON c.order_cycle_id = r.order_cycle_id
        ORDER BY r.order_cycle_id, r.subscription_id
        """, columns)


def release_waiting(conn: psycopg.Connection, dues: DuesOf) -> list[dict[str, Any]]:
    """These dues that waited for data become pending again; returns them in placement order (cycle, then
    subscription), each with its cycle's ``closed_at`` (set when the cycle closed meanwhile)."""
    columns, params = dues.given()
    return all_rows(conn, _release_waiting(columns), params)


@cache
def _release_set_aside(columns: tuple[str, ...]) -> str:
    return _statement(
        """
        WITH released AS (
            UPDATE order_dues d SET state = 'pending', skipped_because = NULL
            FROM order_dues o LEFT JOIN order_cycles c ON c.order_cycle_id = o.order_cycle_id
            WHERE o.subscription_id = d.subscription_id AND o.order_cycle_id = d.order_cycle_id
              AND d.state = 'skipped' AND {condition}
              AND c.closed_at IS NULL AND coalesce(c.closes_at, o.closes_at) > %s
            RETURNING d.*
        )
        SELECT * FROM released ORDER BY order_cycle_id
        """, columns)


def release_set_aside(conn: psycopg.Connection, dues: DuesOf, now: datetime) -> list[dict[str, Any]]:
    """These dues set aside (paused, skipped) whose cycle is still open at ``now`` become pending again; returns
    them in cycle order."""
    columns, params = dues.given()
    return all_rows(conn, _release_set_aside(columns), [*params, now])
