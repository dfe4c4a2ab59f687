"""Outbox backlog (per service database) and consumer lag (per consumer group)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


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
            pending, age, published = conn.execute(
                "SELECT count(*) FILTER (WHERE published_at IS NULL), "
                "extract(epoch FROM clock_timestamp() - min(stored_at) FILTER (WHERE published_at IS NULL)), "
                "count(*) FILTER (WHERE published_at IS NOT NULL) FROM event_store").fetchone()
        return OutboxStatus(service, int(pending), float(age) if age is not None else None, int(published))
    except psycopg.Error as exc:
        return OutboxStatus(service, None, None, None, str(exc).splitlines()[0])


def consumer_lag(bootstrap: str) -> dict[str, dict[str, int]]:
    """{group: {topic: lag}} for every consumer group that has committed offsets."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        groups = sorted(g["group_id"] if isinstance(g, dict) else g[0] for g in admin.list_groups())
        out: dict[str, dict[str, int]] = {}
        for group in groups:
            committed = admin.list_group_offsets(group).get(group, {})
            if not committed:
                continue
            parts = list(committed)
            end = consumer.end_offsets(parts)
            per_topic: dict[str, int] = {}
            for tp in parts:
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, end.get(tp, 0) - committed[tp].offset)
            out[group] = per_topic
        return out
    finally:
        admin.close()
        consumer.close()


def partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
