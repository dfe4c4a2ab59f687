"""Consumer runner: Kafka's at-least-once delivery turned into exactly-once effect.

For each polled batch, in ONE PostgreSQL transaction: every new event is applied
by the handler inside a savepoint and recorded in ``inbox`` (consumer, event_id);
an event already in ``inbox`` is skipped. Kafka offsets are committed only after
that transaction commits, so a crash anywhere means redelivery, and redelivery
means a skip.

The inbox's ``consumer`` is the service (``name``), not the Kafka consumer group
(``group``): the group only says where Kafka resumes. A new group (a blue/green
switch, offsets lost or reset) reads every topic from the start, and the inbox
skips every event the service has already applied, so no reaction (an email, an
event, a stock movement, a charge) is decided twice.

- Poison messages (undecodable, unknown type, a handler bug, a domain error) go
  to ``<topic>.dlq`` with the error and the original bytes, are recorded as
  dead-lettered, and the consumer goes on.
- Transient trouble (PostgreSQL unreachable, serialization failure, deadlock)
  rolls the batch back and redelivers it after a backoff.
- ``RetryLater`` from a handler (the event depends on another one that has not
  arrived yet, e.g. an OrderDue before its SubscriptionCreated) pauses that
  partition briefly and redelivers from that event; after ``retry_later_max_s``
  it is dead-lettered instead, so a partition can never stall for ever.
- SIGTERM (stop()): the batch in hand is finished and committed, then the
  consumer leaves its group.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from shared_events import kafka as kafka_clients
from shared_events import setwrite
from shared_events.envelope import Envelope, decode
from shared_events.kafka import KafkaError, KafkaException, Record, TopicPartition
from shared_events.registry import DecodeError
from shared_events.topics import dlq_name, logical, physical

log = logging.getLogger("shared_events.consumer")

Handler = Callable[[psycopg.Connection, Envelope], None]

class InboxRace(Exception):
    """An event of the batch was recorded in the inbox meanwhile by another consumer of the service (a member of
    this group during a rebalance, or of another group during a blue/green switch)."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    InboxRace,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
)


class RetryLater(Exception):
    """Raised by a handler when an event cannot be applied yet (a dependency has not arrived)."""


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried_later: int = 0
    batches: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


REPLAY_HEADER = "dlq.replay"

# a commit refused because the group rebalanced: the partitions' next owner redelivers from the last commit
REBALANCED = frozenset({KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                        KafkaError.UNKNOWN_MEMBER_ID, KafkaError._ASSIGNMENT_LOST})


def _is_replay(rec: Any) -> bool:
    return any(k == REPLAY_HEADER for k, _ in (rec.headers or []))


