"""Outbox -> relay -> Kafka -> consumer, against real PostgreSQL and Kafka, with processes killed on purpose."""

import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from devstack.testing import group_lag, load_module, process_env, scalar, start_process, wait_for
from shared_events import Envelope, decode, outbox
from shared_events import kafka as kafka_clients
from shared_events.examples import EXAMPLES
from shared_events.rebuild import rebuild
from shared_events.registry import DecodeError
from shared_events.topics import event_topics, physical

HERE = Path(__file__).parent

pytestmark = pytest.mark.integration


def _env(infra, dsn, prefix, **extra):
    return process_env(dsn, infra.bootstrap, prefix, **extra)


def token_events(n):
    """n tokens, each issued (v1) then revoked (v2): 2n events over many keys."""
    events = []
    for _ in range(n):
        tid = str(uuid.uuid4())
        issued = dict(EXAMPLES["TokenIssued"], token_id=tid, token_hash=uuid.uuid4().hex * 2)
        revoked = dict(EXAMPLES["TokenRevoked"], token_id=tid, reason="rotated")
        for version, (etype, payload) in enumerate([("TokenIssued", issued), ("TokenRevoked", revoked)], 1):
            events.append(Envelope(event_type=etype, aggregate_id=tid, aggregate_version=version, payload=payload,
                                   producer="test", occurred_at=datetime.now(UTC)))
    return events


def topic_records(bootstrap, topic):
    return list(kafka_clients.read_topic(topic, bootstrap))


def test_an_event_reaches_a_consumer_in_another_process_exactly_once_even_when_the_relay_dies_before_marking(
        infra, topic_prefix, make_db, probe_db, tmp_path):
    producer_db = make_db(None)
    consumer_db, _ = probe_db
    events = token_events(25)
    with psycopg.connect(producer_db) as conn:
        outbox.append(conn, events)
        conn.commit()

    relay_env = _env(infra, producer_db, topic_prefix, RELAY_FAULT="crash_before_mark")
    crashed = start_process(["-m", "servicekit.runners", "relay", "probe-producer"], relay_env, tmp_path / "relay1.log")
    assert crashed.wait(timeout=60) == 137, (tmp_path / "relay1.log").read_text()
    assert scalar(producer_db, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 50

    relay = start_process(["-m", "servicekit.runners", "relay", "probe-producer"],
                          _env(infra, producer_db, topic_prefix), tmp_path / "relay2.log")
    try:
        wait_for(lambda: scalar(producer_db, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 what="the second relay to publish")
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=30) == 0, (tmp_path / "relay2.log").read_text()

    records = topic_records(infra.bootstrap, physical("identity.events"))
    assert len(records) == 100, "the crashed relay's batch was published twice"
    assert len({decode(r.value).event_id for r in records}) == 50

    consumer_env = _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events",
                           PROBE_GROUP=f"probe-{uuid.uuid4().hex[:6]}")
    consumer = start_process([str(HERE / "probe_consumer.py")], consumer_env, tmp_path / "consumer.log")
    try:
        wait_for(lambda: scalar(consumer_db, "SELECT count(*) FROM inbox") == 50, what="the consumer")
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=30) == 0, (tmp_path / "consumer.log").read_text()
    assert scalar(consumer_db, "SELECT count(*) FROM applied") == 50
    assert scalar(consumer_db, "SELECT count(DISTINCT event_id) FROM applied") == 50
    # per-key order kept: every token's v2 (revoked) applied after its v1
    assert scalar(consumer_db, "SELECT count(*) FROM token_view WHERE revoked AND version = 2") == 25


