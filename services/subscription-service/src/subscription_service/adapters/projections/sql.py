"""Small SQL helpers for version-guarded projection writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
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
    return conn.execute(_upsert_sql(table, tuple(cols), tuple(key), tuple(values)), list(cols.values())).rowcount


def update(conn: psycopg.Connection, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """UPDATE ``values`` where the stored version is older than ``values["version"]``; returns the row count."""
    return conn.execute(_update_sql(table, tuple(values), tuple(key)),
                        [*values.values(), *key.values(), values["version"]]).rowcount


# The statements depend only on the table and the column names: composed once each (composing psycopg.sql objects
# at every call was about a third of a rebuild's time, py-spy).


@lru_cache(maxsize=512)
def _upsert_sql(table: str, names: tuple[str, ...], key: tuple[str, ...], values: tuple[str, ...]) -> str:
    return sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT ({k}) DO UPDATE SET {s} "
                   "WHERE {t}.version < EXCLUDED.version").format(
        t=sql.Identifier(table), c=sql.SQL(", ").join(map(sql.Identifier, names)),
        v=sql.SQL(", ").join(sql.Placeholder() * len(names)), k=sql.SQL(", ").join(map(sql.Identifier, key)),
        s=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in values)
    ).as_string(None)


@lru_cache(maxsize=512)
def _update_sql(table: str, values: tuple[str, ...], key: tuple[str, ...]) -> str:
    return sql.SQL("UPDATE {t} SET {s} WHERE {w} AND version < %s").format(
        t=sql.Identifier(table),
        s=sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in values),
        w=sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in key)).as_string(None)
