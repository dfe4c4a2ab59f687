"""The outbox backlog on /metrics, read from the database at scrape time, against real PostgreSQL and Kafka: what
the alerts OutboxStale and OutboxBacklog (deploy/prometheus/alerts.yaml) rely on."""

import threading
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.testing import wait_for
from servicekit import metrics
from servicekit.clock import FixedClock
from servicekit.config import Settings
from servicekit.db import make_pool
from servicekit.runners import make_relay
from servicekit.web.app import create_base_app
from shared_events import Envelope, outbox
from shared_events.examples import EXAMPLES

pytestmark = pytest.mark.integration


@pytest.fixture
def service(infra, topic_prefix, make_db):
    """A service's API (create_base_app) on a fresh database; its relay is not running."""
    dsn = make_db(None)
    settings = Settings(service_name="probe", database_url=dsn, kafka_bootstrap=infra.bootstrap,
                        topic_prefix=topic_prefix, admin_token="rop_admin_" + uuid.uuid4().hex, app_env="test",
                        test_clock_url=None, log_level="WARNING", public_base_url="http://x",
                        rate_limit_per_minute=600, max_body_bytes=2000)
    pool = make_pool(dsn, max_size=2)
    app, _ = create_base_app(settings, title="Probe", description="probe", pool=pool,
                             clock=FixedClock(datetime(2026, 5, 1, tzinfo=UTC)))
    yield settings, app.test_client()
    pool.close()


def tokens_issued(n):
    out = []
    for _ in range(n):
        token_id = str(uuid.uuid4())
        payload = dict(EXAMPLES["TokenIssued"], token_id=token_id, token_hash=uuid.uuid4().hex * 2)
        out.append(Envelope(event_type="TokenIssued", aggregate_id=token_id, aggregate_version=1, payload=payload,
                            producer="probe", occurred_at=datetime.now(UTC)))
    return out


def backlog(client):
    """(outbox_pending_events, outbox_oldest_pending_seconds) of service "probe", as Prometheus parses /metrics."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    samples = {(s.name, s.labels.get("service")): s.value
               for family in text_string_to_metric_families(resp.get_data(as_text=True)) for s in family.samples}
    return samples[("outbox_pending_events", "probe")], samples[("outbox_oldest_pending_seconds", "probe")]


def test_outbox_pending_events_counts_what_a_stopped_relay_left_and_drops_to_zero_once_the_relay_runs(service):
    settings, client = service
    assert backlog(client) == (0, 0)
    events = tokens_issued(7)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        outbox.append(conn, events[:3])  # two transactions, as two requests would write them
        outbox.append(conn, events[3:])
    pending, oldest = backlog(client)
    assert pending == 7 and oldest > 0

    relay = make_relay(settings)  # the relay process's own wiring (servicekit.runners.run_relay)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: backlog(client)[0] == 0, what="the metric to drop once the relay published")
    finally:
        relay.stop()
        thread.join(60)
    assert relay.stats.published == 7
    assert backlog(client) == (0, 0)


def test_a_scrape_counts_at_most_the_cap_however_far_behind_the_relay_is(service, monkeypatch):
    settings, client = service
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        outbox.append(conn, tokens_issued(5))
    monkeypatch.setattr(metrics, "OUTBOX_COUNT_CAP", 3)
    assert backlog(client)[0] == 3
    monkeypatch.setattr(metrics, "OUTBOX_COUNT_CAP", 100)
    assert backlog(client)[0] == 5


def lag(client):
    """consumer_lag_records of group "probe" by topic, as Prometheus parses /metrics."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    return {s.labels["topic"]: s.value for family in text_string_to_metric_families(resp.get_data(as_text=True))
            for s in family.samples if s.name == "consumer_lag_records" and s.labels["group"] == "probe"}


def test_consumer_lag_records_counts_what_the_group_has_not_committed_read_from_kafka_at_each_scrape(
        service, infra):
    from shared_events import kafka as kafka_clients
    from shared_events.topics import physical

    _settings, client = service
    topic = physical("identity.events")
    producer = kafka_clients.producer(infra.bootstrap)
    for n in range(5):
        producer.produce(topic, key=b"k", value=f"record {n}".encode(), partition=0)
    assert producer.flush(30) == 0
    assert lag(client) == {}  # the group has committed nothing yet: no series

    group = kafka_clients.consumer("probe", infra.bootstrap)  # the service's group (no consumer runs)
    try:
        group.commit(offsets=[kafka_clients.TopicPartition(topic, 0, 2)], asynchronous=False)
        assert lag(client) == {"identity.events": 3}  # by logical topic, whatever the deployment's prefix
        group.commit(offsets=[kafka_clients.TopicPartition(topic, 0, 5)], asynchronous=False)
        assert lag(client) == {"identity.events": 0}
    finally:
        group.close()
