"""Set-based projection writes (shared_events.setwrite) leave exactly the rows that writing each in turn leaves,
against real PostgreSQL."""

import contextlib
import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared_events import setwrite
from shared_events.setwrite import RowBatch, insert_new_statement, set_based, update_statement, upsert_statement, write

pytestmark = pytest.mark.integration

SCHEMA = """
CREATE TABLE rows_{s} (id text PRIMARY KEY, shop text NOT NULL, name text, n int, tags text[], data jsonb,
                       at timestamptz, version int NOT NULL);
CREATE TABLE pairs_{s} (a text, b text, note text, PRIMARY KEY (a, b));
"""


def _writes(seed, suffix):
    """A random sequence of writes of five shapes (in runs, interleaved), with repeated keys, versions out of order,
    a write keyed otherwise on the same table and reads between them."""
    rng = random.Random(seed)
    table, pairs = f"rows_{suffix}", f"pairs_{suffix}"
    full = upsert_statement(table, ("id", "shop", "name", "n", "tags", "data", "at", "version"), ("id",),
                            ("name", "n", "tags", "data", "at", "version"))
    partial = upsert_statement(table, ("id", "shop", "n", "version"), ("id",), ("n", "version"))
    update = update_statement(table, ("name", "version"), ("id",))
    pair = insert_new_statement(pairs, ("a", "b", "note"), ("a", "b"))
    by_shop = update_statement(table, ("n",), ("shop",), guard=None)  # other key columns: every row of a shop
    at = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    kinds = []
    while len(kinds) < 400:  # runs of one shape, as a replay has (a topic's events of one type together)
        kinds += [rng.choice(["full"] * 4 + ["partial", "update", "pair", "read", "by_shop"])] * rng.randint(1, 40)
    for i, kind in enumerate(kinds):
        ident = f"r{rng.randint(0, 60)}"
        version = rng.randint(1, 6)
        if kind == "full":
            out.append((full, [ident, "shop", f"name {i}", i, [f"t{i}", "x"], Jsonb({"i": i, "k": [1, None]}),
                               at + timedelta(minutes=i), version], None))
        elif kind == "partial":
            out.append((partial, [ident, "shop", i, version], None))
        elif kind == "update":
            out.append((update, [f"renamed {i}", version, ident, version], [f"renamed {i}", version, ident]))
        elif kind == "by_shop":
            out.append((by_shop, [-i, rng.choice(["shop", "other"])], None))
        elif kind == "pair":
            out.append((pair, [f"a{rng.randint(0, 5)}", f"b{rng.randint(0, 5)}", f"note {i}"], None))
        else:
            out.append(("read", None, None))
    return out


def _apply(conn, writes, suffix):
    seen = []
    for statement, params, row in writes:
        if statement == "read":  # anything else done with the connection sees the writes queued before it
            seen.append(conn.execute(f"SELECT count(*), coalesce(sum(version), 0) FROM rows_{suffix}").fetchone())
        else:
            write(conn, statement, params, row)
    return seen


def _dump(conn, suffix):
    return (conn.execute(f"SELECT * FROM rows_{suffix} ORDER BY id").fetchall(),
            conn.execute(f"SELECT * FROM pairs_{suffix} ORDER BY a, b").fetchall())


@pytest.mark.parametrize("seed", range(12))
def test_writing_set_based_leaves_the_rows_that_writing_one_by_one_leaves(make_db, monkeypatch, seed):
    monkeypatch.setattr(setwrite, "SMALL", 3)  # most runs staged and copied; the shortest ones sent as they are
    dsn = make_db(None)
    with psycopg.connect(dsn) as conn:
        for suffix in ("one", "set"):
            conn.execute(SCHEMA.format(s=suffix))
        one_seen = _apply(conn, _writes(seed, "one"), "one")
        with RowBatch(conn):
            set_seen = _apply(conn, _writes(seed, "set"), "set")
        assert set_seen == one_seen
        assert _dump(conn, "set") == _dump(conn, "one")
        assert conn.execute("SELECT count(*) FROM rows_set").fetchone()[0] > 0


