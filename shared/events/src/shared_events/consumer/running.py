"""The consumer's loop and its apply paths (see the package's docstring)."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg

from shared_events import kafka as kafka_clients
from shared_events import setwrite, tracing
from shared_events.consumer import dead_letters, inbox
from shared_events.consumer.inbox import InboxRace, synthetic_event_id
from shared_events.consumer.offsets import Offsets
from shared_events.envelope import Envelope, decode
from shared_events.kafka import KafkaError, Record, TopicPartition
from shared_events.registry import DecodeError
from shared_events.topics import physical

log = logging.getLogger("shared_events.consumer")

Handler = Callable[[psycopg.Connection, Envelope], None]
# many events at once, with the same effect as the handler on each in turn
BulkHandler = Callable[[psycopg.Connection, Sequence[Envelope]], None]

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    InboxRace,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
)


class RetryLater(Exception):
    """Raised by a handler when an event cannot be applied yet (a dependency has not arrived)."""


_waited: ContextVar[float] = ContextVar("shared_events.consumer.waited", default=0.0)


def waited_s() -> float:
    """How long the event the handler is applying has been waiting (it raised RetryLater before): 0.0 at its first
    try. A handler that would rather wait for some data than go without uses it to stop waiting after a while."""
    return _waited.get()


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried_later: int = 0
    batches: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def count(self, event_type: str, n: int = 1) -> None:
        self.applied += n
        self.by_type[event_type] = self.by_type.get(event_type, 0) + n


@dataclass(slots=True)
class _Item:
    """A polled record, decoded once: its envelope (None: it does not decode, ``error`` says why)."""

    rec: Any
    env: Envelope | None
    event_id: str
    error: str | None

    @property
    def key(self) -> tuple[str, int, int]:
        return self.rec.topic, self.rec.partition, self.rec.offset

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.rec.topic, self.rec.partition)


@dataclass
class _Poll:
    """What a poll's transaction comes to, run by run."""

    seen: set[str]  # event ids applied before, or earlier in this poll: any other copy is a duplicate
    done: list[tuple[Any, str, str]] = field(default_factory=list)  # (record, event_id, outcome) for the inbox
    dead: list[tuple[Any, str]] = field(default_factory=list)  # (record, error) for the dead-letter topics
    blocked: set[TopicPartition] = field(default_factory=set)  # partitions redelivered from a waiting event


_EACH = object()  # a run of undecodable records: dead-lettered one by one
_PLAIN = object()  # a run of events without a bulk handler: the handler on each, in one savepoint


