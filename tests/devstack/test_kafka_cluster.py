"""devstack's three-node KRaft cluster (KAFKA_NODES=3): the topics get three replicas and min.insync.replicas 2,
and records produced with acks=all while the leader of their partition is killed (kill -9) are all there after the
election, once each and in order; a consumer group's lag is read all through the election without harm."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.infra import Kafka, ensure_kafka_libs
from devstack.procs import ProcessTable, free_port
from devstack.stack import repo_root
from devstack.testing import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[Kafka]:
    base = repo_root() / ".local" / "test"
    base.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="kraft3-", dir=base))
    kafka = Kafka(state / "kafka", ensure_kafka_libs(repo_root()), ProcessTable(state), free_port(), free_port(),
                  nodes=3, extra_ports=[(free_port(), free_port()) for _ in range(2)])
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.stop(timeout=15)
        shutil.rmtree(state, ignore_errors=True)


def test_the_three_node_cluster_lists_every_broker_and_gives_event_topics_three_replicas_and_two_in_sync(
        cluster, monkeypatch):
    from shared_events.kafka import admin
    from shared_events.topics import ensure_topics

    monkeypatch.setenv("TOPIC_PARTITIONS", "1")
    monkeypatch.delenv("KAFKA_REPLICATION_FACTOR", raising=False)
    monkeypatch.delenv("KAFKA_MIN_INSYNC_REPLICAS", raising=False)
    assert len(cluster.bootstrap.split(",")) == 3
    client = admin(cluster.bootstrap)
    assert sorted(client.list_topics(timeout=30).brokers) == [1, 2, 3]
    prefix = f"k{uuid.uuid4().hex[:6]}."
    ensure_topics(cluster.bootstrap, prefix)
    topic = f"{prefix}orders.events"
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import ConfigResource

    def configs_when_known():
        # the controller answers the creation; each broker learns of it from the metadata log a moment later, and
        # an admin request goes to whichever broker
        try:
            [configs] = client.describe_configs([ConfigResource("topic", topic)]).values()
            return configs.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            return None

    configs = wait_for(configs_when_known, timeout=30, what=f"{topic}'s configs")
    assert configs["min.insync.replicas"].value == "2"
    meta = wait_for(lambda: client.list_topics(topic, timeout=30).topics[topic].partitions, timeout=30,
                    what=f"{topic}'s partitions")
    assert [sorted(p.replicas) for p in meta.values()] == [[1, 2, 3]]


def test_records_produced_with_acks_all_while_their_leader_is_killed_are_consumed_once_each_and_in_order(
        cluster, monkeypatch):
    from shared_events import kafka as kafka_clients
    from shared_events.topics import ensure_topics

    monkeypatch.setenv("TOPIC_PARTITIONS", "1")
    prefix = f"k{uuid.uuid4().hex[:6]}."
    ensure_topics(cluster.bootstrap, prefix)
    topic = f"{prefix}scheduler.events"
    client = kafka_clients.admin(cluster.bootstrap)
    def first_leader() -> int | None:
        try:
            node = cluster.leader(topic, 0, client=client)
            return node if node > 0 else None
        except (KeyError, RuntimeError):  # not in the metadata yet, or its leader not elected yet
            return None

    leader = wait_for(first_leader, 30, f"a leader of {topic}")
    assert leader in (1, 2, 3)

    producer = kafka_clients.producer(cluster.bootstrap)  # acks=all, idempotent
    acked: list[tuple[float, int]] = []
    refused: list[object] = []
    stop = threading.Event()
    sent = 0
    # a group that committed the partition's start: /metrics reads its lag all through the election, in this
    # process (librdkafka's admin request for a group's offsets could abort it when a broker drops)
    group = f"{prefix}lagging"
    member = kafka_clients.consumer(group, cluster.bootstrap)
    member.commit(offsets=[kafka_clients.TopicPartition(topic, 0, 0)], asynchronous=False)
    member.close()
    lag = kafka_clients.GroupLag(cluster.bootstrap, group)
    lag_reads: list[int] = []

    def read_lag() -> None:
        while not stop.is_set():
            try:
                lag_reads.append(sum((lag.read([topic], timeout=1) or {}).values()))
            except Exception:  # a cluster in the middle of an election: ask again
                pass
            time.sleep(0.05)

    def on_delivery(err, msg) -> None:
        if err is not None:
            refused.append(err)
        else:
            acked.append((time.monotonic(), int(msg.value())))

    def produce() -> None:
        nonlocal sent
        while not stop.is_set():
            kafka_clients.send(producer, topic, b"one-key", str(sent).encode(), on_delivery=on_delivery)
            sent += 1
            producer.poll(0.005)

    thread = threading.Thread(target=produce)
    thread.start()
    watcher = threading.Thread(target=read_lag)
    watcher.start()
    time.sleep(1.5)
    killed_at = time.monotonic()
    cluster.kill_node(leader)
    new_leader = -1
    while time.monotonic() - killed_at < 60 and new_leader in (-1, leader):
        time.sleep(0.1)
        try:
            new_leader = cluster.leader(topic, 0, timeout=5, client=client)
        except Exception:  # metadata from a cluster in the middle of an election: ask again
            new_leader = -1
    election_s = time.monotonic() - killed_at
    time.sleep(2.0)  # and records go on to the new leader
    stop.set()
    thread.join()
    watcher.join()
    assert producer.flush(60) == 0
    assert new_leader not in (-1, leader), "no new leader within a minute"
    assert not refused, refused[:3]

    times = [killed_at, *(t for t, _ in acked if t > killed_at)]
    stall = max(b - a for a, b in itertools.pairwise(times))
    print(f"\nleader {leader} killed: node {new_leader} leads after {election_s:.1f}s; {sent} records, the longest "
          f"wait for an acknowledgement {stall:.1f}s")

    cluster.start_node(leader)  # back, it catches up and rejoins the in-sync replicas
    values = [int(r.value) for r in kafka_clients.read_topic(topic, cluster.bootstrap)]
    assert values == list(range(sent))
    assert [v for _, v in acked] == list(range(sent))
    assert lag_reads, "no lag read answered during the run"
    assert sum((lag.read([topic]) or {}).values()) == sent  # the group read none of them
    lag.close()

    def in_sync() -> list[int]:
        return sorted(client.list_topics(topic, timeout=10).topics[topic].partitions[0].isrs)

    deadline = time.monotonic() + 60
    while in_sync() != [1, 2, 3] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert in_sync() == [1, 2, 3]


def test_kafka_nodes_3_makes_the_stack_a_cluster_whose_nodes_share_a_quorum_and_replicate_internal_topics(
        tmp_path, monkeypatch):
    from devstack.stack import Stack, StackConfig

    monkeypatch.delenv("KAFKA_HEAP", raising=False)
    monkeypatch.delenv("KAFKA_NODES", raising=False)
    one = Stack(StackConfig(state=tmp_path / "one", external_kafka=None))
    assert (one.bootstrap, one.kafka.heap, one.kafka.process_name(1)) == ("127.0.0.1:19092", "1g", "kafka")
    monkeypatch.setenv("KAFKA_NODES", "3")
    three = Stack(StackConfig(state=tmp_path / "three", external_kafka=None))
    assert three.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert three.kafka.heap == "384m"
    assert [three.kafka.process_name(n) for n in (1, 2, 3)] == ["kafka-1", "kafka-2", "kafka-3"]
    config = dict(line.split("=", 1) for line in three.kafka._write_config(2).read_text().splitlines() if line)
    assert config["node.id"] == "2"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert (config["offsets.topic.replication.factor"], config["transaction.state.log.min.isr"],
            config["min.insync.replicas"]) == ("3", "2", "2")