def test_a_consumer_killed_after_its_commit_and_before_its_offset_commit_applies_nothing_twice(
        infra, topic_prefix, make_db, probe_db, tmp_path):
    producer_db = make_db(None)
    consumer_db, _ = probe_db
    with psycopg.connect(producer_db) as conn:
        outbox.append(conn, token_events(20))
        conn.commit()
    relay = start_process(["-m", "servicekit.runners", "relay", "p"], _env(infra, producer_db, topic_prefix),
                  tmp_path / "relay.log")
    group = f"probe-{uuid.uuid4().hex[:6]}"
    once = tmp_path / "consumer-crashed"
    try:
        wait_for(lambda: scalar(producer_db, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0)
        first = start_process([str(HERE / "probe_consumer.py")],
                      _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events", PROBE_GROUP=group,
                              CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=once),
                      tmp_path / "c1.log")
        assert first.wait(timeout=60) == 137, (tmp_path / "c1.log").read_text()
        applied_before_restart = scalar(consumer_db, "SELECT count(*) FROM applied")
        assert applied_before_restart > 0
        second = start_process([str(HERE / "probe_consumer.py")],
                       _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events", PROBE_GROUP=group,
                               CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=once),
                       tmp_path / "c2.log")
        wait_for(lambda: group_lag(infra.bootstrap, group, [physical("identity.events")]) == 0,
                 what="the restarted consumer to catch up")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    assert scalar(consumer_db, "SELECT count(*) FROM applied") == 40
    assert scalar(consumer_db, "SELECT count(DISTINCT event_id) FROM applied") == 40


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_next_good_message_is_applied(
        infra, topic_prefix, probe_db, tmp_path):
    consumer_db, _ = probe_db
    topic = physical("identity.events")
    good, boom = token_events(1)[0], token_events(1)[0]
    boom = Envelope(**{**boom.__dict__, "payload": dict(boom.payload, reason="boom")})
    from shared_events import encode

    producer = kafka_clients.producer(infra.bootstrap)
    bad_messages = [b"{not json", b'{"event_type": "TokenIssued"}', b"[]",
                    encode(boom), b'{"event_type":"Nope","schema_version":1}', b"[" * 20_000 + b"]" * 20_000]
    for raw in bad_messages:
        producer.produce(topic, key=b"k", value=raw, partition=0)
    producer.produce(topic, key=good.aggregate_id.encode(), value=encode(good), partition=0)
    producer.flush()

    consumer = start_process([str(HERE / "probe_consumer.py")],
                     _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events",
                             PROBE_GROUP=f"probe-{uuid.uuid4().hex[:6]}"), tmp_path / "c.log")
    try:
        wait_for(lambda: scalar(consumer_db, "SELECT count(*) FROM applied") == 1, what="the good message")
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=30) == 0, "the consumer must survive poison messages"
    assert scalar(consumer_db, "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == len(bad_messages)
    dead = topic_records(infra.bootstrap, topic + ".dlq")
    assert [r.value for r in dead] == bad_messages, "every poison message lands in the DLQ with its original bytes"
    errors = [dict(r.headers)["dlq.error"].decode() for r in dead]
    assert "not JSON" in errors[0] and "bad envelope" in errors[1] and "handler bug on purpose" in errors[3]
    assert "unknown event type" in errors[4] or "bad envelope" in errors[4]
    assert "nested too deeply" in errors[5]


def test_offsets_whose_commit_met_a_broker_outage_are_committed_later_without_new_records(
        infra, topic_prefix, probe_db, tmp_path):
    """Found by the fault run: the last batch before a Kafka restart was applied, its offset commit failed, no
    record came after it on that partition, and the group showed a lag of 1 for ever."""
    consumer_db, _ = probe_db
    topic = physical("identity.events")
    group = f"probe-{uuid.uuid4().hex[:6]}"
    from shared_events import encode

    producer = kafka_clients.producer(infra.bootstrap)
    for env in token_events(1):
        producer.produce(topic, key=env.aggregate_id.encode(), value=encode(env), partition=0)
    producer.flush()
    consumer = start_process([str(HERE / "probe_consumer.py")],
                             _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events",
                                  PROBE_GROUP=group, PROBE_FIRST_COMMITS_FAIL="2"), tmp_path / "c.log")
    try:
        wait_for(lambda: scalar(consumer_db, "SELECT count(*) FROM applied") == 2, what="both events applied")
        wait_for(lambda: group_lag(infra.bootstrap, group, [topic]) == 0, timeout=30,
                 what="the offsets committed once Kafka answers again, with no new record")
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=30) == 0
    assert scalar(consumer_db, "SELECT count(*) FROM applied") == 2
    assert "offset commit failed" in (tmp_path / "c.log").read_text()


