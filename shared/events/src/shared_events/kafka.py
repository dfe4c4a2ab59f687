"""Kafka clients with the settings the platform relies on: confluent-kafka (librdkafka), the one client library.

Clients connect in the background from their constructor, so build them in the process that uses them, after any
fork, never at import time.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

__all__ = ["OFFSET_BEGINNING", "Consumer", "GroupLag", "KafkaError", "KafkaException", "Producer", "Record",
           "TopicPartition", "admin", "bootstrap_servers", "consumer", "deliver", "deliver_one", "end_offsets",
           "group_lag", "max_poll_records", "producer", "read_topic", "record", "security_config", "send", "take"]


LOG = logging.getLogger("kafka")  # librdkafka's log lines, served by the clients' poll, flush and consume


def bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")


def max_poll_records() -> int:
    """Records per poll (KAFKA_MAX_POLL_RECORDS, default 2000). A consumer applies a poll in one PostgreSQL
    transaction and commits its offsets once: at a cycle's open (100,000 OrderDue) 500 per poll meant 200
    transactions, inbox round trips and synchronous offset commits per consumer."""
    return int(os.environ.get("KAFKA_MAX_POLL_RECORDS", "2000"))


def security_config() -> dict[str, Any]:
    """TLS/SASL settings for a managed Kafka, from the environment (nothing set = PLAINTEXT).

    KAFKA_SECURITY_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), KAFKA_SASL_MECHANISM (PLAIN,
    SCRAM-SHA-256, SCRAM-SHA-512), KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE.
    """
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL")
    if not protocol:
        return {}
    conf: dict[str, Any] = {"security.protocol": protocol}
    mechanism = os.environ.get("KAFKA_SASL_MECHANISM")
    if mechanism:
        conf.update({"sasl.mechanism": mechanism, "sasl.username": os.environ.get("KAFKA_SASL_USERNAME"),
                     "sasl.password": os.environ.get("KAFKA_SASL_PASSWORD")})
    cafile = os.environ.get("KAFKA_SSL_CAFILE")
    if cafile:
        conf["ssl.ca.location"] = cafile
    return conf


def producer(bootstrap: str | None = None, **overrides: Any) -> Producer:
    """Idempotent producer, acks=all: a retry never writes a record twice or out of order."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap or bootstrap_servers(),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": int(os.environ.get("KAFKA_LINGER_MS", "5")),
        "batch.size": 1_000_000,
        "message.max.bytes": 1_048_576,
        "request.timeout.ms": 30_000,
        "client.id": os.environ.get("SERVICE_NAME", "producer"),
        "logger": LOG,
        **security_config(),
    }
    config.update(overrides)
    return Producer(config)


Outgoing = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]  # topic, key, value, headers


def send(producer_: Producer, topic: str, key: bytes | None, value: bytes | None,
         headers: list[tuple[str, bytes]] | None = None, on_delivery: Any = None) -> None:
    """Queue one message (``flush`` waits for the queue to be sent); waits while librdkafka's queue is full."""
    while True:
        try:
            producer_.produce(topic, key=key, value=value, headers=headers or None,  # type: ignore[arg-type]
                              on_delivery=on_delivery)
            return
        except BufferError:  # the local queue is full: let librdkafka send some
            producer_.poll(0.05)


def deliver(producer_: Producer, messages: Iterable[Outgoing], timeout: float = 30) -> int:
    """Produce every message and wait until Kafka acknowledged them all; raise if it refused any or did not answer
    in time (the caller then records nothing as sent and tries again). Returns how many were delivered."""
    refused: list[Any] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            refused.append(err)

    n = 0
    for topic, key, value, headers in messages:
        send(producer_, topic, key, value, headers, on_delivery)
        n += 1
        if n % 500 == 0:  # serve delivery reports now and then (flush serves the rest)
            producer_.poll(0)
    remaining = producer_.flush(timeout)
    if remaining:
        raise TimeoutError(f"{remaining} record(s) not acknowledged by Kafka in {timeout:.0f}s")
    if refused:
        raise KafkaException(refused[0])
    return n


