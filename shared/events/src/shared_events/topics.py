"""Topic names, partitions and configs, in one place; creates them or checks them.

Event topics keep their records forever (retention.ms=-1): they are the system
of record. Each has a ``.dlq`` sibling for messages a consumer could not apply.
A deployment-wide prefix (env TOPIC_PREFIX) lets test runs share one broker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

EVENT_TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "min.insync.replicas": "1",
    "message.timestamp.type": "CreateTime",
}
DLQ_TOPIC_CONFIG = {"retention.ms": str(90 * 24 * 3600 * 1000), "cleanup.policy": "delete"}


@dataclass(frozen=True)
class TopicSpec:
    name: str  # logical name, without prefix
    partitions: int
    owner: str  # producing service (or "platform")
    configs: dict[str, str] = field(default_factory=lambda: dict(EVENT_TOPIC_CONFIG))


def _p(default: int) -> int:
    return int(os.environ.get("TOPIC_PARTITIONS", default))


def event_topics() -> list[TopicSpec]:
    """Every event topic of the platform (not the DLQs)."""
    return [
        TopicSpec("identity.events", _p(3), "subscription-service"),
        TopicSpec("shops.events", _p(3), "subscription-service"),
        TopicSpec("customers.events", _p(6), "subscription-service"),
        TopicSpec("schedules.events", _p(3), "subscription-service"),
        TopicSpec("subscriptions.events", _p(12), "subscription-service"),
        TopicSpec("scheduler.events", _p(12), "scheduler-service"),
        TopicSpec("orders.events", _p(12), "order-service"),
        TopicSpec("billing.events", _p(6), "billing-service"),
        TopicSpec("catalog.events", _p(6), "platform"),
    ]


def dlq_name(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[TopicSpec]:
    specs = event_topics()
    return specs + [TopicSpec(dlq_name(t.name), 1, t.owner, dict(DLQ_TOPIC_CONFIG)) for t in specs]


def prefix() -> str:
    return os.environ.get("TOPIC_PREFIX", "")


def physical(name: str, topic_prefix: str | None = None) -> str:
    """The Kafka topic name for a logical name, with the deployment prefix."""
    return f"{prefix() if topic_prefix is None else topic_prefix}{name}"


def logical(physical_name: str, topic_prefix: str | None = None) -> str:
    p = prefix() if topic_prefix is None else topic_prefix
    return physical_name[len(p):] if p and physical_name.startswith(p) else physical_name


def ensure_topics(bootstrap: str, topic_prefix: str | None = None, timeout_ms: int = 30_000) -> list[str]:
    """Create every topic that does not exist yet (idempotent). Returns the names created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    from shared_events.kafka import admin as admin_client

    replication = int(os.environ.get("KAFKA_REPLICATION_FACTOR", "1"))
    admin = admin_client(bootstrap, **{"client.id": "topic-setup"})
    existing = set(admin.list_topics(timeout=timeout_ms / 1000).topics)
    wanted = [t for t in all_topics() if physical(t.name, topic_prefix) not in existing]
    if wanted:
        new = [NewTopic(physical(t.name, topic_prefix), t.partitions, replication, config=t.configs)
               for t in wanted]
        for future in admin.create_topics(new, operation_timeout=timeout_ms / 1000,
                                          request_timeout=timeout_ms / 1000).values():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise  # else a concurrent creator won; that is fine
    return [physical(t.name, topic_prefix) for t in wanted]
