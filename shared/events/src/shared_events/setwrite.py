"""Set-based projection writes for a run of events: many rows' statements become one statement.

A projector writes a row with ``write(conn, statement, params, row)``. On its own that is just
``conn.execute(statement.one, params)``. While a ``RowBatch`` is open on the connection (a rebuild's bulk projectors,
a ``set_based`` live consumer's batches: both through ``set_based``), the row is added to the batch instead, and when
the batch is flushed (at its end) the rows of one statement are written together: one statement
(``statement.from_staged``) applies all their rows, read from one JSON parameter (``run_staged``; or copied into
a temporary table first, for the rows JSON cannot carry). That is the same as
executing them in turn as long as no two rows of such a run have the same key (each row is then touched once) and
no write moves past another one to the same row (see ``RowBatch.flush``). The projector keeps the connection
itself: any statement it runs on it while the batch is open (a query, a statement of its own) first flushes the
batch, so it sees every earlier write.

A projector written this way must not decide on a batched write's row count (it is unknown: -1), as for
psycopg's pipeline mode.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Json, Jsonb

from shared_events import jsoncodec

Event = TypeVar("Event")

SMALL = 16  # a run shorter than this is sent with executemany (staging costs three more statements)


@dataclass(frozen=True, eq=False)
class SetStatement:
    """One row's statement and its set-based equivalent, compared by identity: the ``*_statement`` functions below
    build each once per table and column names (composing psycopg.sql objects at every write was about a third of
    a rebuild's time, py-spy), so a projector may call them at every write.

    ``one``: the statement for one row (``%s`` placeholders, filled by ``params``). ``table``: the table whose
    column types the staged rows take. ``columns``: the staged columns, in the order of ``row``. ``key``: the
    columns (among ``columns``) that name the row written. ``from_staged``: the statement that applies every
    staged row, with ``{staged}`` where the staging table's name goes."""

    one: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    from_staged: str
    _positions: tuple[int, ...] = field(init=False)
    _stage: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions", tuple(self.columns.index(k) for k in self.key))
        digest = hashlib.blake2s(repr((self.table, self.columns)).encode(), digest_size=6).hexdigest()
        object.__setattr__(self, "_stage", f"setwrite_{digest}")

    def key_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(row[p] for p in self._positions)


@lru_cache(maxsize=2048)
def upsert_statement(table: str, columns: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...],
                     guard: str | None = "version") -> SetStatement:
    """INSERT the row, or on a key conflict UPDATE ``update`` from it when the stored ``guard`` column is lower
    than the row's (always, when ``guard`` is None)."""
    t = sql.Identifier(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    conflict = sql.SQL("ON CONFLICT ({k}) DO UPDATE SET {s}").format(
        k=sql.SQL(", ").join(map(sql.Identifier, key)),
        s=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in update))
    if guard is not None:
        conflict += sql.SQL(" WHERE {t}.{g} < EXCLUDED.{g}").format(t=t, g=sql.Identifier(guard))
    one = sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ").format(
        t=t, c=cols, v=sql.SQL(", ").join(sql.Placeholder() * len(columns))) + conflict
    many = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {{staged}} ").format(t=t, c=cols) + conflict
    return SetStatement(one.as_string(None), table, columns, key, many.as_string(None))


@lru_cache(maxsize=2048)
def insert_new_statement(table: str, columns: tuple[str, ...], key: tuple[str, ...], *, key_only: bool = False
                         ) -> SetStatement:
    """INSERT the row unless it conflicts (ON CONFLICT DO NOTHING). ``key_only``: unless a row with its key exists
    (ON CONFLICT (key) DO NOTHING): a conflict on another unique constraint is an error."""
    t, cols = sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    target = sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, key))) if key_only else sql.SQL("")
    one = sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT {k} DO NOTHING").format(
        t=t, c=cols, v=sql.SQL(", ").join(sql.Placeholder() * len(columns)), k=target)
    many = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {{staged}} ON CONFLICT {k} DO NOTHING").format(
        t=t, c=cols, k=target)
    return SetStatement(one.as_string(None), table, columns, key, many.as_string(None))


