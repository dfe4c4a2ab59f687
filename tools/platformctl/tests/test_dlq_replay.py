"""A dead letter replayed after the bug is fixed is applied once, and only by the consumer that failed it, with the
original record's headers (the CloudEvents Kafka binding's among them)."""

import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.testing import process_env, scalar, start_process, wait_for
from platformctl import dlq
from shared_events import Envelope, binding, encode
from shared_events import kafka as kafka_clients
from shared_events.examples import EXAMPLES
from shared_events.topics import physical

pytestmark = pytest.mark.integration
PROBE = Path(__file__).resolve().parents[3] / "shared/events/tests/integration/probe_consumer.py"
SCHEMA = ("CREATE TABLE applied (event_id uuid NOT NULL, aggregate_id text NOT NULL, version int NOT NULL);"
          "CREATE TABLE token_view (token_id text PRIMARY KEY, version int NOT NULL, revoked boolean NOT NULL);")


def test_a_dead_letter_replayed_after_the_fix_is_applied_exactly_once(infra, topic_prefix, make_db, tmp_path):
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "0100.sql").write_text(SCHEMA)
    db = make_db(migrations)
    tid = str(uuid.uuid4())
    poison = Envelope(event_type="TokenRevoked", aggregate_id=tid, aggregate_version=1, producer="t",
                      payload=dict(EXAMPLES["TokenRevoked"], token_id=tid, reason="boom"),
                      occurred_at=datetime.now(UTC))
    kafka_clients.deliver(kafka_clients.producer(infra.bootstrap),
                          [(physical("identity.events"), tid.encode(), encode(poison),
                            binding.headers(poison.event_id, poison.event_type, poison.producer, poison.occurred_at))])
    group = f"probe-{uuid.uuid4().hex[:6]}"
    env = process_env(db, infra.bootstrap, topic_prefix, PROBE_TOPIC="identity.events", PROBE_GROUP=group)

    buggy = start_process([str(PROBE)], env, tmp_path / "buggy.log")
    try:
        wait_for(lambda: scalar(db, "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == 1)
    finally:
        buggy.send_signal(signal.SIGTERM)
        buggy.wait(timeout=30)
    letters = list(dlq.read(infra.bootstrap, physical("identity.events.dlq")))
    # the consumer a dead letter names is the service (its inbox retries it), whatever its Kafka group
    assert len(letters) == 1 and letters[0].consumer == "probe" and "handler bug" in letters[0].error

    fixed = start_process([str(PROBE)], dict(env, PROBE_BUG_FIXED="1"), tmp_path / "fixed.log")
    try:
        assert dlq.replay(infra.bootstrap, letters) == 1
        wait_for(lambda: scalar(db, "SELECT count(*) FROM applied") == 1, what="the replayed event")
        assert dlq.replay(infra.bootstrap, letters) == 1  # replaying twice changes nothing more
        wait_for(lambda: scalar(db, "SELECT count(*) FROM inbox WHERE outcome = 'applied'") == 1)
        import time

        time.sleep(2)
    finally:
        fixed.send_signal(signal.SIGTERM)
        assert fixed.wait(timeout=30) == 0
    assert scalar(db, "SELECT count(*) FROM applied") == 1
    original = binding.headers(poison.event_id, poison.event_type, poison.producer, poison.occurred_at)
    assert letters[0].original_headers == original
    replayed = [r for r in kafka_clients.read_topic(physical("identity.events"), infra.bootstrap)
                if any(k == "dlq.replay" for k, _ in r.headers or [])]
    assert len(replayed) == 2 and all(r.headers[:-1] == original for r in replayed)
    assert scalar(db, "SELECT revoked FROM token_view WHERE token_id = %s", [tid]) is True
