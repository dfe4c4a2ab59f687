"""What Kubernetes does to every pod on a rollout, scale-down or drain: SIGTERM, then SIGKILL after the grace period.
Each process must finish what it holds and exit 0 well within it (the manifests give the APIs 45 s, workers 60 s).

- gunicorn (servicekit.gunicorn_conf): stops accepting at once, lets a request in flight finish, exits 0;
- a consumer: finishes the batch in hand, commits it (PostgreSQL and Kafka offsets) and leaves its group;
- a relay: finishes its batch, flushes; a standby relay takes over and nothing is published twice or lost;
- every worker entrypoint the Deployments run serves /healthz, /readyz, /metrics on WORKER_HTTP_PORT and exits 0.
"""

from __future__ import annotations

import importlib
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from devstack.procs import free_port
from devstack.testing import process_env, scalar, start_process, wait_for

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SERVICES = {
    "subscription-service": "subscription_service",
    "scheduler-service": "scheduler_service",
    "order-service": "order_service",
    "billing-service": "billing_service",
}
EXIT_WITHIN_S = 30  # well inside the 60 s the worker Deployments allow


def get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen, log: Path, within: float = EXIT_WITHIN_S) -> float:
    """SIGTERM, then the exit code must be 0 within `within` seconds; returns how long it took."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running {within}s after SIGTERM:\n{log.read_text()[-3000:]}") from None
    assert code == 0, f"exit code {code} after SIGTERM:\n{log.read_text()[-3000:]}"
    return time.monotonic() - started


# -- API -----------------------------------------------------------------------------------------------------------


def test_gunicorn_stops_accepting_and_finishes_the_request_in_flight_on_sigterm(tmp_path):
    port = free_port()
    env = process_env("", "", "", BIND_HOST="127.0.0.1", PORT=port, WEB_CONCURRENCY=1, WEB_THREADS=2,
                      GRACEFUL_TIMEOUT=10, PYTHONPATH=str(HERE))
    log = tmp_path / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "-c", "python:servicekit.gunicorn_conf", "--no-control-socket", "slow_app:app"],
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for(lambda: listening(port), timeout=30, what="gunicorn to listen")
        result: dict[str, object] = {}

        def slow() -> None:
            result["response"] = get(port, "/slow?s=3", timeout=20)

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.7)  # the request is in the worker now
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: not listening(port), timeout=3, interval=0.05, what="gunicorn to stop accepting")
        thread.join(timeout=20)
        assert result["response"] == (200, b"slept 3.0"), "the request in flight was cut"
        assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


# -- consumer ------------------------------------------------------------------------------------------------------


def token_events(n: int) -> list:
    from shared_events import Envelope
    from shared_events.examples import EXAMPLES

    out = []
    for _ in range(n):
        tid = str(uuid.uuid4())
        payload = dict(EXAMPLES["TokenIssued"], token_id=tid, token_hash=uuid.uuid4().hex * 2)
        out.append(Envelope(event_type="TokenIssued", aggregate_id=tid, aggregate_version=1, payload=payload,
                            producer="test", occurred_at=datetime.now(UTC)))
    return out


def publish(infra, topic_prefix, make_db, tmp_path, n: int) -> None:
    """n events into Kafka the way production does it: an outbox and the relay."""
    from shared_events import outbox

    dsn = make_db(None)
    with psycopg.connect(dsn) as conn:
        outbox.append(conn, token_events(n))
        conn.commit()
    log = tmp_path / "publisher-relay.log"
    relay = start_process(["-m", "servicekit.runners", "relay", "publisher"],
                          process_env(dsn, infra.bootstrap, topic_prefix), log)
    try:
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 what="the relay to publish")
    finally:
        stop(relay, log)


def committed_offsets(bootstrap: str, group: str) -> int:
    from confluent_kafka import ConsumerGroupTopicPartitions

    from shared_events import kafka as kafka_clients

    admin = kafka_clients.admin(bootstrap)
    answer = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
    return sum(tp.offset for tp in answer.topic_partitions or [] if tp.offset >= 0)


def group_state(bootstrap: str, group: str) -> tuple[str, int]:
    from shared_events import kafka as kafka_clients

    admin = kafka_clients.admin(bootstrap)
    info = admin.describe_consumer_groups([group])[group].result()
    return info.state.name.capitalize(), len(info.members)


@pytest.mark.integration
def test_a_consumer_finishes_its_batch_commits_and_leaves_its_group_on_sigterm(infra, topic_prefix, make_db,
                                                                               tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0100_applied.sql").write_text("CREATE TABLE applied (event_id uuid PRIMARY KEY)")
    dsn = make_db(migrations)
    publish(infra, topic_prefix, make_db, tmp_path, 120)

    group = f"graceful-{uuid.uuid4().hex[:8]}"
    started_file = tmp_path / "started"
    health = free_port()
    log = tmp_path / "consumer.log"
    consumer = start_process(
        [str(HERE / "slow_consumer.py")],
        process_env(dsn, infra.bootstrap, topic_prefix, PROBE_TOPIC="identity.events", PROBE_GROUP=group,
                    PROBE_STARTED_FILE=started_file, PROBE_DELAY_S="0.05", PROBE_BATCH="20",
                    WORKER_HTTP_PORT=health),
        log)
    try:
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM inbox") >= 20, what="a first batch to be committed")
        assert get(health, "/healthz")[0] == 200 and get(health, "/readyz")[0] == 200
        status, body = get(health, "/metrics")
        assert status == 200 and b"events_consumed_total" in body
        # SIGTERM while events are in hand: started (the handler ran) but not committed yet
        wait_for(lambda: len(set(started_file.read_text().split())) > scalar(dsn, "SELECT count(*) FROM inbox"),
                 interval=0.01, what="a batch in hand")
        took = stop(consumer, log)
    finally:
        if consumer.poll() is None:
            consumer.kill()

    started = set(started_file.read_text().split())
    applied = {str(r[0]) for r in psycopg.connect(dsn).execute("SELECT event_id FROM applied").fetchall()}
    inbox = scalar(dsn, "SELECT count(*) FROM inbox")
    assert started == applied, "every event the handler started on was finished and committed"
    assert inbox == len(applied) < 120, "it stopped mid-stream, after finishing the batch in hand"
    assert committed_offsets(infra.bootstrap, group) == inbox, "the Kafka offsets were committed for that batch too"
    state, members = group_state(infra.bootstrap, group)
    assert (state, members) == ("Empty", 0), "it left the group (no wait for a session timeout)"
    assert took < 10


# -- relay ---------------------------------------------------------------------------------------------------------


def topic_count(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records, distinct event ids) on a physical topic."""
    from shared_events import decode
    from shared_events import kafka as kafka_clients

    ids = [decode(r.value).event_id for r in kafka_clients.read_topic(topic, bootstrap)]
    return len(ids), len(set(ids))