def deliver_one(producer_: Producer, topic: str, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None = None, timeout: float = 30) -> tuple[int, int]:
    """Produce one message and wait for Kafka's acknowledgement; its (partition, offset)."""
    answer: list[tuple[Any, Any]] = []
    send(producer_, topic, key, value, headers, lambda err, msg: answer.append((err, msg)))
    if producer_.flush(timeout) or not answer:
        raise TimeoutError(f"a record to {topic} not acknowledged by Kafka in {timeout:.0f}s")
    err, msg = answer[0]
    if err is not None:
        raise KafkaException(err)
    return msg.partition(), msg.offset()


def consumer(group_id: str | None, bootstrap: str | None = None, **overrides: Any) -> Consumer:
    """Manual-commit consumer: offsets are committed only after the effect is in PostgreSQL. ``group_id`` None: a
    reader that assigns partitions itself and never commits (librdkafka wants a group id all the same)."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap or bootstrap_servers(),
        "group.id": group_id or f"reader-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "max.poll.interval.ms": 300_000,
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 3_000,
        # a fetch returns once it has fetch.min.bytes or has waited fetch.wait.max.ms: under a steady stream of requests
        # (bench's `rest` section) a fetch of 1 byte answered with one or two events, so each consumer paid a
        # transaction, inbox round trips and an offset commit per event, and the broker a fetch per event per consumer
        # group; a quiet topic delays an event by at most the wait
        "fetch.wait.max.ms": int(os.environ.get("KAFKA_FETCH_MAX_WAIT_MS", "100")),
        "fetch.min.bytes": int(os.environ.get("KAFKA_FETCH_MIN_BYTES", str(64 * 1024))),
        # what one fetch may bring, and what librdkafka keeps fetched ahead (its default is 64 MB per partition's
        # queue): the fetched records are held until consumed, so these bound a consumer's memory when it runs behind
        "fetch.max.bytes": int(os.environ.get("KAFKA_FETCH_MAX_BYTES", str(16 * 1024 * 1024))),
        "queued.max.messages.kbytes": int(os.environ.get("KAFKA_FETCH_MAX_BYTES", str(16 * 1024 * 1024))) // 1024,
        "client.id": os.environ.get("SERVICE_NAME", "consumer"),
        "logger": LOG,
        **security_config(),
    }
    config.update(overrides)
    return Consumer(config)


def admin(bootstrap: str | None = None, **overrides: Any) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap or bootstrap_servers(), **security_config(), **overrides})


class Record(NamedTuple):
    """One consumed record, as plain values (librdkafka's Message reads each through a method call)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None
    timestamp: int  # ms since the epoch (the producer's CreateTime)


def record(msg: Message) -> Record:
    return Record(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),  # type: ignore[arg-type]
                  msg.headers(), msg.timestamp()[1])  # type: ignore[arg-type]


def take(consumer_: Consumer, max_records: int, timeout: float) -> list[Message]:
    """The messages there are, up to ``max_records``, waiting up to ``timeout`` seconds for the first one only
    (librdkafka's ``consume`` alone waits for the whole count or the timeout)."""
    messages = consumer_.consume(num_messages=max_records, timeout=0)
    if messages:
        return messages
    first = consumer_.poll(timeout)
    if first is None:
        return []
    return [first, *consumer_.consume(num_messages=max_records - 1, timeout=0)] if max_records > 1 else [first]


