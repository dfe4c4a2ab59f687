"""The entrypoints as the platform runs them: the API under gunicorn, the consumer and the relay as processes, the
rebuild command line."""

import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
import requests

from devstack.procs import free_port
from devstack.testing import process_env, scalar, start_process, wait_for
from servicekit.clock import init_test_clock
from shared_events.platform import CatalogPublisher

pytestmark = pytest.mark.integration

ADMIN = "rop_test_admin_" + uuid.uuid4().hex


@pytest.fixture
def env(service_db, infra, monkeypatch, kit):
    from shared_events.topics import ensure_topics

    prefix = f"subp{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("TOPIC_PARTITIONS", "2")
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.bootstrap)
    ensure_topics(infra.bootstrap, prefix)
    init_test_clock(service_db, datetime(2026, 3, 16, 10, tzinfo=UTC))
    yield process_env(service_db, infra.bootstrap, prefix, ADMIN_TOKEN=ADMIN, TEST_CLOCK_URL=service_db,
                      TOPIC_PARTITIONS="2")
    kit.drop_topics(infra.bootstrap, prefix)


def stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]


def test_api_consumer_relay_and_rebuild_run_as_processes(env, service_db, infra, tmp_path):
    port = free_port()
    api = start_process(["-m", "gunicorn", "-c", "python:servicekit.gunicorn_conf",
                         "subscription_service.entrypoints.flask_app:create_app()"],
                        {**env, "PORT": str(port), "WEB_CONCURRENCY": "1"}, tmp_path / "api.log")
    consumer = start_process(["-m", "subscription_service.entrypoints.consumer"], env, tmp_path / "consumer.log")
    relay = start_process(["-m", "subscription_service.entrypoints.relay"], env, tmp_path / "relay.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), what="the API under gunicorn to be ready")
        auth = {"Authorization": f"Bearer {ADMIN}"}
        shop = requests.post(f"{base}/api/v1/shops", json={
            "name": "Process shop", "timezone": "Europe/Paris", "currency": "EUR",
            "contact_email": "p@shop.example"}, headers=auth, timeout=10)
        assert shop.status_code == 201, shop.text
        shop_id = shop.json()["id"]
        wait_for(lambda: scalar(service_db, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 what="the relay process to publish")
        publisher = CatalogPublisher(infra.bootstrap)
        publisher.variant(shop_id, "eggs-6", "Eggs", unit_price=320, currency="EUR")
        publisher.close()
        wait_for(lambda: scalar(service_db, "SELECT unit_price FROM variants WHERE variant_id = 'eggs-6'") == 320,
                 what="the consumer process to project the catalog")
        assert requests.get(f"{base}/openapi.json", timeout=10).json()["info"]["title"] == "Subscriptions API"
    finally:
        for proc, name in ((api, "api"), (consumer, "consumer"), (relay, "relay")):
            stop(proc, tmp_path / f"{name}.log")
    rebuilt = subprocess.run([sys.executable, "-m", "subscription_service.entrypoints.rebuild"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "identical" in rebuilt.stdout.splitlines()[-1]


def _ready(base):
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