@lru_cache(maxsize=2048)
def update_statement(table: str, values: tuple[str, ...], key: tuple[str, ...], guard: str | None = "version"
                     ) -> SetStatement:
    """UPDATE ``values`` of the row with ``key`` when its stored ``guard`` column is lower than the new one.
    ``params`` for one row: the values, then the key, then the guard's new value again; ``row``: the values,
    then the key."""
    t = sql.Identifier(table)
    where_one = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key)
    where_many = sql.SQL(" AND ").join(sql.SQL("{t}.{k} = s.{k}").format(t=t, k=sql.Identifier(k)) for k in key)
    if guard is not None:
        where_one += sql.SQL(" AND {} < %s").format(sql.Identifier(guard))
        where_many += sql.SQL(" AND {t}.{g} < s.{g}").format(t=t, g=sql.Identifier(guard))
    one = sql.SQL("UPDATE {t} SET {s} WHERE ").format(
        t=t, s=sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in values)) + where_one
    many = sql.SQL("UPDATE {t} SET {s} FROM {{staged}} AS s WHERE ").format(
        t=t, s=sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(sql.Identifier(n)) for n in values)) + where_many
    return SetStatement(one.as_string(None), table, (*values, *key), key, many.as_string(None))


def write(conn: psycopg.Connection, statement: SetStatement, params: Sequence[Any],
          row: Sequence[Any] | None = None) -> int:
    """Write one row: now (returns the row count), or into the ``RowBatch`` open on ``conn`` (returns -1).
    ``row``: the staged columns' values when they are not ``params`` as they are."""
    batch = _OPEN.get(id(conn))
    if batch is not None:
        batch.add(statement, params, params if row is None else row)
        return -1
    return int(conn.execute(statement.one, params).rowcount)


Queued = tuple[SetStatement, Sequence[Any], Sequence[Any]]  # statement, params for one row, staged columns' values

_OPEN: dict[int, RowBatch] = {}  # id(connection) -> the batch open on it (a batch holds its connection while open)