def synthetic_event_id(topic: str, partition: int, offset: int) -> str:
    """An inbox key for a message with no readable event_id (so it is dead-lettered once)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{topic}:{partition}:{offset}"))


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
        group: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.name = name  # the inbox's consumer name: the service, whatever its group
        self.group = group or name  # the Kafka consumer group: where Kafka resumes, nothing more
        self.topics = list(topics)  # logical names
        self.handler = handler
        self.bootstrap = bootstrap
        # records per poll = per transaction and per offset commit (KAFKA_MAX_POLL_RECORDS, default 2000)
        self.max_batch = max_batch or kafka_clients.max_poll_records()
        self.retry_later_pause_s = retry_later_pause_s
        self.retry_later_max_s = retry_later_max_s
        self.on_batch = on_batch
        self.after_db_commit = after_db_commit  # test hook: effects committed, Kafka offsets not yet
        self.consumer_overrides = consumer_overrides or {}
        # the fast path applies a batch with setwrite.set_based(handler): the rows its projectors write through
        # setwrite.write are written set-based at the end of the batch (for handlers that never decide on such a
        # write's row count, as a rebuild requires; anything else they do with the connection sees every write)
        self.set_based = set_based
        self.stats = ConsumerStats()
        self.stop_event = threading.Event()
        self._paused_until: dict[TopicPartition, float] = {}
        # offsets whose commit failed because Kafka could not be reached: committed again at the next polls, empty
        # ones included (else a partition whose last batch met a broker outage shows a lag until new records come)
        self._uncommitted: dict[TopicPartition, Any] = {}
        self._commit_retry_at = 0.0
        self._waiting_since: dict[tuple[str, int, int], float] = {}
        self._consumer: Any = None
        self._producer: Any = None
        self.heartbeat = time.monotonic()  # stamped every poll (worker liveness)

    def stop(self) -> None:
        self.stop_event.set()

    # -- main loop -------------------------------------------------------------------------------------------

    def run(self) -> None:
        self._consumer = kafka_clients.consumer(self.group, self.bootstrap, **self.consumer_overrides)
        self._consumer.subscribe([physical(t) for t in self.topics])
        backoff = 0.5
        conn: psycopg.Connection | None = None
        try:
            while not self.stop_event.is_set():
                self._resume_due_partitions()
                self.heartbeat = time.monotonic()
                records = self._poll(0.5)
                if not records:
                    if self._uncommitted and time.monotonic() >= self._commit_retry_at:
                        self._commit({})
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
                    self._rewind(records)
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
        started = time.perf_counter()
        decoded: list[tuple[Any, Envelope | None, str, str | None]] = []
        for rec in records:
            try:
                read = decode(rec.value)
                decoded.append((rec, read, read.event_id, None))
            except DecodeError as exc:
                decoded.append((rec, None, synthetic_event_id(rec.topic, rec.partition, rec.offset), str(exc)))
        ids = [d[2] for d in decoded]
        prior = {
            str(r[0]): r[1]
            for r in conn.execute(
                "SELECT event_id, outcome FROM inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
                [self.name, ids],
            ).fetchall()
        }
        # A dead-lettered event replayed on purpose (platformctl dlq replay, after a fix) gets another try;
        # any other copy of an event already seen is a duplicate.
        seen = {eid for (rec, _e, eid, _err) in decoded if eid in prior
                and not (prior[eid] == "dead_lettered" and _is_replay(rec))}
        done: list[tuple[Any, str, str]] = []
        blocked: set[TopicPartition] = set()
        dead: list[tuple[Any, str]] = []
        if self._apply_all(conn, decoded, seen, done):
            decoded = []  # every event applied in one savepoint: nothing left for the careful path
        for rec, env, event_id, error in decoded:
            tp = TopicPartition(rec.topic, rec.partition)
            if tp in blocked:
                continue
            if event_id in seen:
                self.stats.duplicates += 1
                continue
            seen.add(event_id)  # a duplicate inside the same batch
            if error is None and env is not None:
                try:
                    with conn.transaction():
                        self.handler(conn, env)
                    done.append((rec, event_id, "applied"))
                    self.stats.applied += 1
                    self.stats.by_type[env.event_type] = self.stats.by_type.get(env.event_type, 0) + 1
                    self._waiting_since.pop((rec.topic, rec.partition, rec.offset), None)
                    continue
                except TRANSIENT_ERRORS:
                    raise
                except RetryLater as exc:
                    key = (rec.topic, rec.partition, rec.offset)
                    first = self._waiting_since.setdefault(key, time.monotonic())
                    if time.monotonic() - first < self.retry_later_max_s:
                        blocked.add(tp)
                        seen.discard(event_id)
                        self.stats.retried_later += 1
                        continue
                    error = f"gave up waiting after {self.retry_later_max_s:.0f}s: {exc}"
                    self._waiting_since.pop(key, None)
                except Exception as exc:  # noqa: BLE001 - a poison message must not stop the consumer
                    error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            dead.append((rec, error or "unknown error"))
            done.append((rec, event_id, "dead_lettered"))
            self.stats.dead_lettered += 1
        if dead:
            self._dead_letter(dead)  # in Kafka before the inbox says so: a crash here only duplicates a DLQ entry
        if done:
            self._record_in_inbox(conn, done, prior)
        conn.commit()
        if self.after_db_commit:
            self.after_db_commit(records)
        self._commit_offsets(records, blocked)
        self.stats.batches += 1
        if self.on_batch:
            self.on_batch(self.stats, time.perf_counter() - started)

    def _record_in_inbox(self, conn: psycopg.Connection, done: list[tuple[Any, str, str]], prior: dict[str, str]
                         ) -> None:
        """One inbox row per event of the batch. Events the inbox has never seen are copied in (COPY: an
        executemany of the rows of a cycle's open cost subscription-service seconds of PostgreSQL time); a
        dead-lettered event replayed on purpose updates its row. A copied row that another consumer of the service
        has recorded meanwhile (two members briefly own a partition during a rebalance, or two groups read the same
        topics during a blue/green switch) fails the whole batch with InboxRace: it is rolled back and
        redelivered, and the inbox then skips what the other applied."""
        rows = [(self.name, eid, logical(r.topic), r.partition, r.offset, outcome) for r, eid, outcome in done]
        with conn.cursor() as cur:
            new = [row for row in rows if row[1] not in prior]
            if new:
                try:
                    with cur.copy("COPY inbox (consumer, event_id, topic, partition, \"offset\", outcome) FROM STDIN"
                                  ) as copy:
                        for row in new:
                            copy.write_row(row)
                except psycopg.errors.UniqueViolation as exc:
                    raise InboxRace(str(exc)) from exc
            again = [row for row in rows if row[1] in prior]
            if again:
                cur.executemany(
                    "INSERT INTO inbox (consumer, event_id, topic, partition, \"offset\", outcome) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (consumer, event_id) DO UPDATE "
                    "SET outcome = EXCLUDED.outcome, topic = EXCLUDED.topic, partition = EXCLUDED.partition, "
                    "\"offset\" = EXCLUDED.\"offset\", processed_at = now() WHERE inbox.outcome = 'dead_lettered'",
                    again,
                )

    def _apply_all(self, conn: psycopg.Connection, decoded: list[tuple[Any, Envelope | None, str, str | None]],
                   seen: set[str], done: list[tuple[Any, str, str]]) -> bool:
        """The fast path: every new event of the batch applied in ONE savepoint (two round trips per batch
        instead of two per event). True when all applied; on any failure the savepoint is rolled back, nothing
        is recorded and the careful per-event path below does the whole batch again (poison isolation,
        RetryLater pauses and dead letters exactly as before). Not tried while an event of this consumer is
        waiting (RetryLater), or when the batch holds an undecodable record: the careful path handles those."""
        if any(error is not None or (rec.topic, rec.partition, rec.offset) in self._waiting_since
               for rec, _env, _eid, error in decoded):
            return False
        fresh: list[tuple[Any, Envelope, str]] = []
        ids = set(seen)
        duplicates = 0
        for rec, env, event_id, _ in decoded:
            if event_id in ids:
                duplicates += 1
                continue
            ids.add(event_id)
            fresh.append((rec, env, event_id))  # type: ignore[arg-type]
        try:
            with conn.transaction():
                if self.set_based:
                    setwrite.set_based(self.handler)(conn, [env for _rec, env, _eid in fresh])
                else:
                    for _rec, env, _eid in fresh:
                        self.handler(conn, env)
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - the careful path below finds (and isolates) the culprit
            return False
        for rec, env, event_id in fresh:
            done.append((rec, event_id, "applied"))
            self.stats.by_type[env.event_type] = self.stats.by_type.get(env.event_type, 0) + 1
        self.stats.applied += len(fresh)
        self.stats.duplicates += duplicates
        return True

    # -- offsets, pauses, dead letters -----------------------------------------------------------------------

    def _commit_offsets(self, records: list[Any], blocked: set[TopicPartition]) -> None:
        offsets: dict[TopicPartition, int] = {}
        first_blocked: dict[TopicPartition, int] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if tp in blocked:
                first_blocked.setdefault(tp, rec.offset)
                continue
            offsets[tp] = rec.offset + 1
        for tp, offset in first_blocked.items():
            # everything before the waiting event is done; redeliver from it after a pause
            offsets[tp] = offset
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            self._consumer.pause([tp])
            self._paused_until[tp] = time.monotonic() + self.retry_later_pause_s
        self._commit(offsets)

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit these offsets and any left over from a commit that could not reach Kafka.

        A rebalance (REBALANCED) drops them: the partitions' next owner redelivers from the last commit and the
        inbox drops the copies. Any other Kafka error (the broker restarting, the coordinator moving) keeps them
        for the next poll, so that a partition that receives nothing more still ends up committed."""
        pending = {**self._uncommitted, **offsets}
        assigned = set(self._consumer.assignment())
        pending = {tp: offset for tp, offset in pending.items() if tp in assigned}
        self._uncommitted = {}
        if not pending:
            return
        try:
            answered = self._consumer.commit(
                offsets=[TopicPartition(tp.topic, tp.partition, offset) for tp, offset in pending.items()],
                asynchronous=False)
            refused = [tp.error for tp in answered or [] if tp.error is not None]
            if refused:
                raise KafkaException(refused[0])
        except KafkaException as exc:
            if exc.args[0].code() in REBALANCED:
                log.info("offset commit skipped: the group rebalanced", extra={"error": str(exc)})
                return
            self._uncommitted = pending
            self._commit_retry_at = time.monotonic() + 1.0
            log.warning("offset commit failed, trying again at the next poll", extra={"error": str(exc)})

    def _resume_due_partitions(self) -> None:
        now = time.monotonic()
        for tp, until in list(self._paused_until.items()):
            if until <= now:
                del self._paused_until[tp]
                try:
                    self._consumer.resume([tp])
                except KafkaException:
                    pass  # revoked meanwhile

    def _rewind(self, records: list[Any]) -> None:
        first: dict[TopicPartition, int] = {}
        for rec in records:
            first.setdefault(TopicPartition(rec.topic, rec.partition), rec.offset)
        for tp, offset in first.items():
            try:
                self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException:
                pass  # no longer assigned to us

    def _dead_letter(self, dead: list[tuple[Any, str]]) -> None:
        if self._producer is None:
            self._producer = kafka_clients.producer(self.bootstrap)
        letters = []
        for rec, error in dead:
            log.error(
                "dead-lettered a message",
                extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset, "error": error[:2000]},
            )
            headers = [
                ("dlq.error", error[:4000].encode()),
                ("dlq.source.topic", rec.topic.encode()),
                ("dlq.source.partition", str(rec.partition).encode()),
                ("dlq.source.offset", str(rec.offset).encode()),
                ("dlq.consumer", self.name.encode()),
                ("dlq.at", str(time.time()).encode()),
            ]
            letters.append((dlq_name(rec.topic), rec.key, rec.value or b"", headers))
        kafka_clients.deliver(self._producer, letters)


def dispatch(handlers: dict[str, Handler]) -> Handler:
    """A handler that routes by event_type and ignores types it does not handle."""

    def handle(conn: psycopg.Connection, env: Envelope) -> None:
        fn = handlers.get(env.event_type)
        if fn is not None:
            fn(conn, env)

    return handle