def test_a_projection_rebuilt_from_offset_zero_equals_the_live_one_and_a_corrupted_one_does_not(
        infra, topic_prefix, make_db, probe_db, tmp_path):
    producer_db = make_db(None)
    consumer_db, migrations = probe_db
    with psycopg.connect(producer_db) as conn:
        outbox.append(conn, token_events(30))
        conn.commit()
    relay = start_process(["-m", "servicekit.runners", "relay", "p"], _env(infra, producer_db, topic_prefix),
                  tmp_path / "relay.log")
    consumer = start_process([str(HERE / "probe_consumer.py")],
                     _env(infra, consumer_db, topic_prefix, PROBE_TOPIC="identity.events",
                             PROBE_GROUP=f"probe-{uuid.uuid4().hex[:6]}"), tmp_path / "c.log")
    try:
        wait_for(lambda: scalar(consumer_db, "SELECT count(*) FROM inbox") == 60, what="live projection")
    finally:
        for p in (relay, consumer):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)

    handler_factory = load_module(HERE / "probe_consumer.py").handler_factory
    from servicekit.db import migrate

    def apply(conn, env):
        handler_factory(None)(conn, env)

    def rebuild_once(**kw):
        return rebuild(consumer_db, topics=["identity.events"], apply=apply, tables=["token_view"],
                       migrate=lambda c: migrate(c, migrations), bootstrap=infra.bootstrap, **kw)

    report = rebuild_once()
    assert report.events == 60 and report.identical, report
    with psycopg.connect(consumer_db) as conn:
        conn.execute("UPDATE token_view SET revoked = false WHERE token_id IN "
                     "(SELECT token_id FROM token_view LIMIT 3)")
        conn.commit()
    assert rebuild_once().differences["token_view"] == 6  # 3 rows differ on each side
    repaired = rebuild_once(swap=True)
    assert repaired.swapped and rebuild_once().identical
    # the same replay with every run applied by a bulk projector gives the same rows
    from shared_events.setwrite import set_based

    fast = set_based(apply)
    report = rebuild_once(bulk={"TokenIssued": fast, "TokenRevoked": fast})
    assert report.events == 60 and report.identical and report.undecodable == 0, report
    assert report.chunks_one_by_one == 0, report  # the bulk projector did the work: no chunk fell back

    # types outside ``projected`` are counted, not applied, and end no bulk run: each TokenRevoked (applied one by
    # one when it is projected) cut the TokenIssued runs apart
    calls = []

    def issued_runs(conn, envs):
        calls.append(len(envs))
        fast(conn, envs)

    report = rebuild_once(bulk={"TokenIssued": issued_runs})
    assert report.identical and len(calls) > 1, calls  # the revocations split the issued tokens' runs
    calls.clear()
    report = rebuild_once(bulk={"TokenIssued": issued_runs}, projected={"TokenIssued"})
    assert calls == [30] and report.events == 60, (calls, report)
    assert report.differences["token_view"] == 60  # 30 tokens revoked live, not in a replay of issues only

    # a failure inside a bulk run: the chunk is applied again one by one, only the culprit is skipped
    def fails_on_one(conn, env):
        if env.aggregate_id == victim and env.event_type == "TokenRevoked":
            conn.execute("SELECT 1/0")
        apply(conn, env)

    with psycopg.connect(consumer_db) as conn:
        victim = conn.execute("SELECT token_id FROM token_view ORDER BY token_id LIMIT 1").fetchone()[0]
    bad = set_based(fails_on_one)
    report = rebuild(consumer_db, topics=["identity.events"], apply=fails_on_one, tables=["token_view"],
                     migrate=lambda c: migrate(c, migrations), bootstrap=infra.bootstrap,
                     bulk={"TokenIssued": bad, "TokenRevoked": bad})
    assert report.undecodable == 1 and report.differences["token_view"] == 2, report  # that token stays issued
    assert report.chunks_one_by_one == 1, report  # and it is told: the replay of that chunk was slow


