"""Row helpers that behave the same on the API's pooled connections (dict rows) and the workers'
plain ones (tuple rows): every query here returns dicts."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row


def all_rows(conn: psycopg.Connection, query: Any, params: Any = None, *, binary: bool = False
             ) -> list[dict[str, Any]]:
    """``binary``: parameters and results in PostgreSQL's binary format (an array of 100,000 ids is
    escaped element by element in Python in the text format)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params, binary=binary)
        return cur.fetchall() if cur.description else []


def one_row(conn: psycopg.Connection, query: Any, params: Any = None) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchone() if cur.description else None


def value(conn: psycopg.Connection, query: Any, params: Any = None) -> Any:
    row = one_row(conn, query, params)
    return next(iter(row.values())) if row else None
