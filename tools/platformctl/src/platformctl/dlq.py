"""Dead-letter topics: what is there, and replaying it after a fix.

A replayed message is the original bytes, re-published to its source topic with a ``dlq.replay`` header:
the consumer that dead-lettered it gives it another try (it skips it otherwise as a duplicate), and every
consumer that already applied it still skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from shared_events.consumer import REPLAY_HEADER
from shared_events.topics import dlq_name, event_topics, physical


@dataclass
class DeadLetter:
    topic: str  # the DLQ topic
    offset: int
    source_topic: str
    source_partition: int
    source_offset: int
    consumer: str
    error: str
    key: bytes | None
    value: bytes
    timestamp: int

    @property
    def summary(self) -> str:
        return self.error.strip().splitlines()[0][:160] if self.error.strip() else ""


def _headers(rec: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (rec.headers or [])}


def read(bootstrap: str, dlq_topic: str) -> Iterator[DeadLetter]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(dlq_topic, p) for p in sorted(consumer.partitions_for_topic(dlq_topic) or [])]
        if not parts:
            return
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for recs in consumer.poll(timeout_ms=1000).values():
                for rec in recs:
                    h = _headers(rec)
                    yield DeadLetter(dlq_topic, rec.offset, h.get("dlq.source.topic", "?"),
                                     int(h.get("dlq.source.partition", -1)), int(h.get("dlq.source.offset", -1)),
                                     h.get("dlq.consumer", "?"), h.get("dlq.error", ""), rec.key, rec.value,
                                     rec.timestamp)
    finally:
        consumer.close()


def dlq_topics() -> list[str]:
    return [physical(dlq_name(t.name)) for t in event_topics()]


def counts(bootstrap: str) -> dict[str, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        out = {}
        for topic in dlq_topics():
            parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
            if not parts:
                continue
            end, begin = consumer.end_offsets(parts), consumer.beginning_offsets(parts)
            out[topic] = sum(end[tp] - begin[tp] for tp in parts)
        return out
    finally:
        consumer.close()


def replay(bootstrap: str, letters: list[DeadLetter]) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    try:
        futures = [producer.send(d.source_topic, key=d.key, value=d.value,
                                 headers=[(REPLAY_HEADER, f"{d.topic}@{d.offset}".encode())]) for d in letters]
        producer.flush()
        for f in futures:
            f.get(timeout=30)
        return len(futures)
    finally:
        producer.close()