def test_a_replay_merges_the_topics_by_time_as_reading_everything_first_would(infra, topic_prefix,
                                                                                       monkeypatch):
    """read_topics (each partition spilled to a file and the files merged) gives the order of reading every
    partition whole in memory and merging, with timestamps interleaved across partitions and topics, equal
    timestamps, and one record read from librdkafka at a time."""
    import heapq

    from shared_events import rebuild as rebuild_module

    topics = ["identity.events", "shops.events"]
    producer = kafka_clients.producer(infra.bootstrap)
    base = 1_700_000_000_000
    sent = 0
    for n, logical in enumerate(topics):
        name = physical(logical)
        partitions = list(range(next(t.partitions for t in event_topics() if t.name == logical)))
        for i in range(60):
            # out of step across partitions and topics; equal timestamps too, so ties are broken the same way
            value = None if i == 13 else f"{logical}-{i}".encode() * (i % 3)  # a tombstone, empty values too
            producer.produce(name, key=b"k", value=value, partition=partitions[i % len(partitions)],
                          timestamp=base + (i * 7 + n * 3) % 50)
            sent += 1
    producer.flush()
    producer.close()

    partitions = {}
    for logical in topics:
        for rec in kafka_clients.read_topic(physical(logical), infra.bootstrap):
            partitions.setdefault((rec.topic, rec.partition), []).append(
                (rec.timestamp, rec.topic, rec.partition, rec.offset, rec.value))
    whole = list(heapq.merge(*partitions.values()))
    monkeypatch.setattr(rebuild_module, "READ_BATCH", 1)
    streamed = list(rebuild_module.read_topics(topics, infra.bootstrap))
    assert len(whole) == sent
    assert streamed == whole


def test_a_replay_decodes_in_a_second_process_exactly_what_decoding_in_this_one_gives(infra, topic_prefix):
    """decoded_events (read and decoded by a spawned process, sent over in batches) yields, in order, the decode
    of every record read_topics gives here, None for a record that does not decode, over several batches."""
    import threading

    from shared_events import rebuild as rebuild_module
    from shared_events.envelope import encode

    name = physical("identity.events")
    producer = kafka_clients.producer(infra.bootstrap)
    events = token_events(1300)
    for i, env in enumerate(events):
        producer.produce(name, key=env.aggregate_id.encode(), value=encode(env))
        if i % 9 == 0:
            producer.produce(name, key=env.aggregate_id.encode(), value=b"{not an event" if i % 2 else None)
    producer.flush()
    producer.close()

    def decoded_here(value):
        try:
            return decode(value)
        except DecodeError:
            return None

    here = [decoded_here(value) for *_, value in rebuild_module.read_topics(["identity.events"], infra.bootstrap)]
    there = list(rebuild_module.decoded_events(["identity.events"], infra.bootstrap))
    assert len(here) == len(events) + len(range(0, len(events), 9)) > 2 * rebuild_module.DECODED_BATCH
    assert there == here
    assert sorted(e.event_id for e in there if e is not None) == sorted(e.event_id for e in events)
    assert there.count(None) == len(range(0, len(events), 9))

    # only the projected types are decoded and sent over; the others are counted (records that are not JSON
    # documents naming a type are decoded, as before: they come out as None)
    counted: list[int] = []
    issued = list(rebuild_module.decoded_events(["identity.events"], infra.bootstrap, projected={"TokenIssued"},
                                                skipped=counted.append))
    assert issued == [e for e in here if e is None or e.event_type == "TokenIssued"]
    assert sum(counted) == sum(1 for e in events if e.event_type == "TokenRevoked") == 1300

    # an applying side that stops early ends the reading process and the receiving thread
    partial = rebuild_module.decoded_events(["identity.events"], infra.bootstrap)
    assert [next(partial) for _ in range(5)] == here[:5]
    partial.close()
    assert not any(t.name == "rebuild-receiver" for t in threading.enumerate())