class EventConsumer:
    def __init__(
        self,
        dsn: str,
        name: str,
        topics: Iterable[str],
        handler: Handler,
        *,
        bootstrap: str | None = None,
        max_batch: int | None = None,
        retry_later_pause_s: float = 0.5,
        retry_later_max_s: float = 300.0,
        on_batch: Callable[[ConsumerStats, float], None] | None = None,
        after_db_commit: Callable[[list[Any]], None] | None = None,
        consumer_overrides: dict[str, Any] | None = None,
        set_based: bool = False,
        bulk: Mapping[str, BulkHandler] | None = None,
        group: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.name = name  # the inbox's consumer name: the service, whatever its group
        self.group = group or name  # the Kafka consumer group: where Kafka resumes, nothing more
        self.topics = list(topics)  # logical names
        self.handler = handler
        # event type -> a handler of a run of consecutive events of that type (types mapped to one function share
        # runs), with the effect of ``handler`` on each in turn: ``handler`` is what applies one alone
        self.bulk = dict(bulk or {})
        self.bootstrap = bootstrap
        # records per poll = per transaction and per offset commit (KAFKA_MAX_POLL_RECORDS, default 2000)
        self.max_batch = max_batch or kafka_clients.max_poll_records()
        self.retry_later_pause_s = retry_later_pause_s
        self.retry_later_max_s = retry_later_max_s
        self.on_batch = on_batch
        self.after_db_commit = after_db_commit  # test hook: effects committed, Kafka offsets not yet
        self.consumer_overrides = consumer_overrides or {}
        # a run without a bulk handler is applied with setwrite.set_based(handler): the rows its projectors write
        # through setwrite.write are written set-based at the end of the run (for handlers that never decide on
        # such a write's row count, as a rebuild requires; anything else they do with the connection sees every
        # write)
        self.set_based = set_based
        self.stats = ConsumerStats()
        self.stop_event = threading.Event()
        self._waiting_since: dict[tuple[str, int, int], float] = {}  # record -> first RetryLater (monotonic)
        self._consumer: Any = None
        self._offsets: Offsets | None = None
        self._producer: Any = None
        self.heartbeat = time.monotonic()  # stamped every poll (worker liveness)
        self._spans: dict[str, Any] = {}  # event id -> its record's span (shared_events.tracing), this poll's

    def stop(self) -> None:
        self.stop_event.set()

    # -- main loop -------------------------------------------------------------------------------------------

    def run(self) -> None:
        self._consumer = kafka_clients.consumer(self.group, self.bootstrap, **self.consumer_overrides)
        self._consumer.subscribe([physical(t) for t in self.topics])
        offsets = self._offsets = Offsets(self._consumer, self.retry_later_pause_s)
        backoff = 0.5
        conn: psycopg.Connection | None = None
        try:
            while not self.stop_event.is_set():
                offsets.resume_due_partitions()
                self.heartbeat = time.monotonic()
                records = self._poll(0.5)
                if not records:
                    offsets.idle()
                    continue
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.dsn)
                    self._process(conn, records)
                    backoff = 0.5
                except TRANSIENT_ERRORS as exc:
                    log.warning("transient error, redelivering batch", extra={"error": str(exc)})
                    if conn is not None and not conn.closed:
                        try:
                            conn.rollback()
                        except psycopg.Error:
                            conn.close()
                    offsets.rewind(records)
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            if conn is not None and not conn.closed:
                conn.close()
            if self._producer is not None:
                self._producer.flush(10)
            self._consumer.close()  # leaves the group (auto-commit is off: offsets were committed per batch)

    def _poll(self, timeout: float) -> list[Record]:
        """The records there are, up to ``max_batch``, waiting up to ``timeout`` for the first (librdkafka's
        ``consume`` alone would wait for the whole count), grouped by partition in offset order."""
        records = []
        for msg in kafka_clients.take(self._consumer, self.max_batch, timeout):
            error = msg.error()
            if error is None:
                records.append(kafka_clients.record(msg))
            elif error.code() != KafkaError._PARTITION_EOF:  # librdkafka recovers by itself: say so, go on
                log.warning("Kafka consumer error", extra={"error": str(error)})
        records.sort(key=lambda r: (r.topic, r.partition))  # stable: each partition's records stay in order
        return records

    def _process(self, conn: psycopg.Connection, records: list[Any]) -> None:
        """One poll in one transaction: each run applied at once or, failing that, event by event; then dead
        letters, the inbox, the commit, the offsets."""
        started = time.perf_counter()
        items = [_read(rec) for rec in records]
        try:
            self._process_items(conn, records, items, started)
        finally:
            for span in self._spans.values():
                span.end()
            self._spans = {}

    def _process_items(self, conn: psycopg.Connection, records: list[Any], items: list[_Item], started: float
                       ) -> None:
        prior = inbox.outcomes(conn, self.name, [i.event_id for i in items])
        if tracing.ENABLED:
            self._start_spans(conn, items)
        # A dead-lettered event replayed on purpose (platformctl dlq replay, after a fix) gets another try;
        # any other copy of an event already seen is a duplicate.
        poll = _Poll(seen={i.event_id for i in items if i.event_id in prior
                           and not (prior[i.event_id] == "dead_lettered" and dead_letters.is_replay(i.rec))})
        for how, run in self._runs(items):
            if poll.blocked:  # a later run must not pass an event that waits
                run = [i for i in run if i.tp not in poll.blocked]
            if run and not self._apply_run(conn, how, run, poll):
                self._apply_each(conn, run, poll)
        if poll.dead:  # in Kafka before the inbox says so: a crash here only duplicates a DLQ entry
            if self._producer is None:
                self._producer = kafka_clients.producer(self.bootstrap)
            dead_letters.send(self._producer, self.name, poll.dead)
        if poll.done:
            inbox.record(conn, self.name, poll.done, prior)
        conn.commit()
        if self.after_db_commit:
            self.after_db_commit(records)
        assert self._offsets is not None
        self._offsets.batch_done(records, poll.blocked)
        self.stats.batches += 1
        if self.on_batch:
            self.on_batch(self.stats, time.perf_counter() - started)

    def _start_spans(self, conn: psycopg.Connection, items: list[_Item]) -> None:
        """A span per record, a child of the trace its headers carry; each aggregate's first trace kept (in the
        poll's transaction, before any handler runs, so a run that places a whole batch finds all of them)."""
        for item in items:
            if item.env is not None and item.event_id not in self._spans:
                self._spans[item.event_id] = tracing.start_record_span(
                    item.env, item.rec.topic, item.rec.partition, item.rec.offset, self.group, item.rec.headers)
        tracing.remember(conn, [(i.env.aggregate_id, self._spans[i.event_id]) for i in items if i.env is not None])

    def _runs(self, items: list[_Item]) -> Iterator[tuple[object, list[_Item]]]:
        """Consecutive items cut into runs applied the same way: by one bulk handler, by the handler (_PLAIN), or
        dead-lettered (_EACH: undecodable); order kept."""
        run: list[_Item] = []
        how: object = None
        for item in items:
            kind = _EACH if item.env is None else self.bulk.get(item.env.event_type, _PLAIN)
            if run and kind is not how:
                yield how, run
                run = []
            how = kind
            run.append(item)
        if run:
            yield how, run

    def _apply_run(self, conn: psycopg.Connection, how: object, run: list[_Item], poll: _Poll) -> bool:
        """Every new event of the run applied in ONE savepoint (two round trips per run instead of two per event,
        and a bulk handler's few statements for the whole run). True when all applied; on any failure the
        savepoint is rolled back, nothing is recorded and ``_apply_each`` does the run again (poison isolation,
        RetryLater pauses and dead letters). Not tried for a run holding an event that waits (RetryLater):
        ``_apply_each`` tells the handler how long it has waited."""
        if how is _EACH or (self._waiting_since and any(i.key in self._waiting_since for i in run)):
            return False
        fresh: list[_Item] = []
        ids: set[str] = set()
        for item in run:
            if item.event_id in poll.seen or item.event_id in ids:
                continue
            ids.add(item.event_id)
            fresh.append(item)
        envs: list[Envelope] = [i.env for i in fresh]  # type: ignore[misc]  # decodable: not _EACH
        if envs:
            try:
                with conn.transaction():
                    if how is not _PLAIN:
                        with self._run_span(envs):
                            how(conn, envs)  # type: ignore[operator]
                    elif self.set_based:
                        setwrite.set_based(self._traced_handler())(conn, envs)
                    else:
                        handler = self._traced_handler()
                        for env in envs:
                            handler(conn, env)
            except TRANSIENT_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - _apply_each finds (and isolates) the culprit
                return False
        poll.seen |= ids
        for item, env in zip(fresh, envs, strict=True):
            poll.done.append((item.rec, item.event_id, "applied"))
            self.stats.count(env.event_type)
        self.stats.duplicates += len(run) - len(fresh)
        return True

    def _traced_handler(self) -> Handler:
        """The handler, each event in its record's span when tracing is on."""
        if not self._spans:
            return self.handler
        spans, handler = self._spans, self.handler

        def handle(conn: psycopg.Connection, env: Envelope) -> None:
            with tracing.current(spans.get(env.event_id)):
                handler(conn, env)

        return handle

    def _run_span(self, envs: list[Envelope]) -> Any:
        """While a run of records is applied at once: a span linked to each record's (an event recorded with one
        of them as its cause carries that record's span)."""
        if not self._spans:
            return nullcontext()
        return tracing.run_span(f"process {len(envs)} {envs[0].event_type}",
                                {e.event_id: self._spans[e.event_id] for e in envs if e.event_id in self._spans})

    def _apply_each(self, conn: psycopg.Connection, run: list[_Item], poll: _Poll) -> None:
        """Each event of the run by the handler in its own savepoint: applied, skipped (a duplicate), held back
        (RetryLater: its partition is redelivered from it) or dead-lettered."""
        for item in run:
            rec, env, event_id, error = item.rec, item.env, item.event_id, item.error
            tp = item.tp
            if tp in poll.blocked:
                continue
            if event_id in poll.seen:
                self.stats.duplicates += 1
                continue
            poll.seen.add(event_id)  # a duplicate inside the same batch
            if error is None and env is not None:
                first = self._waiting_since.get(item.key)
                token = _waited.set(0.0 if first is None else time.monotonic() - first)
                try:
                    with conn.transaction(), tracing.current(self._spans.get(event_id)):
                        self.handler(conn, env)
                    poll.done.append((rec, event_id, "applied"))
                    self.stats.count(env.event_type)
                    self._waiting_since.pop(item.key, None)
                    continue
                except TRANSIENT_ERRORS:
                    raise
                except RetryLater as exc:
                    first = self._waiting_since.setdefault(item.key, time.monotonic())
                    if time.monotonic() - first < self.retry_later_max_s:
                        poll.blocked.add(tp)
                        poll.seen.discard(event_id)
                        self.stats.retried_later += 1
                        continue
                    error = f"gave up waiting after {self.retry_later_max_s:.0f}s: {exc}"
                    self._waiting_since.pop(item.key, None)
                except Exception as exc:  # noqa: BLE001 - a poison message must not stop the consumer
                    error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
                finally:
                    _waited.reset(token)
            poll.dead.append((rec, error or "unknown error"))
            poll.done.append((rec, event_id, "dead_lettered"))
            self.stats.dead_lettered += 1


def _read(rec: Any) -> _Item:
    try:
        env = decode(rec.value)
        return _Item(rec, env, env.event_id, None)
    except DecodeError as exc:
        return _Item(rec, None, synthetic_event_id(rec.topic, rec.partition, rec.offset), str(exc))


def dispatch(handlers: dict[str, Handler]) -> Handler:
    """A handler that routes by event_type and ignores types it does not handle."""

    def handle(conn: psycopg.Connection, env: Envelope) -> None:
        fn = handlers.get(env.event_type)
        if fn is not None:
            fn(conn, env)

    return handle
