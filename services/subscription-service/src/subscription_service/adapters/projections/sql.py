"""Small SQL helpers for version-guarded projection writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from shared_events.setwrite import update_statement, upsert_statement, write


def jsonb(value: Any) -> Jsonb | None:
    """A jsonb parameter, dumped by the process-wide orjson dumper (shared_events.jsoncodec), which writes a
    datetime as its isoformat(), as the json module with a default did here, at a fraction of the cost."""
    return None if value is None else Jsonb(value)


def upsert(conn: psycopg.Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any],
           insert_only: Mapping[str, Any] | None = None) -> int:
    """INSERT the row, or UPDATE ``values`` when the stored version is older than ``values["version"]``. Set-based
    in a rebuild (shared_events.setwrite)."""
    cols = {**key, **(insert_only or {}), **values}
    return write(conn, upsert_statement(table, tuple(cols), tuple(key), tuple(values)), list(cols.values()))


def update(conn: psycopg.Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """UPDATE ``values`` where the stored version is older than ``values["version"]``; returns the row count
    (-1 in a rebuild, where it is set-based)."""
    row = [*values.values(), *key.values()]
    return write(conn, update_statement(table, tuple(values), tuple(key)), [*row, values["version"]], row)