def test_a_set_based_consumer_leaves_the_rows_of_applying_each_event_in_turn(infra, topic_prefix, probe_db,
                                                                              make_db, monkeypatch):
    """EventConsumer(set_based=True) applies a batch in a setwrite.RowBatch: rows written through
    setwrite.write are written set-based at the batch's end, a read in between sees every earlier write, and a
    batch with a failing event falls back to the per-event path (the culprit dead-lettered, the rest applied).
    Two consumers of the same records, one set-based, end with the same rows."""
    import threading

    from shared_events import setwrite
    from shared_events.consumer import EventConsumer
    from shared_events.envelope import encode
    from shared_events.setwrite import upsert_statement, write

    monkeypatch.setattr(setwrite, "SMALL", 3)  # runs staged and copied
    view = upsert_statement("token_view", ("token_id", "version", "revoked"), ("token_id",), ("version", "revoked"))

    def handle(conn, env):
        if env.payload.get("reason") == "boom":
            raise ValueError("handler bug on purpose")
        write(conn, view, [env.payload["token_id"], env.aggregate_version, env.event_type == "TokenRevoked"])
        revoked = conn.execute("SELECT count(*) FROM token_view WHERE revoked").fetchone()[0]  # sees the writes
        conn.execute("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                     [env.event_id, env.aggregate_id, revoked])

    events = token_events(150)  # issued, revoked, issued, revoked...: both of a token in the same batch
    assert events[77].event_type == "TokenRevoked"
    events[77] = Envelope(event_type="TokenRevoked", aggregate_id=events[77].aggregate_id, aggregate_version=2,
                          payload=dict(events[77].payload, reason="boom"), producer="test",
                          occurred_at=datetime.now(UTC))
    producer = kafka_clients.producer(infra.bootstrap)
    for env in events:  # one partition: both consumers see one order (the reads depend on it)
        producer.produce(physical("identity.events"), key=env.aggregate_id.encode(), value=encode(env), partition=0)
    producer.flush()
    producer.close()

    dbs = {True: probe_db[0], False: make_db(probe_db[1])}
    consumers = {flag: EventConsumer(db, f"set-{flag}-{uuid.uuid4().hex[:6]}", ["identity.events"], handle,
                                     bootstrap=infra.bootstrap, set_based=flag, max_batch=50)
                 for flag, db in dbs.items()}
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers.values()]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: all(c.stats.applied + c.stats.dead_lettered == len(events) for c in consumers.values()),
                 what="both consumers to apply every event")
    finally:
        for c in consumers.values():
            c.stop()
        for t in threads:
            t.join(60)

    def dump(db):
        with psycopg.connect(db) as conn:
            return (conn.execute("SELECT token_id, version, revoked FROM token_view ORDER BY token_id").fetchall(),
                    conn.execute("SELECT event_id, aggregate_id, version FROM applied ORDER BY event_id").fetchall())

    assert consumers[True].stats.dead_lettered == consumers[False].stats.dead_lettered == 1
    tokens, applied = dump(dbs[True])
    assert (tokens, applied) == dump(dbs[False])
    assert len(tokens) == 150 and len(applied) == len(events) - 1
    assert sorted({v for _, _, v in applied}) == list(range(0, 150))  # the reads counted 0 ... 149 revoked tokens


