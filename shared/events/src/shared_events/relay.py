"""Outbox relay: publishes a service's event_store rows to Kafka, in order, at least once.

One relay per service database is active at a time (a PostgreSQL advisory lock);
other replicas wait as hot standbys, so order within an aggregate is kept. The
producer is idempotent with acks=all. Each record carries the CloudEvents Kafka binding headers
(shared_events.binding), ``self.service`` being the events' producer. A crash between publishing and stamping
published_at republishes those rows on restart; consumers drop the copies by
event_id. Wakes on NOTIFY from the event_store insert trigger, so latency is
milliseconds without busy polling. A row's trace context (shared_events.tracing) travels as its record's
``traceparent``/``tracestate`` headers, so the consumers continue the trace the event was recorded in.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from shared_events import binding, listening, tracing
from shared_events import kafka as kafka_clients
from shared_events.topics import physical

log = logging.getLogger("shared_events.relay")


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0
    last_batch_at: float = 0.0


def _lock_key(service: str) -> int:
    return zlib.crc32(f"relay:{service}".encode())


class Relay:
    def __init__(
        self,
        dsn: str,
        service: str,
        *,
        bootstrap: str | None = None,
        batch_size: int = 5000,
        idle_wait_s: float = 1.0,
        gather_s: float = 0.01,
        on_batch: Callable[[int, float], None] | None = None,
        before_mark: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.dsn = dsn
        self.service = service
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s
        # After a quiet spell, the first notification waits this long before the batch is read, so a stream of
        # single-event requests (bench's `rest` section) makes batches of a few events: one SELECT, one Kafka round trip
        # and one UPDATE for several events instead of for each. A full batch never waits.
        self.gather_s = gather_s
        self.on_batch = on_batch
        self.before_mark = before_mark  # test hook: runs after Kafka acked, before published_at is stamped
        self.stats = RelayStats()
        self.stop_event = threading.Event()
        self.is_leader = False
        self.heartbeat = time.monotonic()  # stamped every turn of the loop (worker liveness)
        self.connected = False

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Publish until stop() (SIGTERM): finishes the batch in flight, then returns."""
        producer = kafka_clients.producer(self.bootstrap)

        def connected(conn: psycopg.Connection) -> None:
            self.connected = True
            self._lead(conn, producer)

        def lost() -> None:
            self.is_leader = False
            self.connected = False

        try:
            listening.keep_connected(self.dsn, self.stop_event, connected, what="relay", lost=lost)
        finally:
            producer.flush(30)

    def _lead(self, conn: psycopg.Connection, producer: kafka_clients.Producer) -> None:
        listening.listen(conn, "event_store")
        if not listening.lead(conn, _lock_key(self.service), self.stop_event, standby=self._wait):
            return  # stopped while another replica was the leader
        self.is_leader = True
        log.info("relay is publishing", extra={"service": self.service})
        while not self.stop_event.is_set():
            n = self.publish_batch(conn, producer)
            if n < self.batch_size and self._wait(conn, self.idle_wait_s) and self.gather_s > 0:
                self.stop_event.wait(self.gather_s)
                listening.drain(conn)  # what the gathered commits notified: this batch reads them

    def _wait(self, conn: psycopg.Connection, timeout: float) -> bool:
        """Until a notification or the timeout; True when notified."""
        self.heartbeat = time.monotonic()
        return listening.notified(conn, timeout)

    def publish_batch(self, conn: psycopg.Connection, producer: kafka_clients.Producer) -> int:
        started = time.perf_counter()
        self.heartbeat = time.monotonic()
        rows = conn.execute(
            "SELECT position, topic, aggregate_id, event_type, body, event_id, occurred_at, traceparent, tracestate "
            "FROM event_store "
            "WHERE published_at IS NULL ORDER BY position LIMIT %s",
            [self.batch_size],
        ).fetchall()
        if not rows:
            return 0
        topics: dict[str, str] = {}
        # raises if Kafka refused or did not answer: nothing gets stamped, the batch is retried
        kafka_clients.deliver(producer, (
            (topics.get(topic) or topics.setdefault(topic, physical(topic)), aggregate_id.encode(), bytes(body),
             binding.headers(event_id, event_type, self.service, occurred_at) + tracing.headers(tp, ts))
            for (_, topic, aggregate_id, event_type, body, event_id, occurred_at, tp, ts) in rows))
        positions = [r[0] for r in rows]
        if self.before_mark:
            self.before_mark(positions)
        conn.execute(
            "UPDATE event_store SET published_at = clock_timestamp() WHERE position = ANY(%s)", [positions],
            binary=True,
        )
        self.stats.published += len(rows)
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()
        if self.on_batch:
            self.on_batch(len(rows), time.perf_counter() - started)
        return len(rows)