class RowBatch:
    """The rows written through ``write`` on one connection while the batch is open, written set-based when it is
    flushed: at the end of the ``with`` block, or before any other statement on the connection (see the module's
    docstring). Leaving the block by an exception drops the rows not yet written (the caller rolls back)::

        with RowBatch(conn):
            for event in events:
                apply(conn, event)
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self._queued: list[Queued] = []
        self._factory: type[psycopg.Cursor[Any]] | None = None

    def __enter__(self) -> RowBatch:
        if id(self.conn) in _OPEN:
            raise RuntimeError("a RowBatch is already open on this connection")
        _OPEN[id(self.conn)] = self
        self._factory = self.conn.cursor_factory
        self.conn.cursor_factory = _flushing_cursor(self._factory)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self._queued = []
            del _OPEN[id(self.conn)]
            if self._factory is not None:
                self.conn.cursor_factory = self._factory

    def add(self, statement: SetStatement, params: Sequence[Any], row: Sequence[Any]) -> None:
        self._queued.append((statement, params, row))

    def flush(self) -> None:
        """Write what is queued, in as few runs as possible. A run takes every queued write of the first one's
        statement that can move up to it: one whose row no write left in between touches (same table, same
        key), and not one whose key is already in the run. Writes to other tables move freely (projection tables
        have no triggers or foreign keys that would see the order); a write left in between on the same table
        with other key columns stops the run (it may touch any of its rows)."""
        pending, self._queued = self._queued, []
        while pending:
            statement = pending[0][0]
            run: list[Queued] = []
            rest: list[Queued] = []
            taken: set[tuple[Any, ...]] = set()
            passed: set[tuple[Any, ...]] = set()  # keys of the table written by writes left for later
            stopped = False
            for queued in pending:
                other = queued[0]
                if other is statement and not stopped:
                    key = statement.key_of(queued[2])
                    if key not in taken and key not in passed:
                        taken.add(key)
                        run.append(queued)
                        continue
                rest.append(queued)
                if other.table == statement.table:
                    if other.key == statement.key:
                        passed.add(other.key_of(queued[2]))
                    else:
                        stopped = True
            self._write(statement, run)
            pending = rest

    def _write(self, statement: SetStatement, run: list[Queued]) -> None:
        conn = self.conn
        if len(run) < SMALL:
            with conn.cursor() as cur:
                cur.executemany(statement.one, [params for _, params, _ in run])
            return
        run_staged(conn, statement._stage, statement.table, statement.columns, [row for _, _, row in run],
                   statement.from_staged, statement.key)


def _flushing_cursor(base: type[psycopg.Cursor[Any]]) -> type[psycopg.Cursor[Any]]:
    """``base``, whose statements first flush the batch open on their connection: the connection's cursors while a
    batch is open (psycopg's ``cursor_factory``; ``conn.execute`` goes through it too). Made once per base."""
    if base in _FLUSHING:
        return _FLUSHING[base]

    class FlushingCursor(base):  # type: ignore[valid-type, misc]
        execute = _flushing_first(base.execute)
        executemany = _flushing_first(base.executemany)
        copy = _flushing_first(base.copy)
        stream = _flushing_first(base.stream)

    _FLUSHING[base] = FlushingCursor
    return FlushingCursor


_FLUSHING: dict[type[psycopg.Cursor[Any]], type[psycopg.Cursor[Any]]] = {}


def _flushing_first(method: Callable[..., Any]) -> Callable[..., Any]:
    def flushing(cursor: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Any:
        _flush_open(cursor.connection)
        return method(cursor, *args, **kwargs)

    return flushing


def _flush_open(conn: psycopg.Connection) -> None:
    batch = _OPEN.get(id(conn))
    if batch is not None and batch._queued:
        batch.flush()


def stage_rows(conn: psycopg.Connection, stage_name: str, table: str, columns: Sequence[str],
               rows: Iterable[Sequence[Any]], statement: str, key: Sequence[str]) -> sql.Identifier:
    """COPY ``rows`` (values for ``columns``, typed like those of ``table``) into the session's temporary table
    ``stage_name`` (made on first use; the caller runs ``statement`` on it, then empties it), and return its name.

    Before an UPDATE, the stage's ``key`` columns are analyzed: never analyzed, a temporary table counts as at least
    10 pages (~1,100 rows) for the planner, and the join with it then hashes the whole target table, read end to
    end, even for one staged row. The row count is what matters, so the key columns alone are enough. An INSERT ...
    SELECT has no join to plan."""
    stage = sql.Identifier(stage_name)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {s} AS SELECT {c} FROM {t} WITH NO DATA").format(
        s=stage, c=cols, t=sql.Identifier(table)))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {s} ({c}) FROM STDIN").format(s=stage, c=cols)) as copy:
        for row in rows:
            copy.write_row(row)
    if statement.lstrip().upper().startswith("UPDATE"):
        conn.execute(sql.SQL("ANALYZE {} ({})").format(stage, sql.SQL(", ").join(map(sql.Identifier, key))))
    return stage


STAGED = "setwrite_staged"  # the name a statement run by run_staged reads its rows by


def run_staged(conn: psycopg.Connection, stage_name: str, table: str, columns: Sequence[str],
               rows: Sequence[Sequence[Any]], statement: str, key: Sequence[str],
               params: Sequence[Any] = (), row_factory: Any = None) -> list[Any]:
    """Run ``statement``, which reads ``rows`` (values for ``columns``, typed like those of ``table``) where it
    says ``{staged}``, with ``params`` for its own placeholders; returns the rows it returns (made by
    ``row_factory``, tuples by default). One round trip.

    The rows travel as one JSON parameter (an array of arrays) that a ``WITH`` in front of the statement turns back into
    typed columns: ``(e->>i)::<column type>`` takes each value's text, the same text COPY's text format or a parameter
    would give the column's input function. Its ``LIMIT`` (the number of rows: it leaves none out) is the planner's row
    count; a set-returning function counts as 100 rows, and an UPDATE ... FROM a few of them then hashed the whole
    target, read end to end, instead of finding them by key. orjson writes the whole run far faster than Python formats
    the rows for COPY, and there is no temporary table to make, fill, analyze and empty: a TRUNCATE of a temporary table
    in a new subtransaction makes a new file (bench/README.md, "Measured design choices"). Rows JSON cannot carry as the
    column's text (a value orjson does not write, such as a Decimal or bytes; a column of an array, composite or
    floating-point type) are copied into the temporary table ``stage_name`` instead (``stage_rows``), read by the same
    statement and emptied after it."""
    source = _json_source(conn, table, tuple(columns))
    doc = _rows_json(rows) if source is not None else None
    with conn.cursor(row_factory=row_factory) if row_factory else conn.cursor() as cur:
        if source is not None and doc is not None:
            cur.execute(_with_staged(statement, f"{source} LIMIT {len(rows)}"), [doc, *params])
            return cur.fetchall() if cur.description else []
        query = _format_staged(statement, sql.Identifier(stage_name))
        stage = stage_rows(conn, stage_name, table, columns, rows, query, key)
        cur.execute(query, params or None)
        result = cur.fetchall() if cur.description else []
        conn.execute(sql.SQL("TRUNCATE {}").format(stage))
        return result


