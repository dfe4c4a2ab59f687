"""platformctl status against a running stack: every service's outbox, and each consumer group's lag by partition."""

import subprocess
import sys
import uuid

import pytest

from platformctl.targets import SERVICES
from shared_events import kafka as kafka_clients
from shared_events.topics import event_topics, physical

pytestmark = pytest.mark.integration


def rows(output: str, first_cell: str) -> list[list[str]]:
    """The cells of the table rows whose first cell is ``first_cell``."""
    cells = [[c.strip() for c in line.strip().strip("│┃").split("│")] for line in output.splitlines()]
    return [row for row in cells if row and row[0] == first_cell]


def test_status_prints_each_consumer_groups_lag_by_topic_and_partition(infra, topic_prefix, make_db):
    topic = physical("orders.events")
    producer = kafka_clients.producer(infra.bootstrap)
    for partition, n in ((0, 5), (1, 2)):  # five records in partition 0, two in partition 1
        for _ in range(n):
            producer.produce(topic, value=b"{}", partition=partition)
    assert producer.flush(30) == 0
    group = f"order-service-{uuid.uuid4().hex[:6]}"
    # like a service's group: offsets committed on every partition of every topic it reads (72 partitions here:
    # main's kafka-python end_offsets raised KeyError on such a group); it has applied two records of partitions
    # 0 and 1 of orders.events
    committed = {(physical(t.name), p): 0 for t in event_topics() for p in range(t.partitions)}
    committed.update({(topic, 0): 2, (topic, 1): 2})
    consumer = kafka_clients.consumer(group, infra.bootstrap)
    consumer.commit(offsets=[kafka_clients.TopicPartition(t, p, o) for (t, p), o in committed.items()],
                    asynchronous=False)
    consumer.close()
    db = make_db(None)
    env = {f"{name.upper().replace('-', '_')}_DATABASE_URL": db for name in SERVICES}

    out = subprocess.run([sys.executable, "-m", "platformctl.cli", "status"], capture_output=True, text=True,
                         timeout=120, env={**env, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
                                           "TOPIC_PREFIX": topic_prefix, "COLUMNS": "300", "PATH": "/usr/bin:/bin"})

    assert out.returncode == 0, out.stderr
    assert rows(out.stdout, group) == sorted(
        [group, physical(t.name), "3", "0: 3"] if physical(t.name) == topic else [group, physical(t.name), "0", "-"]
        for t in event_topics())
    assert rows(out.stdout, "order-service")[0][1:] == ["0", "-", "0"]  # the outbox: nothing pending, none sent