def test_a_run_applied_set_based_hands_each_projector_the_connection_itself_and_its_statements_see_earlier_rows(
        make_db):
    """The batch is its own object: the projector gets the connection (no stand-in), its rows go into the batch
    open on it, a statement it runs there first writes them, and once the run is over a write is direct again."""
    with psycopg.connect(make_db(None)) as conn:
        conn.execute(SCHEMA.format(s="own"))
        statement = upsert_statement("rows_own", ("id", "shop", "version"), ("id",), ("shop", "version"))
        handed, counts, seen = [], [], []

        def apply(target, i):
            handed.append(target)
            counts.append(write(target, statement, [f"r{i}", "shop", 1]))
            if i == 2:
                seen.append(target.execute("SELECT count(*) FROM rows_own").fetchone()[0])

        set_based(apply)(conn, range(5))
        assert all(target is conn for target in handed) and type(conn) is psycopg.Connection
        assert counts == [-1] * 5 and seen == [3]
        assert conn.execute("SELECT count(*) FROM rows_own").fetchone()[0] == 5
        assert write(conn, statement, ["r9", "shop", 1]) == 1 and conn.cursor_factory is psycopg.Cursor


def test_a_batch_left_by_an_error_writes_none_of_its_rows_and_gives_the_connection_back_as_it_was(make_db):
    with psycopg.connect(make_db(None)) as conn:
        conn.execute(SCHEMA.format(s="err"))
        statement = upsert_statement("rows_err", ("id", "shop", "version"), ("id",), ("shop", "version"))
        with pytest.raises(ValueError, match="on purpose"), RowBatch(conn):
            write(conn, statement, ["r1", "shop", 1])
            raise ValueError("on purpose")
        assert conn.cursor_factory is psycopg.Cursor
        assert conn.execute("SELECT count(*) FROM rows_err").fetchone()[0] == 0
        with RowBatch(conn), pytest.raises(RuntimeError, match="already open"), RowBatch(conn):
            pass


@pytest.mark.parametrize("set_based", [False, True])
def test_an_insert_new_on_its_key_only_still_refuses_a_conflict_on_another_unique_constraint(make_db, monkeypatch,
                                                                                              set_based):
    monkeypatch.setattr(setwrite, "SMALL", 1)  # staged and copied even for two rows
    dsn = make_db(None)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE pay (id text PRIMARY KEY, order_id text UNIQUE, n int)")
        conn.commit()
        any_conflict = insert_new_statement("pay", ("id", "order_id", "n"), ("id",))
        on_key = insert_new_statement("pay", ("id", "order_id", "n"), ("id",), key_only=True)
        with RowBatch(conn) if set_based else contextlib.nullcontext():
            for statement in (any_conflict, on_key):
                write(conn, statement, ["p1", "o1", 1])
                write(conn, statement, ["p1", "o1", 2])  # its key again: nothing, either way
            write(conn, any_conflict, ["p2", "o1", 3])  # another payment of o1: ignored
        assert conn.execute("SELECT id, order_id, n FROM pay").fetchall() == [("p1", "o1", 1)]
        conn.commit()
        with pytest.raises(psycopg.errors.UniqueViolation), RowBatch(conn) if set_based else contextlib.nullcontext():
            write(conn, on_key, ["p3", "o1", 4])
            write(conn, on_key, ["p4", "o2", 5])


