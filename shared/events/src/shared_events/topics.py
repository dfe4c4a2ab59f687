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
    "min.insync.replicas": "1",  # with one replica; ensure_topics sets min_insync_replicas(replication)
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


def replication_factor(brokers: int) -> int:
    """Replicas of the topics ensure_topics creates: KAFKA_REPLICATION_FACTOR, else 3 on a cluster of three
    brokers or more (devstack's KAFKA_NODES=3, as in production), else one per broker there is."""
    env = os.environ.get("KAFKA_REPLICATION_FACTOR")
    return int(env) if env else max(1, min(3, brokers))


def min_insync_replicas(replication: int) -> int:
    """``min.insync.replicas`` of the event topics: KAFKA_MIN_INSYNC_REPLICAS, else 2 with three replicas or more
    (a write with acks=all is on two brokers before it is acknowledged, and one broker may be down), else 1.
    deploy/k8s/components/strimzi-topics asks the same (tests/deploy/test_manifests.py checks)."""
    env = os.environ.get("KAFKA_MIN_INSYNC_REPLICAS")
    return int(env) if env else (2 if replication >= 3 else 1)


def ensure_topics(bootstrap: str, topic_prefix: str | None = None, timeout_ms: int = 30_000) -> list[str]:
    """Create every topic that does not exist yet (idempotent), with ``replication_factor`` replicas for the
    brokers the cluster has and, on event topics, ``min_insync_replicas`` of that. Returns the names created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    from shared_events.kafka import admin as admin_client

    admin = admin_client(bootstrap, **{"client.id": "topic-setup"})
    cluster = admin.list_topics(timeout=timeout_ms / 1000)
    existing = set(cluster.topics)
    replication = replication_factor(len(cluster.brokers))
    wanted = [t for t in all_topics() if physical(t.name, topic_prefix) not in existing]
    if wanted:
        new = [NewTopic(physical(t.name, topic_prefix), t.partitions, replication, config=_configs(t, replication))
               for t in wanted]
        for future in admin.create_topics(new, operation_timeout=timeout_ms / 1000,
                                          request_timeout=timeout_ms / 1000).values():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise  # else a concurrent creator won; that is fine
    return [physical(t.name, topic_prefix) for t in wanted]


def _configs(spec: TopicSpec, replication: int) -> dict[str, str]:
    configs = dict(spec.configs)
    if "min.insync.replicas" in configs:
        configs["min.insync.replicas"] = str(min_insync_replicas(replication))
    return configs
