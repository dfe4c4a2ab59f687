"""Bulk writes for runs of thousands of rows: one INSERT ... SELECT (or UPDATE ... FROM) with whatever conflict
clause the target needs, reading the rows from one JSON parameter (shared_events.setwrite.run_staged; rows JSON
cannot carry go through COPY into a session-local temporary table).

Both are several times faster than passing arrays of parameters (psycopg escapes every array element in Python).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared_events.setwrite import run_staged


def staged(conn: psycopg.Connection, stage_name: str, target: str, columns: Sequence[str],
           rows: Iterable[Sequence[Any]], statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run ``statement``, which reads ``rows`` (values for ``columns``, typed like those of table ``target``) as
    ``{staged}``; returns the rows it returns. ``_staged_<stage_name>`` names the temporary table, when rows go by
    COPY: one stage name, one column list."""
    return run_staged(conn, f"_staged_{stage_name}", target, columns, list(rows), statement, columns[:1], params,
                      row_factory=dict_row)
