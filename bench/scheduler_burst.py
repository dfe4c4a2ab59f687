"""A cycle opens for 100,000 subscriptions: how long until every OrderDue is in Kafka?  python bench/scheduler_burst.py

One shop, one schedule, --subscriptions active subscriptions (default 100,000) and two weekly order cycles.
The test clock is advanced across each cycle's open, once through each path that can emit it:

- ticker: the clock is set past the open (as a test clock advance or real time would) and a running ticker
  process wakes on the NOTIFY and emits the open;
- api: ``service_layer.test_clock.advance`` (what POST /api/v1/test-clock/advance runs) steps the clock to the
  open and emits it itself, returning once the events are in the outbox.

For each: seconds from the clock move to the open's transaction committed to the outbox (OrderDue x N and
OrderCycleOpened, one transaction), and to every one of those events in Kafka (end offsets of scheduler.events,
published by a running relay process); then a check reads the topic back and counts distinct OrderDue keys.
The projections are loaded beforehand with the consumer's own projector, in-process (not timed).

PostgreSQL and Kafka come from DATABASE_URL (a server URL) and KAFKA_BOOTSTRAP_SERVERS when set, else they are
started on free ports for the run and stopped at the end. Scratch databases and topics are removed afterwards.
Nothing here asserts: these are measurements (exit status 1 only if an open did not reach Kafka at all).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from devstack.procs import free_port
from devstack.stack import SERVICES, Stack, StackConfig, repo_root
from scheduler_service.adapters import projections
from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.config import MIGRATIONS_DIR
from scheduler_service.domain import events as events_
from scheduler_service.domain.model import Due, OrderCycle, Subscription
from scheduler_service.service_layer import test_clock
from scheduler_service.service_layer.boundaries import stamp
from servicekit.clock import init_test_clock
from servicekit.db import ensure_database, migrate_dsn, with_database
from shared_events import Envelope, encode, new_envelope
from shared_events import kafka as kafka_clients
from shared_events.examples import ADDRESS, ITEMS, SETTINGS
from shared_events.topics import ensure_topics, physical

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


# -- infrastructure --------------------------------------------------------------------------------------------

@contextmanager
def infrastructure() -> Iterator[tuple[str, str]]:
    """(PostgreSQL server URL, Kafka bootstrap): from the environment, else started for this run."""
    db, kafka = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if db and kafka:
        yield db, kafka
        return
    base = repo_root() / ".local" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="scheduler-burst-", dir=base))
    state.chmod(0o755)
    cfg = StackConfig(state=state, pg_port=free_port(), kafka_port=free_port(), kafka_controller_port=free_port(),
                      stripe_port=free_port(), smtp_port=free_port(), smtp_http_port=free_port(),
                      db_prefix=f"b{uuid.uuid4().hex[:6]}_", topic_prefix="", test_clock=False, pg_fast=False,
                      stripe_persist=False, service_ports={s.name: free_port() for s in SERVICES},
                      external_db=db, external_kafka=kafka, external_stripe="http://127.0.0.1:1")
    stack = Stack(cfg)
    print("starting PostgreSQL and Kafka for this run ...", flush=True)
    stack.up()
    try:
        yield stack.admin_db_url, stack.bootstrap
    finally:
        stack.down()


def new_database(server: str, name: str) -> str:
    ensure_database(server, name)
    return with_database(server, name)


def drop_database(server: str, dsn: str) -> None:
    name = str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


def delete_topics(bootstrap: str, prefix: str) -> None:
    from devstack.testing import delete_topics as delete

    delete(bootstrap, prefix)


# -- the data ----------------------------------------------------------------------------------------------------

def events(n: int) -> tuple[list[Envelope], list[str]]:
    """What subscription-service would have published: a shop, two cycles, a schedule, n subscriptions."""
    shop, schedule = str(uuid.uuid4()), str(uuid.uuid4())
    cycles = [str(uuid.uuid4()) for _ in range(2)]

    def env(kind: str, aggregate: str, payload: dict[str, Any], at: datetime) -> Envelope:
        return new_envelope(kind, aggregate, 1, {**payload, "actor": None, "reason": None},
                            producer="subscription-service", shop_id=shop, occurred_at=at)

    out = [env("ShopCreated", shop, {"shop_id": shop, "settings": SETTINGS}, START - WEEK)]
    for i, cycle in enumerate(cycles):
        out.append(env("OrderCycleCreated", cycle, {"order_cycle_id": cycle, "shop_id": shop, "name": f"Week {i}",
                                                    "opens_at": START + i * WEEK + timedelta(hours=1),
                                                    "closes_at": START + i * WEEK + timedelta(days=3)}, START - WEEK))
    out.append(env("ScheduleCreated", schedule, {"schedule_id": schedule, "shop_id": shop, "name": "Weekly box",
                                                 "order_cycle_ids": cycles}, START - WEEK))
    terms = {"items": ITEMS, "shipping_method_id": str(uuid.uuid4()), "payment_method_id": str(uuid.uuid4()),
             "payment_kind": "stripe", "bill_address": ADDRESS, "ship_address": ADDRESS,
             "begins_at": START - WEEK, "ends_at": None, "shipping_fee_estimate": 500, "payment_fee_estimate": 47}
    for i in range(n):
        sub = str(uuid.uuid4())
        out.append(env("SubscriptionCreated", sub, {"subscription_id": sub, "shop_id": shop,
                                                    "customer_id": str(uuid.uuid4()), "schedule_id": schedule,
                                                    "currency": "EUR", "terms": terms},
                       START - WEEK + timedelta(milliseconds=i)))
    return out, cycles


def load(dsn: str, envelopes: list[Envelope]) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        for i, env in enumerate(envelopes, 1):
            projections.apply(conn, env)
            if i % 10_000 == 0:
                conn.commit()
        conn.commit()
    return time.perf_counter() - started


# -- measuring -------------------------------------------------------------------------------------------------

class Topic:
    def __init__(self, bootstrap: str, name: str) -> None:
        self.bootstrap = bootstrap
        self.admin = kafka_clients.admin(bootstrap)
        self.name = name
        self.partitions = list(kafka_clients.end_offsets(self.admin, [name]))

    def size(self) -> int:
        return sum(kafka_clients.end_offsets(self.admin, self.partitions).values())

    def distinct_order_due_keys(self) -> tuple[int, int]:
        """(records, distinct OrderDue keys) of the whole topic, read back from Kafka."""
        keys, records = set(), 0
        for r in kafka_clients.read_topic(self.name, self.bootstrap):
            records += 1
            if dict(r.headers or []).get("event_type") == b"OrderDue":
                keys.add(r.key)
        return records, len(keys)

    def close(self) -> None:
        pass


def wait_until(predicate: Any, timeout: float, interval: float = 0.01) -> float | None:
    """Seconds (perf_counter) at which predicate() became true, or None after timeout."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(interval)
    return None


