"""Applies the events order-service consumes, exactly once each: ``python -m order_service.entrypoints.consumer``.

Each event is first projected (facts -> rows, the same functions a rebuild replays), then reacted to
(orders placed, changed, confirmed; emails queued), in one savepoint of the batch's transaction.

A cycle's opening brings 100,000 OrderDue at once. ``OrderConsumer`` applies each run of consecutive
OrderDue records of a poll in bulk (one savepoint, a few statements for the whole run:
service_layer.cycles.on_order_dues) instead of a savepoint and statements per event; any failure of a
run (a poison message, a RetryLater) rolls it back and hands it to the standard per-event path, which
isolates the faulty event exactly as for any other type. Inbox, offsets and the fault hook are the
shared runner's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg

from order_service.adapters.projections import project
from order_service.config import ReactionSettings, ServiceSettings
from order_service.service_layer.cycles import on_order_dues
from order_service.service_layer.reactions import react
from servicekit import logs
from servicekit.config import Settings
from servicekit.runners import make_consumer
from servicekit.worker import run_worker
from shared_events import Envelope, decode
from shared_events.consumer import TRANSIENT_ERRORS, EventConsumer, Handler, InboxRace
from shared_events.kafka import TopicPartition
from shared_events.registry import DecodeError
from shared_events.topics import logical

TOPICS = ["identity.events", "scheduler.events", "subscriptions.events", "customers.events", "shops.events",
          "schedules.events", "catalog.events", "billing.events"]

BULK_MARK = b'"event_type":"OrderDue"'  # how shared_events.encode writes it, near the start of the record


def handler(_settings: Settings | None = None, reactions: ReactionSettings | None = None) -> Handler:
    cfg = reactions or ReactionSettings.from_env()

    def handle(conn: psycopg.Connection, env: Envelope) -> None:
        project(conn, env)
        react(conn, env, cfg)

    return handle


BulkHandler = Callable[[psycopg.Connection, Sequence[Envelope]], None]


class OrderConsumer(EventConsumer):
    """The shared consumer, with runs of OrderDue applied in bulk (see the module's docstring)."""

    bulk_handler: BulkHandler
    _blocked_now: set[TopicPartition]

    @classmethod
    def adopt(cls, consumer: EventConsumer, bulk_handler: BulkHandler) -> OrderConsumer:
        """Turn a consumer made by servicekit.runners.make_consumer (its fault hooks, metrics) into this one."""
        consumer.__class__ = cls
        adopted: OrderConsumer = consumer  # type: ignore[assignment]
        adopted.bulk_handler = bulk_handler
        adopted._blocked_now = set()
        return adopted

    def _process(self, conn: psycopg.Connection, records: list[Any]) -> None:
        self._blocked_now = set()
        for bulk, segment in _segments(records):
            segment = [r for r in segment if TopicPartition(r.topic, r.partition) not in self._blocked_now]
            if segment and not (bulk and self._process_bulk(conn, segment)):
                super()._process(conn, segment)

    def _commit_offsets(self, records: list[Any], blocked: set[TopicPartition]) -> None:
        self._blocked_now |= blocked  # a later segment of this poll must not pass a waiting event
        super()._commit_offsets(records, blocked)

    def _process_bulk(self, conn: psycopg.Connection, records: list[Any]) -> bool:
        """True when the run was applied (and committed) in bulk; False: let the per-event path do it."""
        started = time.perf_counter()
        try:
            envs = [decode(rec.value) for rec in records]
        except DecodeError:
            return False
        if any(env.event_type != "OrderDue" for env in envs):
            return False
        prior: dict[str, str] = dict(conn.execute(
            "SELECT event_id::text, outcome FROM inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
            [self.name, [env.event_id for env in envs]]).fetchall())
        if "dead_lettered" in prior.values():
            return False  # a dead letter replayed on purpose: the per-event path knows what to do
        fresh: list[tuple[Any, Envelope]] = []
        seen = set(prior)
        for rec, env in zip(records, envs, strict=True):
            if env.event_id in seen:
                self.stats.duplicates += 1
                continue
            seen.add(env.event_id)
            fresh.append((rec, env))
        try:
            with conn.transaction():
                if fresh:
                    self.bulk_handler(conn, [env for _, env in fresh])
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - the per-event path isolates whatever went wrong
            return False
        if fresh:
            # a row another consumer of the service recorded meanwhile (a rebalance, or another group during a
            # blue/green switch) means it applied that event too: roll back and redeliver, as the shared runner does
            try:
                with conn.cursor() as cur:
                    cur.executemany(
                        'INSERT INTO inbox (consumer, event_id, topic, partition, "offset", outcome) '
                        "VALUES (%s, %s, %s, %s, %s, 'applied')",
                        [(self.name, env.event_id, logical(rec.topic), rec.partition, rec.offset)
                         for rec, env in fresh])
            except psycopg.errors.UniqueViolation as exc:
                raise InboxRace(str(exc)) from exc
        conn.commit()
        if self.after_db_commit:
            self.after_db_commit(records)
        self._commit_offsets(records, set())
        self.stats.applied += len(fresh)
        self.stats.by_type["OrderDue"] = self.stats.by_type.get("OrderDue", 0) + len(fresh)
        self.stats.batches += 1
        if self.on_batch:
            self.on_batch(self.stats, time.perf_counter() - started)
        return True


def _segments(records: list[Any]) -> Iterator[tuple[bool, list[Any]]]:
    """Consecutive records split into runs of OrderDue (bulk) and runs of anything else, order kept."""
    run: list[Any] = []
    bulk = False
    for rec in records:
        is_due = rec.value is not None and BULK_MARK in rec.value[:160]
        if run and is_due != bulk:
            yield bulk, run
            run = []
        bulk = is_due
        run.append(rec)
    if run:
        yield bulk, run


def main() -> None:
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    cfg = settings.reactions
    consumer = OrderConsumer.adopt(
        # set-based: its projectors never decide on a row count, and its reactions use the connection itself
        # (each use sees every write queued before it), so a batch's projected rows are written set-based
        make_consumer(settings.base, TOPICS, handler(settings.base, cfg), group=settings.consumer_group,
                      set_based=True),
        lambda conn, envs: on_order_dues(conn, envs, cfg))
    run_worker(consumer, name=f"{settings.base.service_name}.consumer")


if __name__ == "__main__":
    main()
