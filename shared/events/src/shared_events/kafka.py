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
        "max_poll_records": int(os.environ.get("KAFKA_MAX_POLL_RECORDS", "500")),
        "max_poll_interval_ms": 300_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "fetch_max_wait_ms": 100,
        "client_id": os.environ.get("SERVICE_NAME", "consumer"),
    }
    config.update(overrides)
    return KafkaConsumer(**config)
