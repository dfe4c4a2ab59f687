"""Small SQL helpers for version-guarded projection writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value, dumps=lambda v: json.dumps(v, default=_default))


def upsert(conn: psycopg.Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any],
           insert_only: Mapping[str, Any] | None = None) -> int:
    """INSERT the row, or UPDATE ``values`` when the stored version is older than ``values["version"]``."""
    cols = {**key, **(insert_only or {}), **values}
    names = list(cols)
    query = sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT ({k}) DO UPDATE SET {s} "
                    "WHERE {t}.version < EXCLUDED.version").format(
        t=sql.Identifier(table), c=sql.SQL(", ").join(map(sql.Identifier, names)),
        v=sql.SQL(", ").join(sql.Placeholder() * len(names)), k=sql.SQL(", ").join(map(sql.Identifier, key)),
        s=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in values))
    return conn.execute(query, list(cols.values())).rowcount


def update(conn: psycopg.Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """UPDATE ``values`` where the stored version is older than ``values["version"]``; returns the row count."""
    query = sql.SQL("UPDATE {t} SET {s} WHERE {w} AND version < %s").format(
        t=sql.Identifier(table),
        s=sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in values),
        w=sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in key))
    return conn.execute(query, [*values.values(), *key.values(), values["version"]]).rowcount