def test_a_steady_stream_of_events_is_applied_in_batches_not_one_at_a_time(infra, topic_prefix, probe_db):
    """A consumer's fetch waits for 64 KiB or 100 ms (shared_events.kafka): events arriving one every 15 ms, as
    under a steady load of REST creates, are applied several per transaction and offset commit. With Kafka's
    default of answering a fetch as soon as it has one byte, each event was a batch of its own."""
    import threading
    import time

    from shared_events.consumer import EventConsumer
    from shared_events.envelope import encode

    def handle(conn, env):
        conn.execute("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                     [env.event_id, env.aggregate_id, env.aggregate_version])

    events = token_events(30)
    consumer = EventConsumer(probe_db[0], f"steady-{uuid.uuid4().hex[:6]}", ["identity.events"], handle,
                             bootstrap=infra.bootstrap)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    producer = kafka_clients.producer(infra.bootstrap, **{"linger.ms": 0})
    try:
        first, rest = events[0], events[1:]
        producer.produce(physical("identity.events"), key=first.aggregate_id.encode(), value=encode(first))
        producer.flush(10)
        wait_for(lambda: consumer.stats.applied == 1, what="the consumer to be live")  # reads the stream as it comes
        batches_before = consumer.stats.batches
        sent_at = []
        for env in rest:  # each sent at once (linger 0), not awaiting its acknowledgement
            producer.produce(physical("identity.events"), key=env.aggregate_id.encode(), value=encode(env))
            producer.poll(0)
            sent_at.append(time.monotonic())
            time.sleep(0.015)
        producer.flush(10)
        wait_for(lambda: consumer.stats.applied == len(events), what="every event applied")
    finally:
        producer.close()
        consumer.stop()
        thread.join(60)
    batches = consumer.stats.batches - batches_before
    # each fetch waits for 100 ms, so the sends' span bounds the batches (half as many again: a fetch's answer
    # may reach the consumer partition by partition); a busy machine spaces the sends out and the bound follows
    span = sent_at[-1] - sent_at[0]
    bound = (int(span / 0.1) + 2) * 3 // 2
    assert bound < len(rest), f"the sends took {span:.2f} s: too slow to tell batches from single events"
    assert batches <= bound, f"{len(rest)} events sent over {span:.2f} s in {batches} batches"


def test_the_relay_publishes_a_stream_of_single_event_commits_in_a_few_batches_in_order(infra, topic_prefix,
                                                                                       make_db):
    """After a quiet spell the relay waits ``gather_s`` before reading the outbox: commits of one event each, one
    every 20 ms (REST writes), are published a few per SELECT, Kafka round trip and UPDATE. All of them, in
    order. Without the wait each commit woke the relay for a batch of its own."""
    import threading
    import time

    from shared_events.relay import Relay

    dsn = make_db(None)
    events = token_events(6)  # 12 events
    relay = Relay(dsn, "probe-producer", bootstrap=infra.bootstrap, gather_s=0.5)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            outbox.append(conn, events[:1])  # the first publication also fetches Kafka's metadata: not timed
            wait_for(lambda: relay.stats.published == 1, what="the relay to publish a first event")
            time.sleep(0.2)  # idle, waiting for a notification
            appended_at = [time.monotonic()]
            for env in events[1:]:
                outbox.append(conn, [env])
                time.sleep(0.02)
                appended_at.append(time.monotonic())
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 what="the relay to publish")
    finally:
        relay.stop()
        thread.join(60)
    assert relay.stats.published == len(events)
    # the commits span gather_s a few times over only on a busy machine: each such span may be a batch of its own
    spans = int((appended_at[-1] - appended_at[0]) / 0.5)
    assert relay.stats.batches - 1 <= 3 + spans, f"{len(events) - 1} events in {relay.stats.batches - 1} batches"
    by_key: dict[str, list[int]] = {}
    for rec in topic_records(infra.bootstrap, physical("identity.events")):
        env = decode(rec.value)
        by_key.setdefault(env.aggregate_id, []).append(env.aggregate_version)
    assert by_key == {e.aggregate_id: [1, 2] for e in events}  # each key's events once, in order


