"""Bulk writes for runs of thousands of rows: COPY into a session-local temporary table, then one
INSERT ... SELECT (or UPDATE ... FROM) with whatever conflict clause the target needs.

COPY is several times faster than passing arrays of parameters (psycopg escapes every array element in
Python); the temporary table is emptied after each use, so a transaction may use it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from order_service.adapters.db import all_rows
from shared_events.setwrite import stage_rows


def staged(conn: psycopg.Connection, stage_name: str, target: str, columns: Sequence[str],
           rows: Iterable[Sequence[Any]], statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Copy ``rows`` (values for ``columns``, typed like those of table ``target``) into the temporary table
    ``_staged_<stage_name>``, then run ``statement``, which reads it as ``{staged}``; returns the rows it
    returns. One stage name, one column list."""
    stage = stage_rows(conn, f"_staged_{stage_name}", target, columns, rows, statement, columns[:1])
    result = all_rows(conn, sql.SQL(statement).format(staged=stage), params or None)
    conn.execute(sql.SQL("TRUNCATE {}").format(stage))
    return result