def test_a_staged_update_of_a_few_rows_looks_them_up_by_key_instead_of_scanning_the_whole_table(make_db):
    """Never analyzed, a staged temporary table counts as ~1,100 rows for the planner: the UPDATE ... FROM it then
    hashes the target, read end to end, for every run (in a replay, a whole projection table per run). Analyzed
    after its COPY, a short run finds its rows through the target's key."""
    with psycopg.connect(make_db(None)) as conn:
        conn.execute(SCHEMA.format(s="big"))
        conn.execute("INSERT INTO rows_big (id, shop, version) SELECT 'r' || i, 'shop', 1 "
                     "FROM generate_series(1, 20000) i")
        conn.execute("ANALYZE rows_big")
        conn.commit()
        update = update_statement("rows_big", ("name", "version"), ("id",))
        scans = []
        for version in (2, 3):  # two runs: the first also makes the stage (CREATE TABLE AS counts a scan)
            with RowBatch(conn):
                for i in range(setwrite.SMALL):  # the shortest run that is staged
                    row = [f"renamed {i}", version, f"r{i * 100 + 1}"]
                    write(conn, update, [*row, version], row)
            scans.append(conn.execute("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                                      "WHERE relname = 'rows_big'").fetchone())
        renamed = conn.execute("SELECT count(*) FROM rows_big WHERE version = 3").fetchone()[0]
    assert renamed == setwrite.SMALL
    assert scans[1][0] == scans[0][0] and scans[1][1] > scans[0][1], scans  # the second run: by key only


TYPES = """
CREATE TABLE typed_{s} (id text PRIMARY KEY, t text, i int, b bigint, flag boolean, at timestamptz, day date,
                        doc jsonb, raw jsonb, u uuid, version int NOT NULL);
"""
TRICKY = ["plain", 'quo"te', "back\\slash", "tab\tnew\nline", "é ü 漢字 🍅", "{}", "NULL", "\\N", "", " lead"]


def _temporary_stages(conn):
    return conn.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'setwrite_%'"
                        ).fetchone()[0]


def test_rows_read_from_the_json_parameter_are_the_rows_parameters_give(make_db, monkeypatch):
    """A run's rows travel as one JSON document, each value cast from its text: strings that COPY or JSON escape,
    jsonb from psycopg's wrapper (a JSON string among them) and from text, times, dates, uuids, NULLs. No
    temporary table is made for them; a value orjson cannot write (a Decimal) sends its run through COPY, to the
    same rows."""
    import uuid
    from decimal import Decimal

    monkeypatch.setattr(setwrite, "SMALL", 1)
    at = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
    statement = {s: upsert_statement(f"typed_{s}", ("id", "t", "i", "b", "flag", "at", "day", "doc", "raw", "u",
                                                    "version"), ("id",), ("t", "i", "doc", "version"))
                 for s in ("one", "set")}

    def rows(first):
        return [[f"r{n}", text, n, 2**40 + n, n % 2 == 0, at + timedelta(days=n), (at + timedelta(days=n)).date(),
                 Jsonb({"text": text, "n": [n, None], "at": at}) if n % 3 else Jsonb(text), '{"k": "v\\"q"}',
                 uuid.UUID(int=n), first + n] for n, text in enumerate(TRICKY)] + [
                [f"none{first}", None, None, None, None, None, None, None, None, None, first]]

    with psycopg.connect(make_db(None)) as conn:
        for s in ("one", "set"):
            conn.execute(TYPES.format(s=s))
        for version in (1, 5):  # inserts, then the same keys updated
            for row in rows(version):
                write(conn, statement["one"], row)
            with RowBatch(conn):
                for row in rows(version):
                    write(conn, statement["set"], row)
        assert _temporary_stages(conn) == 0
        dump = "SELECT * FROM typed_{} ORDER BY id"
        assert conn.execute(dump.format("set")).fetchall() == conn.execute(dump.format("one")).fetchall()
        assert conn.execute("SELECT count(*) FROM typed_set").fetchone()[0] == len(TRICKY) + 2

        for n in range(3):
            write(conn, statement["one"], [f"dec{n}", "d", Decimal(n), None, None, None, None, None, None, None, 1])
        with RowBatch(conn):  # i from a Decimal: orjson refuses it, COPY takes the run
            for n in range(3):
                write(conn, statement["set"],
                      [f"dec{n}", "d", Decimal(n), None, None, None, None, None, None, None, 1])
        assert _temporary_stages(conn) == 1
        assert conn.execute(dump.format("set")).fetchall() == conn.execute(dump.format("one")).fetchall()


def test_a_staged_statement_with_its_own_with_and_an_alias_reads_the_rows(make_db):
    with psycopg.connect(make_db(None)) as conn:
        conn.execute("CREATE TABLE t (id text PRIMARY KEY, n int)")
        conn.execute("INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)")
        out = setwrite.run_staged(
            conn, "stage_t", "t", ("id", "n"), [("a", 10), ("b", 20)],
            "WITH old AS (SELECT id, n FROM t) UPDATE t SET n = s.n + %s FROM {staged} s, old "
            "WHERE t.id = s.id AND old.id = s.id RETURNING t.id, old.n, t.n", ("id",), [1])
        assert sorted(out) == [("a", 1, 11), ("b", 2, 21)]
        assert conn.execute("SELECT n FROM t WHERE id = 'c'").fetchone()[0] == 3
