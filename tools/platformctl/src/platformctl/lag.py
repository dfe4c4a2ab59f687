"""Outbox backlog (per service database) and consumer lag (per consumer group and partition)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from shared_events import kafka as kafka_clients


@dataclass
class OutboxStatus:
    service: str
    pending: int | None
    oldest_seconds: float | None
    published: int | None
    error: str | None = None


def outbox_status(service: str, dsn: str) -> OutboxStatus:
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE published_at IS NULL), "
                "extract(epoch FROM clock_timestamp() - min(stored_at) FILTER (WHERE published_at IS NULL)), "
                "count(*) FILTER (WHERE published_at IS NOT NULL) FROM event_store").fetchone()
        assert row is not None  # an aggregate without GROUP BY: always one row
        pending, age, published = row
        return OutboxStatus(service, int(pending), float(age) if age is not None else None, int(published))
    except psycopg.Error as exc:
        return OutboxStatus(service, None, None, None, str(exc).splitlines()[0])


def consumer_lag(bootstrap: str, timeout: float = 30) -> dict[str, dict[str, dict[int, int]]]:
    """{group: {topic: {partition: lag}}} for every consumer group that has committed offsets, on every partition
    of each topic it committed on."""
    admin = kafka_clients.admin(bootstrap)
    listed = admin.list_consumer_groups(request_timeout=timeout).result()
    topics = [t for t in admin.list_topics(timeout=timeout).topics if not t.startswith("__")]
    out: dict[str, dict[str, dict[int, int]]] = {}
    for group in sorted(g.group_id for g in listed.valid):
        lag = kafka_clients.group_lag(bootstrap, group, topics, timeout=timeout, committed_topics_only=True)
        if not lag:
            continue
        per_topic: dict[str, dict[int, int]] = {}
        for tp, n in sorted(lag.items(), key=lambda item: (item[0].topic, item[0].partition)):
            per_topic.setdefault(tp.topic, {})[tp.partition] = n
        out[group] = per_topic
    return out