def _format_staged(statement: str, staged: sql.Identifier) -> str:
    return statement.replace("{staged}", staged.as_string(None))


def _with_staged(statement: str, source: str) -> str:
    """``WITH setwrite_staged AS (<source>)`` in front of the statement (joined to its own WITH, if it has one),
    and ``{staged}`` replaced by that name: the rows are read where a temporary table's name would be, with or
    without an alias."""
    text = _format_staged(statement, sql.Identifier(STAGED))
    head = text.lstrip()
    if head[:4].upper() == "WITH" and head[4:5].isspace():
        return f"WITH {STAGED} AS ({source}), {head[5:]}"
    return f"WITH {STAGED} AS ({source}) {text}"


# connection -> (table, columns) -> the typed subquery over the JSON parameter, or None where COPY must stage
_SOURCES: weakref.WeakKeyDictionary[psycopg.Connection, dict[tuple[str, tuple[str, ...]], str | None]] = \
    weakref.WeakKeyDictionary()
_NOT_FROM_TEXT = frozenset("ACP")  # array, composite, pseudo-type: JSON's text of them is not their input syntax
_NOT_FROM_JSON = frozenset({"real", "double precision", "numeric"})  # orjson writes a NaN or an infinity as null


def _json_source(conn: psycopg.Connection, table: str, columns: tuple[str, ...]) -> str | None:
    """The subquery that types a run's JSON rows like ``table``'s ``columns``, read from the catalog once per
    connection and table (the table as ``conn``'s search path finds it)."""
    per_conn = _SOURCES.setdefault(conn, {})
    if (table, columns) in per_conn:
        return per_conn[(table, columns)]
    types = {name: (type_name, category) for name, type_name, category in conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped", [sql.Identifier(table).as_string(None)]).fetchall()}
    source: str | None = None
    if all(c in types and types[c][1] not in _NOT_FROM_TEXT and types[c][0] not in _NOT_FROM_JSON
           for c in columns):
        typed = ", ".join(f"(e->>{i})::{types[c][0]} AS {sql.Identifier(c).as_string(None)}"
                          for i, c in enumerate(columns))
        source = f"SELECT {typed} FROM jsonb_array_elements(%s::jsonb) AS e"  # noqa: S608 - column names quoted by sql.Identifier, types from the catalogue
    per_conn[(table, columns)] = source
    return source


def _json_default(value: Any) -> str:
    """psycopg's json wrappers as their document's text (a JSON string, whose ->> text the column's cast parses
    again, as it would a parameter); anything else orjson does not know: TypeError, and the rows go by COPY."""
    if isinstance(value, Json | Jsonb):
        dumps = value.dumps or jsoncodec.dumps_for_postgres
        out = dumps(value.obj)
        return out.decode() if isinstance(out, bytes) else out
    raise TypeError(type(value).__name__)


def _rows_json(rows: Sequence[Sequence[Any]]) -> str | None:
    try:
        return orjson.dumps(rows, default=_json_default).decode()
    except orjson.JSONEncodeError:  # a value it cannot write (or an int above 64 bits)
        return None


def set_based(apply: Callable[[psycopg.Connection, Event], None]
              ) -> Callable[[psycopg.Connection, Sequence[Event]], None]:
    """``apply`` for a run of events at once, in one ``RowBatch``: the rows written through ``write`` are written
    set-based (one statement per run of the same statement), anything else as usual. Same effect as applying
    them in turn. A rebuild's bulk projectors and a ``set_based`` live consumer's batches use it."""

    def apply_run(conn: psycopg.Connection, events: Sequence[Event]) -> None:
        with RowBatch(conn):
            for event in events:
                apply(conn, event)

    return apply_run
