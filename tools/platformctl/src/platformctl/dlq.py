"""Dead-letter topics: what is there, and replaying it after a fix.

A replayed message is the original bytes and headers, re-published to its source topic with a ``dlq.replay`` header:
the consumer that dead-lettered it gives it another try (it skips it otherwise as a duplicate), and every
consumer that already applied it still skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from shared_events import kafka as kafka_clients
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
    original_headers: list[tuple[str, bytes]] = field(default_factory=list)  # the record's own (event_type, ce_*)

    @property
    def summary(self) -> str:
        return self.error.strip().splitlines()[0][:160] if self.error.strip() else ""


def _headers(rec: kafka_clients.Record) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (rec.headers or [])}


def read(bootstrap: str, dlq_topic: str) -> Iterator[DeadLetter]:
    for rec in kafka_clients.read_topic(dlq_topic, bootstrap):
        h = _headers(rec)
        yield DeadLetter(dlq_topic, rec.offset, h.get("dlq.source.topic", "?"),
                         int(h.get("dlq.source.partition", -1)), int(h.get("dlq.source.offset", -1)),
                         h.get("dlq.consumer", "?"), h.get("dlq.error", ""), rec.key, rec.value or b"", rec.timestamp,
                         [(k, v) for k, v in rec.headers or [] if not k.startswith("dlq.")])


def dlq_topics() -> list[str]:
    return [physical(dlq_name(t.name)) for t in event_topics()]


def counts(bootstrap: str) -> dict[str, int]:
    """Messages held by each dead-letter topic that exists."""
    reader = kafka_clients.consumer(None, bootstrap)
    try:
        known = reader.list_topics(timeout=30).topics
        out = {}
        for topic in dlq_topics():
            if topic not in known:
                continue
            watermarks = [reader.get_watermark_offsets(kafka_clients.TopicPartition(topic, p), timeout=30)
                          for p in known[topic].partitions]
            out[topic] = sum(high - low for low, high in watermarks)
        return out
    finally:
        reader.close()


def replay(bootstrap: str, letters: list[DeadLetter]) -> int:
    return kafka_clients.deliver(kafka_clients.producer(bootstrap), [
        (d.source_topic, d.key, d.value, [*d.original_headers, (REPLAY_HEADER, f"{d.topic}@{d.offset}".encode())])
        for d in letters])