def read_topic(topic: str, bootstrap: str | None = None, timeout: float = 30) -> Iterator[Record]:
    """Every record of every partition of ``topic`` up to its end offset seen now, partition by partition in
    offset order (dead letters, tests, tools: not a live consumer)."""
    reader = consumer(None, bootstrap, **{"enable.partition.eof": True})
    try:
        meta = reader.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            return
        end: dict[int, int] = {}
        for p in sorted(meta.partitions):
            low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                end[p] = high
        if not end:
            return
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in end])
        got: dict[int, list[Record]] = {p: [] for p in end}
        unread = set(end)
        deadline = time.monotonic() + timeout
        while unread:
            messages = take(reader, 1000, 1.0)
            if messages:
                deadline = time.monotonic() + timeout
            elif time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(unread)} gave nothing for {timeout:.0f}s")
            for msg in messages:
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:  # e.g. the last offsets were not records
                        unread.discard(msg.partition())  # type: ignore[arg-type]
                    continue
                rec = record(msg)
                if rec.partition in unread and rec.offset < end[rec.partition]:
                    got[rec.partition].append(rec)
                if rec.offset >= end[rec.partition] - 1:
                    unread.discard(rec.partition)
        for p in end:
            yield from got[p]
    finally:
        reader.close()


class GroupLag:
    """How far a consumer group is behind: per partition, the partition's end offset minus the group's committed
    offset. The committed offsets are asked through a consumer of the group that never joins it (it neither
    subscribes nor commits), the way the group's own members ask at each assignment; the end offsets through an
    admin client. Not through the admin client's request for a group's offsets: when a broker's connection drops
    during it, librdkafka can abort the whole process (confluentinc/librdkafka#3663 and #4605, open), and the
    reader of the lag is often an API worker. Keep one per process and group; ``close`` when done."""

    def __init__(self, bootstrap: str | None, group: str, **overrides: Any) -> None:
        self.group = group
        self._admin = admin(bootstrap, **overrides)
        self._reader = consumer(group, bootstrap, **overrides)

    def read(self, topics: Iterable[str], timeout: float = 30, *,
             committed_topics_only: bool = False) -> dict[TopicPartition, int] | None:
        """The lag on every partition of each of ``topics`` (physical names): a partition the group never
        committed counts from its start, where the group would begin reading it. With ``committed_topics_only``,
        on the topics the group has committed on and no others, for a caller that names every topic of the
        platform rather than the group's own. None when the group has committed on none of them."""
        known = self._admin.list_topics(timeout=timeout).topics
        partitions = [TopicPartition(t, p) for t in topics if t in known for p in sorted(known[t].partitions)]
        if not partitions:
            return None
        committed = {(tp.topic, tp.partition): tp.offset
                     for tp in self._reader.committed(partitions, timeout=timeout) if tp.offset >= 0}
        if not committed:
            return None
        if committed_topics_only:
            on = {topic for topic, _ in committed}
            partitions = [tp for tp in partitions if tp.topic in on]
        ends = end_offsets(self._admin, partitions, timeout)
        return {tp: max(0, end - committed.get((tp.topic, tp.partition), 0)) for tp, end in ends.items()}

    def close(self) -> None:
        self._reader.close()


def group_lag(bootstrap: str | None, group: str, topics: Iterable[str], timeout: float = 30, *,
              committed_topics_only: bool = False) -> dict[TopicPartition, int] | None:
    """``GroupLag.read`` once, with clients of its own."""
    lag = GroupLag(bootstrap, group, **{"client.id": f"{group}-lag"})
    try:
        return lag.read(topics, timeout, committed_topics_only=committed_topics_only)
    finally:
        lag.close()


def end_offsets(admin_: AdminClient, partitions: Iterable[TopicPartition] | Iterable[str],
                timeout: float = 30) -> dict[TopicPartition, int]:
    """The end offset (the next record's) of each partition, or of every partition of each topic named; one
    ListOffsets request."""
    from confluent_kafka.admin import OffsetSpec

    given: list[Any] = list(partitions)
    wanted: list[TopicPartition] = given
    if given and isinstance(given[0], str):
        known = admin_.list_topics(timeout=timeout).topics
        wanted = [TopicPartition(t, p) for t in given if t in known for p in sorted(known[t].partitions)]
    if not wanted:
        return {}
    ends = admin_.list_offsets({tp: OffsetSpec.latest() for tp in wanted}, request_timeout=timeout)
    out: dict[TopicPartition, int] = {}
    for tp, future in ends.items():
        try:
            out[TopicPartition(tp.topic, tp.partition)] = future.result().offset
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise  # else the topic was deleted meanwhile: it has no end
    return out