def wait_opened(dsn: str, cycle: str, timeout: float) -> float | None:
    """perf_counter when the open's transaction committed: woken by the NOTIFY its boundary row fires, so
    the measurement costs the machine nothing while the ticker works."""
    deadline = time.perf_counter() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN scheduler_wakeup")
        while time.perf_counter() < deadline:
            if conn.execute("SELECT 1 FROM cycle_boundaries WHERE order_cycle_id = %s AND kind = 'open'",
                            [cycle]).fetchone():
                return time.perf_counter()
            for _ in conn.notifies(timeout=1.0, stop_after=1):
                pass
    return None


def boundary_run(dsn: str, cycle: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT b.due_count, r.worker, r.lag_seconds, extract(epoch FROM r.finished_at - r.started_at) "
            "FROM cycle_boundaries b JOIN boundary_runs r USING (order_cycle_id, kind) "
            "WHERE b.order_cycle_id = %s AND b.kind = 'open'", [cycle]).fetchone()
    assert row is not None
    return {"due_count": row[0], "worker": row[1], "lag_seconds": round(row[2], 3),
            "transaction_seconds": round(float(row[3]), 3)}


def measure(path: str, dsn: str, clock_dsn: str, topic: Topic, cycle: str, opens: datetime, n: int,
            timeout: float) -> dict[str, Any]:
    before = topic.size()
    started = time.perf_counter()
    if path == "ticker":
        init_test_clock(clock_dsn, opens)  # the ticker wakes on the NOTIFY
        committed = wait_opened(dsn, cycle, timeout)
    else:
        test_clock.advance(PlatformClock(clock_dsn), dsn, opens, worker="bench-api")
        committed = time.perf_counter()
    in_kafka = wait_until(lambda: topic.size() - before >= n + 1, timeout, 0.05)
    result = {"path": path, "subscriptions": n, **boundary_run(dsn, cycle)}
    result["outbox_seconds"] = round(committed - started, 3) if committed else None
    result["kafka_seconds"] = round(in_kafka - started, 3) if in_kafka else None
    result["kafka_events_per_second"] = round((n + 1) / (in_kafka - started)) if in_kafka else None
    return result


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def encode_cost(sample: int = 5_000) -> float:
    """Microseconds to validate and encode one OrderDue (shared_events.encode), for reading the numbers."""
    cycle = OrderCycle("c", "s", START, START + WEEK)
    dues = stamp([events_.order_due(Due(Subscription(str(i), "s", "c", "sch", START, None, False, False), cycle,
                                        START, "cycle_opened", False), START) for i in range(sample)], START)
    started = time.perf_counter()
    for env in dues:
        encode(env)
    return (time.perf_counter() - started) / sample * 1e6


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/scheduler_burst.py", description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each open")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and topics")
    args = parser.parse_args()
    n = args.subscriptions
    results: list[dict[str, Any]] = []
    with infrastructure() as (server, bootstrap):
        tag = uuid.uuid4().hex[:8]
        dsn, clock_dsn = new_database(server, f"bench_scheduler_{tag}"), new_database(server, f"bench_clock_{tag}")
        prefix = f"bench{tag}."
        logs = Path(tempfile.mkdtemp(prefix="scheduler-burst-logs-"))
        procs: list[subprocess.Popen] = []
        try:
            migrate_dsn(dsn, MIGRATIONS_DIR)
            init_test_clock(clock_dsn, START)
            ensure_topics(bootstrap, prefix)
            os.environ["TOPIC_PREFIX"] = prefix
            envelopes, cycles = events(n)
            print(f"loading {len(envelopes):,} events into the projections ...", flush=True)
            load_seconds = load(dsn, envelopes)
            print(f"  {load_seconds:.1f} s ({len(envelopes) / load_seconds:,.0f} events/s with the projector)")
            port = free_port()
            env = dict(os.environ, DATABASE_URL=dsn, TEST_CLOCK_URL=clock_dsn, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                       TOPIC_PREFIX=prefix, APP_ENV="test", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
                       WORKER_ID="bench-ticker")
            procs.append(start("scheduler_service.entrypoints.relay", env, logs / "relay.log"))
            ticker = start("scheduler_service.entrypoints.ticker", {**env, "WORKER_HTTP_PORT": str(port)},
                           logs / "ticker.log")
            procs.append(ticker)
            wait_until(lambda: ready(port), 60, 0.1)  # the ticker has looked once and is waiting
            time.sleep(1)  # and the relay has connected
            topic = Topic(bootstrap, physical("scheduler.events", prefix))
            try:
                print(f"open of cycle 1 ({n:,} subscriptions), emitted by the ticker ...", flush=True)
                results.append(measure("ticker", dsn, clock_dsn, topic, cycles[0], START + timedelta(hours=1), n,
                                       args.timeout))
                stop(ticker)  # the API path alone for the second cycle
                test_clock.advance(PlatformClock(clock_dsn), dsn, START + WEEK, worker="bench-api")  # closes cycle 1
                wait_until(lambda: topic.size() >= n + 2, args.timeout)
                print(f"open of cycle 2 ({n:,} subscriptions), emitted by a test-clock advance ...", flush=True)
                results.append(measure("api", dsn, clock_dsn, topic, cycles[1], START + WEEK + timedelta(hours=1), n,
                                       args.timeout))
                records, distinct = topic.distinct_order_due_keys()
            finally:
                topic.close()
        finally:
            for proc in procs:
                stop(proc)
            if not args.keep:
                delete_topics(bootstrap, prefix)
                drop_database(server, dsn)
                drop_database(server, clock_dsn)
    print()
    print(f"{'path':8} {'subs':>8} {'due':>8} {'txn s':>7} {'outbox s':>9} {'kafka s':>8} {'events/s':>9}  lag s")
    for r in results:
        print(f"{r['path']:8} {r['subscriptions']:>8,} {r['due_count']:>8,} {r['transaction_seconds']:>7} "
              f"{r['outbox_seconds']!s:>9} {r['kafka_seconds']!s:>8} {r['kafka_events_per_second']!s:>9}  "
              f"{r['lag_seconds']}")
    print(f"strict validation + encoding of one OrderDue (shared_events.encode): {encode_cost():.0f} us; "
          f"CPUs: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(f"read back from Kafka: {records:,} records, {distinct:,} distinct OrderDue keys "
          f"(expected {2 * n + 3:,} and {2 * n:,})")
    out = repo_root() / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scheduler_burst.json").write_text(json.dumps({"results": results, "kafka_records": records,
                                                          "distinct_order_due": distinct}, indent=2))
    return 0 if all(r["kafka_seconds"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