def test_an_event_another_group_member_recorded_meanwhile_is_rolled_back_and_skipped_not_applied_twice(
        infra, topic_prefix, probe_db):
    """Two members of a group can briefly own one partition during a rebalance, and both apply an event. The
    inbox rows are copied in without ON CONFLICT, so the second to commit fails on the inbox key, rolls its whole
    batch back and has it redelivered; the inbox then says the event was applied, and it is skipped."""
    import threading

    from shared_events.consumer import EventConsumer
    from shared_events.envelope import encode

    events = token_events(10)
    contested = events[7]
    name = f"race-{uuid.uuid4().hex[:6]}"
    dsn = probe_db[0]

    def handle(conn, env):
        conn.execute("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                     [env.event_id, env.aggregate_id, env.aggregate_version])
        if env.event_id == contested.event_id:  # the other member records it first (and commits)
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute("INSERT INTO inbox (consumer, event_id, topic, partition, \"offset\", outcome) "
                              "VALUES (%s, %s, 'identity.events', 0, 0, 'applied') ON CONFLICT DO NOTHING",
                              [name, env.event_id])

    producer = kafka_clients.producer(infra.bootstrap)
    for env in events:
        producer.produce(physical("identity.events"), key=env.aggregate_id.encode(), value=encode(env), partition=0)
    producer.flush()
    producer.close()
    consumer = EventConsumer(dsn, name, ["identity.events"], handle, bootstrap=infra.bootstrap)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        def recorded():
            with psycopg.connect(dsn) as conn:
                return conn.execute("SELECT count(*) FROM inbox WHERE consumer = %s", [name]).fetchone()[0]

        wait_for(lambda: recorded() == len(events) and consumer.stats.duplicates == 1,
                 what="every event recorded, the contested one skipped as a duplicate")
    finally:
        consumer.stop()
        thread.join(60)
    with psycopg.connect(dsn) as conn:
        applied = [str(r[0]) for r in conn.execute("SELECT event_id FROM applied").fetchall()]
        outcomes = conn.execute("SELECT outcome, count(*) FROM inbox WHERE consumer = %s GROUP BY 1",
                                [name]).fetchall()
    assert sorted(applied) == sorted(e.event_id for e in events if e is not contested)
    assert outcomes == [("applied", len(events))]


@pytest.mark.parametrize("n", [5, 450])  # unnest parameters below outbox.COPY_THRESHOLD, a binary COPY above it
def test_append_new_stores_the_new_events_in_order_with_their_exact_bytes_and_skips_stored_versions(
        infra, make_db, n):
    from shared_events.envelope import encode

    events = token_events(n)  # 2n events
    first, second = events[: n], events[n // 2:]  # the second call repeats a quarter of them
    with psycopg.connect(make_db(None)) as conn:
        stored = outbox.append_new(conn, first)
        again = outbox.append_new(conn, second)
        rows = conn.execute("SELECT event_id, body FROM event_store ORDER BY position").fetchall()
    assert [e.event_id for e in stored] == [e.event_id for e in first]
    assert [e.event_id for e in again] == [e.event_id for e in events[n:]]  # the repeated ones were skipped
    assert [str(r[0]) for r in rows] == [e.event_id for e in events]  # positions in the given order
    assert [bytes(r[1]) for r in rows] == [encode(e) for e in events]


def test_append_is_all_or_nothing_in_its_own_transaction_or_in_the_callers(infra, make_db):
    """Outside a transaction (autocommit) append opens one: a version clash stores none of the events. Inside the
    caller's transaction it adds no savepoint: the clash fails that transaction, which the caller rolls back."""
    dsn = make_db(None)
    events = token_events(2)  # a: v1, v2; b: v1, v2
    clash = Envelope(**{**events[1].__dict__, "event_id": str(uuid.uuid4())})  # a's v2 again, another event
    with psycopg.connect(dsn, autocommit=True) as conn:
        outbox.append(conn, events[:2])
        with pytest.raises(outbox.ConcurrencyError):
            outbox.append(conn, [events[2], clash])  # b's v1 is new, the clash is not: neither is stored
        with pytest.raises(outbox.ConcurrencyError):
            outbox.append(conn, [clash])  # alone (a request's usual single event takes another path)
        assert conn.execute("SELECT count(*) FROM event_store").fetchone()[0] == 2
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT 1")  # the caller's transaction is open
        with pytest.raises(outbox.ConcurrencyError):
            outbox.append(conn, [events[2], clash])
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")  # no savepoint took the clash: the caller rolls back
        conn.rollback()
        outbox.append(conn, events[2:])
        conn.commit()
        assert conn.execute("SELECT count(*) FROM event_store").fetchone()[0] == 4


def _produce_on_one_partition(infra, events):
    from shared_events.envelope import encode

    producer = kafka_clients.producer(infra.bootstrap)
    for env in events:
        producer.produce(physical("identity.events"), key=env.aggregate_id.encode(), value=encode(env), partition=0)
    producer.flush()
    producer.close()


def _run_until(consumer, done, what):
    import threading

    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        wait_for(done, what=what)
    finally:
        consumer.stop()
        thread.join(60)


def test_runs_of_a_bulk_type_go_to_its_bulk_handler_and_a_failing_run_is_applied_event_by_event(
        infra, topic_prefix, probe_db):
    """EventConsumer(bulk={type: fn}): consecutive events of such types are applied by one call of fn, in one
    savepoint. A run that fails (here a poison event) is rolled back and applied event by event by the handler:
    the culprit is dead-lettered, every other event applied once, by one path or the other."""
    from shared_events.consumer import EventConsumer

    def insert(conn, envs, path):
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                            [(env.event_id, env.aggregate_id, path) for env in envs])

    def handle(conn, env):
        if env.payload.get("reason") == "boom":
            raise ValueError("handler bug on purpose")
        insert(conn, [env], 1)

    calls = []

    def in_bulk(conn, envs):
        calls.append(len(envs))
        if any(env.payload.get("reason") == "boom" for env in envs):
            raise ValueError("bulk handler meets the bug too")
        insert(conn, envs, 0)

    events = token_events(40)
    events[51] = Envelope(event_type="TokenRevoked", aggregate_id=events[51].aggregate_id, aggregate_version=2,
                          payload=dict(events[51].payload, reason="boom"), producer="test",
                          occurred_at=datetime.now(UTC))
    _produce_on_one_partition(infra, events)
    consumer = EventConsumer(probe_db[0], f"bulk-{uuid.uuid4().hex[:6]}", ["identity.events"], handle,
                             bootstrap=infra.bootstrap, max_batch=30,
                             bulk={"TokenIssued": in_bulk, "TokenRevoked": in_bulk})
    _run_until(consumer, lambda: consumer.stats.applied + consumer.stats.dead_lettered == len(events),
               "every event applied or dead-lettered")
    with psycopg.connect(probe_db[0]) as conn:
        rows = conn.execute("SELECT event_id::text, version FROM applied WHERE event_id = ANY(%s::uuid[])",
                            [[e.event_id for e in events]]).fetchall()
    by_path = {0: set(), 1: set()}
    for event_id, path in rows:
        by_path[path].add(event_id)
    assert len(rows) == len(events) - 1 and events[51].event_id not in dict(rows)
    assert consumer.stats.dead_lettered == 1 and consumer.stats.by_type == {"TokenIssued": 40, "TokenRevoked": 39}
    assert by_path[0] and by_path[1], "some runs applied in bulk, the failing one event by event"
    assert max(calls) > 1


def test_a_handler_is_told_how_long_the_event_it_applies_has_waited(infra, topic_prefix, probe_db):
    """shared_events.consumer.waited_s(): 0 at an event's first try; after RetryLater, the time since its first
    RetryLater, kept by the consumer for that record (a handler that would rather wait a while stops waiting)."""
    from shared_events.consumer import EventConsumer, RetryLater, waited_s

    events = token_events(3)
    patient = events[2].event_id
    told: list[float] = []

    def handle(conn, env):
        if env.event_id == patient:
            told.append(waited_s())
            if told[-1] < 1.0:
                raise RetryLater("not yet")
        elif waited_s() != 0.0:
            raise AssertionError("an event that never waited is told it waited")
        conn.execute("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                     [env.event_id, env.aggregate_id, env.aggregate_version])

    _produce_on_one_partition(infra, events)
    consumer = EventConsumer(probe_db[0], f"wait-{uuid.uuid4().hex[:6]}", ["identity.events"], handle,
                             bootstrap=infra.bootstrap, retry_later_pause_s=0.2)
    _run_until(consumer, lambda: consumer.stats.applied == len(events), "every event applied")
    assert told[0] == 0.0 and told[-1] >= 1.0 and told == sorted(told) and len(told) >= 3
    assert consumer.stats.dead_lettered == 0 and consumer.stats.retried_later >= 1


def test_a_group_s_lag_counts_a_topic_it_has_not_committed_on_yet_from_its_start(infra, topic_prefix):
    """Found by CI: a replay's group had committed on two of its three topics, and a lag read only on the topics
    committed on said it had caught up before it had read the third."""
    read_first, not_yet = physical("shops.events"), physical("customers.events")
    producer = kafka_clients.producer(infra.bootstrap)
    for topic, n in ((read_first, 2), (not_yet, 3)):
        for _ in range(n):
            producer.produce(topic, key=b"k", value=b"{}", partition=0)
    producer.flush()
    group = f"probe-{uuid.uuid4().hex[:6]}"
    committer = kafka_clients.consumer(group, infra.bootstrap)
    try:
        committer.commit(offsets=[kafka_clients.TopicPartition(read_first, 0, 2)], asynchronous=False)
    finally:
        committer.close()

    lag = kafka_clients.group_lag(infra.bootstrap, group, [read_first, not_yet])
    assert lag is not None
    assert sum(n for tp, n in lag.items() if tp.topic == read_first) == 0
    assert sum(n for tp, n in lag.items() if tp.topic == not_yet) == 3
    assert group_lag(infra.bootstrap, group, [read_first, not_yet]) == 3

    platform_wide = kafka_clients.group_lag(infra.bootstrap, group, [read_first, not_yet], committed_topics_only=True)
    assert platform_wide is not None and {tp.topic for tp in platform_wide} == {read_first}
    assert kafka_clients.group_lag(infra.bootstrap, f"{group}-none", [read_first, not_yet]) is None
