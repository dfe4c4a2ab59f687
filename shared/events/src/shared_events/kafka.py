"""Kafka client factories with the settings the platform relies on.

Clients connect in their constructor (kafka-python bootstraps eagerly), so build
them in the process that uses them, after any fork, never at import time.
"""

from __future__ import annotations

import os
from typing import Any

from kafka import KafkaConsumer, KafkaProducer


def bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")


def max_poll_records() -> int:
    """Records per poll (KAFKA_MAX_POLL_RECORDS, default 2000). A consumer applies a poll in one PostgreSQL
    transaction and commits its offsets once: at a cycle's open (100,000 OrderDue) 500 per poll meant 200
    transactions, inbox round trips and synchronous offset commits per consumer."""
    return int(os.environ.get("KAFKA_MAX_POLL_RECORDS", "2000"))


def security_config(style: str = "kafka-python") -> dict[str, Any]:
    """TLS/SASL settings for a managed Kafka, from the environment (nothing set = PLAINTEXT).

    KAFKA_SECURITY_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), KAFKA_SASL_MECHANISM (PLAIN,
    SCRAM-SHA-256, SCRAM-SHA-512), KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE.
    """
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL")
    if not protocol:
        return {}
    mechanism = os.environ.get("KAFKA_SASL_MECHANISM")
    user, password = os.environ.get("KAFKA_SASL_USERNAME"), os.environ.get("KAFKA_SASL_PASSWORD")
    cafile = os.environ.get("KAFKA_SSL_CAFILE")
    if style == "confluent":
        conf: dict[str, Any] = {"security.protocol": protocol}
        if mechanism:
            conf.update({"sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password})
        if cafile:
            conf["ssl.ca.location"] = cafile
        return conf
    conf = {"security_protocol": protocol}
    if mechanism:
        conf.update({"sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password})
    if cafile:
        conf["ssl_cafile"] = cafile
    return conf


def producer(bootstrap: str | None = None, **overrides: Any) -> KafkaProducer:
    """Idempotent producer, acks=all: a retry never writes a record twice or out of order."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap or bootstrap_servers(),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "linger_ms": int(os.environ.get("KAFKA_LINGER_MS", "5")),
        "batch_size": 256 * 1024,
        "max_request_size": 1_048_576,
        "request_timeout_ms": 30_000,
        "client_id": os.environ.get("SERVICE_NAME", "producer"),
        **security_config(),
    }
    config.update(overrides)
    return KafkaProducer(**config)


def consumer(group_id: str | None, bootstrap: str | None = None, **overrides: Any) -> KafkaConsumer:
    """Manual-commit consumer: offsets are committed only after the effect is in PostgreSQL."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap or bootstrap_servers(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": max_poll_records(),
        "max_poll_interval_ms": 300_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        # a fetch returns once it has 64 KiB or has waited 100 ms: under a steady stream of requests (200 creates/s)
        # the default of 1 byte answered every fetch with one or two events, so each consumer paid a transaction,
        # inbox round trips and an offset commit per event, and the broker a fetch per event per consumer group;
        # a quiet topic delays an event by at most the wait
        "fetch_max_wait_ms": int(os.environ.get("KAFKA_FETCH_MAX_WAIT_MS", "100")),
        "fetch_min_bytes": int(os.environ.get("KAFKA_FETCH_MIN_BYTES", str(64 * 1024))),
        # what one fetch may bring (kafka-python's default is 50 MB): the fetched bytes and their parsed records
        # are held until polled, so this bounds a consumer's memory when it runs behind
        "fetch_max_bytes": int(os.environ.get("KAFKA_FETCH_MAX_BYTES", str(16 * 1024 * 1024))),
        "client_id": os.environ.get("SERVICE_NAME", "consumer"),
        **security_config(),
    }
    config.update(overrides)
    return KafkaConsumer(**config)


# -- producer client choice --------------------------------------------------------------------------------------
#
# kafka-python is pure Python: on this 2-core machine its idempotent producer makes 3.5-9.5k msg/s of 500 B,
# while confluent-kafka (librdkafka) with the same guarantees makes 37-41k msg/s (make bench, "limits").
# Producing is what the relays do at a cycle's open and close (100,000 events each), so they use
# confluent-kafka when it is installed; KAFKA_PRODUCER_CLIENT=kafka-python forces the pure-Python client.


class _Delivery:
    """A future for one confluent-kafka delivery, with kafka-python's ``get(timeout)``."""

    __slots__ = ("_done", "_error", "_owner")

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        self._done = False
        self._error: Any = None

    def _callback(self, err: Any, _msg: Any) -> None:
        self._error = err
        self._done = True

    def get(self, timeout: float = 30) -> None:
        import time as _time

        deadline = _time.monotonic() + timeout
        while not self._done:
            if _time.monotonic() > deadline:
                raise TimeoutError("Kafka delivery not acknowledged in time")
            self._owner.poll(0.05)
        if self._error is not None:
            raise RuntimeError(f"Kafka refused the record: {self._error}")


class ConfluentProducer:
    """The subset of kafka-python's KafkaProducer API the platform uses, on librdkafka."""

    def __init__(self, bootstrap: str, **overrides: Any) -> None:
        from confluent_kafka import Producer

        config = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": int(os.environ.get("KAFKA_LINGER_MS", "5")),
            "batch.size": 1_000_000,
            "message.max.bytes": 1_048_576,
            "client.id": os.environ.get("SERVICE_NAME", "producer"),
            **security_config("confluent"),
        }
        config.update(overrides)
        self._p = Producer(config)
        self._sent = 0

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None, partition: int | None = None) -> _Delivery:
        delivery = _Delivery(self._p)
        kwargs: dict[str, Any] = {"key": key, "value": value, "headers": headers or None,
                                  "on_delivery": delivery._callback}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._p.produce(topic, **kwargs)
                break
            except BufferError:  # the local queue is full: let librdkafka send some
                self._p.poll(0.05)
        self._sent += 1
        if self._sent % 500 == 0:  # serve delivery callbacks now and then (flush and get serve the rest)
            self._p.poll(0)
        return delivery

    def flush(self, timeout: float | None = None) -> None:
        remaining = self._p.flush(timeout if timeout is not None else 60)
        if remaining:
            raise TimeoutError(f"{remaining} record(s) not delivered")

    def close(self, timeout: float | None = None) -> None:
        self._p.flush(timeout if timeout is not None else 30)


def fast_producer(bootstrap: str | None = None) -> Any:
    """The producer for bulk publishing (relays, dead letters): confluent-kafka when available."""
    choice = os.environ.get("KAFKA_PRODUCER_CLIENT", "confluent")
    if choice == "confluent":
        try:
            import confluent_kafka  # noqa: F401
        except ImportError:
            choice = "kafka-python"
    if choice == "confluent":
        return ConfluentProducer(bootstrap or bootstrap_servers())
    return producer(bootstrap)
