"""PostgreSQL: a connection pool per process and a tiny SQL migration runner.

Migrations are plain .sql files applied in name order, each once, recorded in
``schema_migrations`` of the current schema (so the rebuild's scratch schema gets
its own copy). The platform's own tables (event store, inbox, tokens,
idempotency keys) come first, then the service's ``migrations/`` folder.
"""

from __future__ import annotations

import weakref
import zlib
from importlib import resources
from pathlib import Path
from time import monotonic
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

CHECK_AFTER_IDLE_S = 1.0


class CheckedPool(ConnectionPool):
    """A pool that checks a connection with a round trip before handing it out, unless it came back from a
    request less than ``CHECK_AFTER_IDLE_S`` ago.

    Under load a connection comes back and goes out again within milliseconds: checking it then is a round trip per
    request (an empty query, costing client and server CPU) that learns nothing the last request did not. A connection
    idle longer (PostgreSQL may have restarted meanwhile) is checked as before, and a broken one is replaced before a
    request sees it. What is left is a connection that breaks in the second after its last good use: its request fails
    once (a 500/503) and the pool replaces it when it comes back broken.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        super().__init__(*args, check=self._check_unless_just_used, **kwargs)

    def putconn(self, conn: Any) -> None:
        self._returned_at[conn] = monotonic()
        super().putconn(conn)

    def _check_unless_just_used(self, conn: Any) -> None:
        returned = self._returned_at.pop(conn, None)
        if returned is None or monotonic() - returned >= CHECK_AFTER_IDLE_S:
            ConnectionPool.check_connection(conn)


def make_pool(dsn: str, *, min_size: int = 1, max_size: int = 8, name: str = "pool") -> ConnectionPool:
    """A pool whose connections return dict rows. Opened lazily by the first use, never at import."""
    return CheckedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        name=name,
        kwargs={"row_factory": dict_row},
        open=True,
        timeout=10,
        max_idle=300,
        reconnect_timeout=60,
    )


def _platform_migrations() -> list[tuple[str, str]]:
    out = []
    for pkg in ("shared_events", "servicekit"):
        folder = resources.files(pkg) / "sql"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                out.append((f"{pkg}/{entry.name}", entry.read_text()))
    return out


def migration_files(service_dir: Path) -> list[tuple[str, str]]:
    files = sorted(p for p in service_dir.glob("*.sql"))
    return _platform_migrations() + [(f"service/{p.name}", p.read_text()) for p in files]


def migrate(conn: psycopg.Connection, service_dir: Path) -> list[str]:
    """Apply pending migrations in the connection's current schema. Safe to run concurrently."""
    applied: list[str] = []
    schema: Any = conn.execute("SELECT current_schema()").fetchone()
    schema_name = schema[0] if not isinstance(schema, dict) else schema["current_schema"]
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"migrate:{schema_name}".encode())])
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {r[0] if not isinstance(r, dict) else r["name"] for r in conn.execute("SELECT name FROM schema_migrations")}
    for name, text in migration_files(service_dir):
        if name in done:
            continue
        conn.execute(text.encode())  # trusted files of our own, many statements: sent as one query
        conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", [name])
        applied.append(name)
    return applied


def migrate_dsn(dsn: str, service_dir: Path) -> list[str]:
    with psycopg.connect(dsn) as conn:
        applied = migrate(conn, service_dir)
        conn.commit()
    return applied


def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create database ``name`` on the server of ``admin_dsn`` if missing. Returns True if created."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return True


def with_database(dsn: str, name: str) -> str:
    """The same server URL pointing at another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    params["dbname"] = name
    return make_conninfo("", **params)
