"""Read-side SQL: filtered, sorted, cursor-paginated lists (keyset pagination on (sort value, id))."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass(frozen=True)
class Sort:
    name: str  # what the API calls it, e.g. "created_at"
    expr: str  # SQL expression
    kind: str = "time"  # time | text


@dataclass(frozen=True)
class PageRequest:
    limit: int
    sort: str
    descending: bool = False
    cursor: list[Any] | None = None  # decoded: [sort value (a time as ISO-8601), id]


@dataclass
class Query:
    """A SELECT being assembled: filters with their parameters."""

    base: str
    id_expr: str
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def filter(self, clause: str, *params: Any) -> Query:
        self.where.append(clause)
        self.params.extend(params)
        return self


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cursor_value(sort: Sort, page: PageRequest) -> tuple[Any, str] | None:
    """The (sort value, id) after which this page starts. The cursor is one this list made with this sort
    (servicekit.web.cursors checked its signature, list and shape), so a time sort's value is a time it wrote."""
    if page.cursor is None:
        return None
    value, last_id = page.cursor
    return (datetime.fromisoformat(value) if sort.kind == "time" else value), last_id


def fetch_page(conn: psycopg.Connection, q: Query, sorts: dict[str, Sort],
               page: PageRequest) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """(rows of this page, the decoded cursor of the next page or None)."""
    sort = sorts[page.sort]
    where, params = list(q.where), list(q.params)
    after = _cursor_value(sort, page)
    op, direction = ("<", "DESC") if page.descending else (">", "ASC")
    if after is not None:
        where.append(f"({sort.expr}, {q.id_expr}) {op} (%s, %s)")
        params.extend(after)
    query = q.base + (" WHERE " + " AND ".join(where) if where else "")
    query += f" ORDER BY {sort.expr} {direction}, {q.id_expr} {direction} LIMIT %s"
    params.append(page.limit + 1)
    with conn.cursor(row_factory=dict_row) as cur:
        # never a prepared statement: PostgreSQL's generic plan for these filters (text search, derived state)
        # was measured far slower than a plan made for the actual values
        cur.execute(query, params, prepare=False)  # type: ignore[arg-type]
        rows = cur.fetchall()
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[:page.limit]
    last = rows[-1]
    value = last["_sort"]
    shown = value.isoformat() if isinstance(value, datetime) else str(value)
    return rows, [shown, str(last["_id"])]


def select(columns: str, table: str, sort: Sort, id_expr: str) -> str:
    return f"SELECT {columns}, {sort.expr} AS _sort, {id_expr} AS _id FROM {table}"  # noqa: S608 - columns, table and sort expressions come from code, never from input
