"""Projection rebuild: replay topics from offset 0 into a fresh schema, compare, optionally swap.

A service's projections are pure functions of events. To prove it (and to repair
a projection), we create a scratch schema, run the service's migrations there,
read every record of the given topics up to the end offsets seen at the start,
merge them by Kafka timestamp (the order they were produced in), apply each
with the same ``apply`` the live consumer and the write path use, then diff each
projection table against the live one. ``swap=True`` replaces the live rows.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import multiprocessing
import os
import queue
import struct
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from shared_events import gctuning, jsoncodec
from shared_events import kafka as kafka_clients
from shared_events.envelope import Envelope, decode
from shared_events.registry import DecodeError
from shared_events.topics import physical, prefix

log = logging.getLogger("shared_events.rebuild")

Apply = Callable[[psycopg.Connection, Envelope], None]


@dataclass
class RebuildReport:
    events: int = 0
    undecodable: int = 0
    chunks_one_by_one: int = 0  # chunks that failed as a whole and were applied again event by event (slow)
    seconds: float = 0.0
    differences: dict[str, int] = field(default_factory=dict)
    swapped: bool = False

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def identical(self) -> bool:
        return not any(self.differences.values())


def read_topics(topics: Iterable[str], bootstrap: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Every record of the topics up to their current end, merged by (timestamp, topic, partition, offset).

    Each partition is read once, straight through, into a spill file of its own, and the merge then reads the
    files side by side, so the memory held is a few buffers per partition whatever the topics' size. Yields
    (timestamp ms, topic, partition, offset, value)."""
    with tempfile.TemporaryDirectory(prefix="rebuild-") as folder:
        yield from heapq.merge(*_spill(topics, bootstrap, Path(folder)))


READ_BATCH = 10_000  # records taken from librdkafka per call
_HEAD = struct.Struct("<qqi")  # a spilled record: timestamp ms, offset, value length (-1: no value), then the value
_SPILL_BUFFER = 256 * 1024


