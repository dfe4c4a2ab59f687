"""The dues recorded for placement (order_dues, PostgreSQL): those taken up again once what held them back
has gone.

A use case names the dues it means with ``DuesOf`` (a shop's, a subscription's, an occurrence's); the
statements here turn that into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
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

    def condition(self) -> tuple[sql.Composable, list[Any]]:
        """``d.<column> = %s`` for each field given, and their values."""
        given = [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]
        assert given, "DuesOf names at least one of shop, subscription, order cycle"
        return (sql.SQL(" AND ").join(sql.SQL("d.{} = %s").format(sql.Identifier(name)) for name, _ in given),
                [value for _, value in given])


def release_waiting(conn: psycopg.Connection, dues: DuesOf) -> list[dict[str, Any]]:
    """These dues that waited for data become pending again; returns them in placement order (cycle, then
    subscription), each with its cycle's ``closed_at`` (set when the cycle closed meanwhile)."""
    condition, params = dues.condition()
    return all_rows(conn, sql.SQL(
        """
        WITH released AS (
            UPDATE order_dues d SET state = 'pending', skipped_because = NULL
            WHERE d.state = 'waiting' AND {condition}
            RETURNING d.*
        )
        SELECT r.*, c.closed_at FROM released r LEFT JOIN order_cycles c ON c.order_cycle_id = r.order_cycle_id
        ORDER BY r.order_cycle_id, r.subscription_id
        """).format(condition=condition), params)


def release_set_aside(conn: psycopg.Connection, dues: DuesOf, now: datetime) -> list[dict[str, Any]]:
    """These dues set aside (paused, skipped) whose cycle is still open at ``now`` become pending again; returns
    them in cycle order."""
    condition, params = dues.condition()
    return all_rows(conn, sql.SQL(
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
        """).format(condition=condition), [*params, now])