@pytest.mark.integration
def test_relays_finish_their_batch_on_sigterm_and_a_standby_takes_over_without_duplicates(infra, topic_prefix,
                                                                                          make_db, tmp_path):
    from shared_events import outbox
    from shared_events.topics import physical

    pkg = "order_service"
    migrations = importlib.import_module(f"{pkg}.config").MIGRATIONS_DIR
    dsn = make_db(migrations)
    writing = threading.Event()
    written = {"n": 0}

    def writer() -> None:  # the API's write path: events keep arriving while relays come and go
        with psycopg.connect(dsn) as conn:
            while not writing.is_set():
                outbox.append(conn, token_events(25))
                conn.commit()
                written["n"] += 25
                time.sleep(0.02)

    ports = [free_port(), free_port()]
    logs = [tmp_path / "relay-a.log", tmp_path / "relay-b.log"]
    relays = [start_process(["-m", f"{pkg}.entrypoints.relay"],
                            process_env(dsn, infra.bootstrap, topic_prefix, WORKER_HTTP_PORT=port), log)
              for port, log in zip(ports, logs, strict=True)]
    thread = threading.Thread(target=writer)
    try:
        for port in ports:
            wait_for(lambda p=port: listening(p), what="the relays' health endpoint")
            assert get(port, "/healthz")[0] == 200
            # ready once connected to its database (a standby relay is ready too)
            wait_for(lambda p=port: get(p, "/readyz")[0] == 200, what="the relays to be ready")
        thread.start()
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NOT NULL") > 200,
                 what="publishing")
        # stop whichever leads (it holds the advisory lock), in the middle of the flow
        leader = next(i for i, log in enumerate(logs) if "relay is publishing" in log.read_text())
        stop(relays[leader], logs[leader])
        published_at_stop = scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NOT NULL")
        time.sleep(1)
        writing.set()
        thread.join(timeout=10)
        standby = 1 - leader
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 timeout=60, what="the standby to take over and publish the rest")
        assert "relay is publishing" in logs[standby].read_text()
        stop(relays[standby], logs[standby])
    finally:
        writing.set()
        for proc in relays:
            if proc.poll() is None:
                proc.kill()
    total = scalar(dsn, "SELECT count(*) FROM event_store")
    assert total == written["n"] > published_at_stop > 200
    records, distinct = topic_count(infra.bootstrap, physical("identity.events", topic_prefix))
    assert (records, distinct) == (total, total), "nothing lost, nothing published twice across the hand-over"


# -- every worker the Deployments run ------------------------------------------------------------------------------


def deployed_workers() -> list[tuple[str, str]]:
    cases = []
    for svc, pkg in SERVICES.items():
        try:
            workers = importlib.import_module(f"{pkg}.entrypoints").WORKERS
        except ImportError:
            continue
        cases += [(svc, w) for w in workers]
    return cases


@pytest.mark.integration
@pytest.mark.parametrize(("svc", "worker"), deployed_workers())
def test_each_worker_entrypoint_serves_its_health_port_and_exits_0_on_sigterm(svc, worker, infra, topic_prefix,
                                                                              make_db, tmp_path):
    pkg = SERVICES[svc]
    dsn = make_db(importlib.import_module(f"{pkg}.config").MIGRATIONS_DIR)
    port = free_port()
    log = tmp_path / f"{worker}.log"
    group = f"{svc}-{uuid.uuid4().hex[:6]}"
    env = process_env(dsn, infra.bootstrap, topic_prefix, WORKER_HTTP_PORT=port, SERVICE_NAME=svc,
                      STRIPE_API_BASE=infra.stripe_url, SMTP_HOST="127.0.0.1", SMTP_PORT=infra.smtp_port,
                      CONSUMER_GROUP=group)
    proc = start_process(["-m", f"{pkg}.entrypoints.{worker}"], env, log)
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, what=f"{worker} to serve WORKER_HTTP_PORT")
        assert proc.poll() is None, log.read_text()[-3000:]
        assert get(port, "/healthz") == (200, b'{"status":"ok"}')
        wait_for(lambda: get(port, "/readyz")[0] == 200, what=f"{worker} to be ready")
        assert get(port, "/metrics")[0] == 200
        time.sleep(1)  # past start-up: subscribed, leading or standing by
        took = stop(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 15, f"{worker} took {took:.1f}s to stop"
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