def _spill(topics: Iterable[str], bootstrap: str | None, folder: Path) -> list[Iterator[tuple[Any, ...]]]:
    """Read every partition of ``topics`` up to its end offset seen now into ``folder``, one file per partition,
    in offset order; the readers of those files, each yielding (timestamp ms, topic, partition, offset, value).

    A file instead of memory: the merge needs every partition's next record at once, and librdkafka hands out a
    partition in long runs, so reading as the merge goes means holding (or pausing and fetching again) a long run
    of every partition, which held hundreds of MB on a large topic, and the fetches after a resume cost more than
    the reading (bench/README.md, "Measured design choices"). Straight through, reading is a small part of a replay."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError
    from confluent_kafka import TopicPartition as Partition

    consumer = Consumer({"bootstrap.servers": bootstrap or kafka_clients.bootstrap_servers(),
                         "group.id": f"rebuild-{uuid.uuid4().hex}", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         "enable.partition.eof": True,
                         "fetch.max.bytes": 16 * 1024 * 1024, "queued.max.messages.kbytes": 16 * 1024,
                         # librdkafka's default waits a whole second before fetching again for a partition whose
                         # queue was full, and reading straight through fills it all the time: several times
                         # slower to read with the default (bench/README.md, "Measured design choices")
                         "fetch.queue.backoff.ms": 5,
                         **kafka_clients.security_config()})
    files: dict[tuple[str, int], Any] = {}
    try:
        metadata = consumer.list_topics(timeout=30)
        end: dict[tuple[str, int], int] = {}
        for t in topics:
            topic = metadata.topics.get(physical(t))
            if topic is None or topic.error is not None:
                continue
            for p in sorted(topic.partitions):
                low, high = consumer.get_watermark_offsets(Partition(physical(t), p), timeout=30)
                if high > low:
                    end[(physical(t), p)] = high
        if not end:
            return []
        files = {tp: open(folder / f"{n}.spill", "wb", buffering=_SPILL_BUFFER)  # noqa: SIM115 - closed below
                 for n, tp in enumerate(end)}
        consumer.assign([Partition(t, p, OFFSET_BEGINNING) for t, p in end])
        unread = set(end)
        while unread:
            for msg in consumer.consume(num_messages=READ_BATCH, timeout=1.0):
                at = (str(msg.topic()), int(msg.partition() or 0))
                error = msg.error()
                if error is not None:  # transient errors: librdkafka goes on by itself
                    if error.code() == KafkaError._PARTITION_EOF:  # e.g. a transaction marker was last
                        unread.discard(at)
                    continue
                if at not in unread:
                    continue
                offset = int(msg.offset() or 0)
                if offset < end[at]:
                    value = msg.value()
                    files[at].write(_HEAD.pack(msg.timestamp()[1], offset, -1 if value is None else len(value)))
                    if value is not None:
                        files[at].write(value)
                if offset >= end[at] - 1:
                    unread.discard(at)
                    consumer.pause([Partition(*at)])
    finally:
        for f in files.values():
            f.close()
        consumer.close()
    return [_replay_spill(folder / f"{n}.spill", tp) for n, tp in enumerate(end)]


def _replay_spill(path: Path, tp: tuple[str, int]) -> Iterator[tuple[Any, ...]]:
    topic, partition = tp
    size, read = _HEAD.size, _HEAD.unpack
    with open(path, "rb", buffering=_SPILL_BUFFER) as f:
        while head := f.read(size):
            timestamp, offset, length = read(head)
            yield timestamp, topic, partition, offset, (None if length < 0 else f.read(length))


DECODED_BATCH = 1000  # events per message from the reading process


RECEIVED_AHEAD = 4  # batches unpickled ahead of the applying thread


def decoded_events(topics: Iterable[str], bootstrap: str | None = None, *, projected: Collection[str] | None = None,
                   skipped: Callable[[int], object] | None = None) -> Iterator[Envelope | None]:
    """``read_topics``'s records decoded (None for a record that does not decode), read and decoded by a second
    process while this one applies: reading, merging and decoding were about half of a replay's time in one
    process. The events come pickled in batches through a pipe, whose buffer holds the reader back when the
    applying side falls behind. A thread of this process receives and unpickles them while the applying thread
    waits on PostgreSQL, which releases the GIL: on the applying thread they were a visible share of
    order-service's replay. ``projected``: only records of these event types are decoded and yielded;
    ``skipped(n)`` is told how many others were read."""
    ctx = multiprocessing.get_context("spawn")  # nothing inherited: no connection, no client, no lock
    receiving, sending = ctx.Pipe(duplex=False)
    reader = ctx.Process(target=_read_and_decode, name="rebuild-reader", daemon=True,
                         args=(list(topics), bootstrap or kafka_clients.bootstrap_servers(), prefix(), sending,
                               None if projected is None else frozenset(projected)))
    reader.start()
    sending.close()  # the reader's end only: a reader that dies ends the pipe (EOFError) instead of hanging
    received: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=RECEIVED_AHEAD)
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                message = receiving.recv()
            except (EOFError, OSError):
                message = ("ended", None)
            while not stop.is_set():  # a consumer that has gone never takes it: give up then
                try:
                    received.put(message, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if message[0] != "events":
                return

    receiver = threading.Thread(target=receive, name="rebuild-receiver", daemon=True)
    receiver.start()
    try:
        while True:
            kind, body = received.get()
            if kind == "events":
                events, others = body
                if others and skipped is not None:
                    skipped(others)
                yield from events
            elif kind == "done":
                return
            elif kind == "ended":
                reader.join(timeout=5)
                raise RuntimeError(f"the rebuild's reading process ended early (exit code {reader.exitcode})")
            else:
                raise RuntimeError(f"the rebuild's reading process failed: {body}")
    finally:
        stop.set()
        if reader.is_alive():
            reader.terminate()  # the receiver's recv then ends (EOFError)
        reader.join(timeout=30)
        receiver.join(timeout=30)
        receiving.close()


def _read_and_decode(topics: list[str], bootstrap: str, topic_prefix: str, sending: Any,
                     projected: frozenset[str] | None = None) -> None:
    """The reading process of ``decoded_events``. Each record is parsed once, and the document handed to
    ``decode``. With ``projected``, a record whose document names another event type is counted, not decoded: its
    type is read from the parsed JSON alone (a small fraction of a whole decode and its trip through the pipe),
    so whether it would decode is never known."""
    os.environ["TOPIC_PREFIX"] = topic_prefix
    gctuning.for_batches()
    try:
        batch: list[Envelope | None] = []
        skipped = 0
        for _, _topic, _part, _off, value in read_topics(topics, bootstrap):
            doc: Any = None  # not JSON (or no value): decode says why
            if value is not None:
                with contextlib.suppress(ValueError):
                    doc = jsoncodec.loads(value)
            if projected is not None and isinstance(doc, dict):
                event_type = doc.get("event_type")
                if isinstance(event_type, str) and event_type not in projected:
                    skipped += 1
                    continue
            try:
                batch.append(decode(value, parsed=doc))
            except DecodeError:
                batch.append(None)
            if len(batch) >= DECODED_BATCH:
                sending.send(("events", (batch, skipped)))
                batch, skipped = [], 0
        sending.send(("events", (batch, skipped)))
        sending.send(("done", None))
    except BaseException:  # noqa: BLE001 - told to the applying side, which raises it
        with contextlib.suppress(OSError):  # the applying side has gone: nobody to tell
            sending.send(("failed", traceback.format_exc(limit=8)))
    finally:
        sending.close()


CHUNK = 1000  # events applied in one savepoint; a chunk with a failing event is applied again one by one


BulkApply = Callable[[psycopg.Connection, Sequence[Envelope]], None]  # e.g. setwrite.set_based(apply)


def _apply_in_runs(conn: psycopg.Connection, apply: Apply, bulk: Mapping[str, BulkApply],
                   chunk: list[Envelope]) -> None:
    """Each run of consecutive events whose types have the same bulk projector in one call, any other event
    alone."""
    i = 0
    while i < len(chunk):
        fn = bulk.get(chunk[i].event_type)
        if fn is None:
            apply(conn, chunk[i])
            i += 1
            continue
        j = i + 1
        while j < len(chunk) and bulk.get(chunk[j].event_type) is fn:  # types sharing a projector share runs
            j += 1
        fn(conn, chunk[i:j])
        i = j


def _apply_chunk(conn: psycopg.Connection, apply: Apply, chunk: list[Envelope], report: RebuildReport,
                 bulk: Mapping[str, BulkApply] | None = None) -> None:
    """Apply a chunk in one savepoint; if anything fails, roll it back and apply each event in its own
    savepoint, as the live consumer does (a poison event is counted and skipped, the replay goes on)."""
    try:
        with conn.transaction():
            _apply_in_runs(conn, apply, bulk or {}, chunk)
        return
    except Exception as exc:  # the per-event pass below finds the culprit
        # a poison event, or a bulk projector that fails: either way the replay goes on, slower, so it is told
        report.chunks_one_by_one += 1
        log.warning("a chunk of %d events failed (%s: %s); applying its events one by one", len(chunk),
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", exc_info=log.isEnabledFor(
                        logging.DEBUG))
    for env in chunk:
        try:
            with conn.transaction():
                apply(conn, env)
        except Exception:  # same rule as the live consumer: a poison event does not stop the replay
            report.undecodable += 1
            log.exception("event could not be applied during rebuild", extra={"event_id": env.event_id})


def rebuild(
    dsn: str,
    *,
    topics: Iterable[str],
    apply: Apply,
    tables: Iterable[str],
    migrate: Callable[[psycopg.Connection], object],
    bootstrap: str | None = None,
    swap: bool = False,
    ignore_columns: dict[str, list[str]] | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
    bulk: Mapping[str, BulkApply] | None = None,
    projected: Collection[str] | None = None,
) -> RebuildReport:
    """Replay ``topics`` into a scratch schema; report events/s and per-table differences with the live schema.

    ``migrate(conn)`` must create the service's tables in the connection's current search_path. ``bulk``
    (optional): event type -> a projector of a list of events with the same effect as ``apply`` on each in
    turn; consecutive events of such types are applied together (types mapped to the same function form one
    run: that function must then give the same result as applying the run's events in their order).
    ``projected`` (optional): the event types ``apply`` does anything with; events of other types are read and
    counted, not applied. Applied, they changed nothing, but each ended the bulk run around it: in
    order-service's replay a customer's CustomerCardSet cut the runs down to one customer and one subscription
    (nearly a statement per customer row). They are not decoded either (a record's type is read from its
    JSON alone), so one of them that would not decode is counted in ``events``, not in ``undecodable``.
    """
    tables = list(tables)
    scratch = f"rebuild_{uuid.uuid4().hex[:10]}"
    report = RebuildReport()
    with psycopg.connect(dsn) as conn, gctuning.batch_thresholds():
        live_schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(scratch)))
        migrate(conn)
        conn.commit()
        started = time.perf_counter()
        try:
            pending = 0
            chunk: list[Envelope] = []
            def count_skipped(n: int) -> None:
                report.events += n

            for env in decoded_events(topics, bootstrap, projected=projected, skipped=count_skipped):
                if env is None:
                    report.undecodable += 1  # dead-lettered when live, skipped here too
                    continue
                report.events += 1
                if projected is not None and env.event_type not in projected:
                    continue
                chunk.append(env)
                pending += 1
                if len(chunk) >= CHUNK:
                    _apply_chunk(conn, apply, chunk, report, bulk)
                    chunk = []
                if pending >= batch_size:
                    _apply_chunk(conn, apply, chunk, report, bulk)
                    chunk = []
                    conn.commit()
                    pending = 0
                    if progress:
                        progress(report.events)
            _apply_chunk(conn, apply, chunk, report, bulk)
            conn.commit()
            report.seconds = time.perf_counter() - started
            if progress:
                progress(report.events)
            for table in tables:
                report.differences[table] = diff_tables(conn, live_schema, scratch, table,
                                                        (ignore_columns or {}).get(table, []))
            conn.commit()
            if swap:  # one transaction: readers see the old rows or the new ones, never a mix
                for table in tables:
                    live = sql.Identifier(live_schema, table)
                    conn.execute(sql.SQL("DELETE FROM {}").format(live))
                    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                        live, sql.Identifier(scratch, table)))
                conn.commit()
                report.swapped = True
        finally:
            conn.rollback()
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(live_schema)))
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(scratch)))
            conn.commit()
    return report


def diff_tables(conn: psycopg.Connection, schema_a: str, schema_b: str, table: str, ignore: list[str]) -> int:
    """Number of rows present in one schema's table and not the other's (0 = identical)."""
    cols = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            [schema_a, table],
        ).fetchall()
        if r[0] not in ignore
    ]
    if not cols:
        raise ValueError(f"table {schema_a}.{table} not found")
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    a, b = sql.Identifier(schema_a, table), sql.Identifier(schema_b, table)
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM (SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}) x)"
        " + (SELECT count(*) FROM (SELECT {c} FROM {b} EXCEPT ALL SELECT {c} FROM {a}) y)"
    ).format(c=col_list, a=a, b=b)
    return int(conn.execute(query).fetchone()[0])  # type: ignore[index]
