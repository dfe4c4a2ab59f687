"""PostgreSQL: a connection pool per process and a tiny SQL migration runner.

Migrations are plain .sql files applied in name order, each once, recorded in
``schema_migrations`` of the current schema (so the rebuild's scratch schema gets
its own copy). The platform's own tables (event store, inbox, tokens,
idempotency keys) come first, then the service's ``migrations/`` folder.
"""

from __future__ import annotations

import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def make_pool(dsn: str, *, min_size: int = 1, max_size: int = 8, name: str = "pool") -> ConnectionPool:
    """A pool whose connections return dict rows. Opened lazily by the first use, never at import."""
    return ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        name=name,
        kwargs={"row_factory": dict_row},
        open=True,
        timeout=10,
        max_idle=300,
        reconnect_timeout=60,
        check=ConnectionPool.check_connection,
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
