"""Rough numbers for subscription-service (in-process API, real PostgreSQL and Kafka), printed, never asserted.

    KAFKA_BOOTSTRAP_SERVERS=... DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \
      .venv/bin/python services/subscription-service/bench/api_bench.py [subscriptions]

Creates its own database and topic prefix: subscription creates, list pages, occurrence lists, the relay's
publication of the outbox and a full rebuild (events/s).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from servicekit.clock import init_test_clock
from servicekit.db import ensure_database, migrate_dsn, with_database
from shared_events.relay import Relay
from shared_events.topics import ensure_topics

HERE = Path(__file__).resolve().parent
ADDRESS = {"first_name": "A", "last_name": "B", "address1": "1 rue", "city": "Lyon", "zipcode": "69003",
           "country": "FR"}


def timed(samples: list[float], fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    resp = fn(*args, **kwargs)
    samples.append((time.perf_counter() - started) * 1000)
    assert resp.status_code < 300, resp.get_data(as_text=True)
    return resp.get_json()


def show(name: str, samples: list[float]) -> None:
    q = statistics.quantiles(samples, n=20)
    print(f"{name:<34} n={len(samples):<5} p50={statistics.median(samples):6.1f} ms  p95={q[18]:6.1f} ms")


def main(n: int) -> None:
    server, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    name = f"bench_sub_{uuid.uuid4().hex[:8]}"
    ensure_database(server, name)
    dsn = with_database(server, name)
    migrate_dsn(dsn, HERE.parent / "migrations")
    init_test_clock(dsn, datetime(2026, 3, 16, 10, tzinfo=UTC))
    prefix = f"subbench{uuid.uuid4().hex[:6]}."
    admin_token = "rop_bench_" + uuid.uuid4().hex
    os.environ.update(DATABASE_URL=dsn, TOPIC_PREFIX=prefix, ADMIN_TOKEN=admin_token, TEST_CLOCK_URL=dsn,
                      LOG_LEVEL="WARNING", RATE_LIMIT_PER_MINUTE="10000000", TOPIC_PARTITIONS="3")
    ensure_topics(bootstrap, prefix)
    from subscription_service.adapters.projections import apply
    from subscription_service.entrypoints import rebuild
    from subscription_service.entrypoints.flask_app import create_app

    app = create_app()
    http = app.test_client()
    admin = {"Authorization": f"Bearer {admin_token}"}
    shop = http.post("/api/v1/shops", json={"name": "Bench", "timezone": "Europe/Paris", "currency": "EUR",
                                             "contact_email": "b@bench.example"}, headers=admin).get_json()
    sid = shop["id"]
    base = f"/api/v1/shops/{sid}"
    ship = http.post(f"{base}/shipping-methods", json={"name": "D", "fee_flat": 500, "fee_percent_bp": 0},
                     headers=admin).get_json()
    cash = http.post(f"{base}/payment-methods", json={"name": "C", "fee_flat": 0, "fee_percent_bp": 0,
                                                       "kind": "cash"}, headers=admin).get_json()
    cycles = http.post(f"{base}/order-cycles/generate", json={
        "opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday", "closes_time": "17:00",
        "start_date": "2026-03-16", "count": 52}, headers=admin).get_json()["order_cycles"]
    schedule = http.post(f"{base}/schedules", json={"name": "Weekly", "order_cycle_ids": [c["id"] for c in cycles]},
                         headers=admin).get_json()
    import psycopg

    from shared_events.platform import CatalogPublisher

    publisher = CatalogPublisher(bootstrap)  # the platform publishes the catalog; we apply it as the consumer would
    with psycopg.connect(dsn) as conn:
        for v in range(20):
            apply(conn, publisher.variant(sid, f"v{v}", f"P{v}", unit_price=100 + v, currency="EUR"))
        conn.commit()
    publisher.close()
    creates: list[float] = []
    customer_creates: list[float] = []
    subs = []
    for i in range(n):
        cust = timed(customer_creates, http.post, f"{base}/customers", json={
            "email": f"c{i}@bench.example", "first_name": f"First{i}", "last_name": f"Last{i}"}, headers=admin)
        subs.append(timed(creates, http.post, f"{base}/subscriptions", headers=admin, json={
            "customer_id": cust["id"], "schedule_id": schedule["id"], "shipping_method_id": ship["id"],
            "payment_method_id": cash["id"], "bill_address": ADDRESS, "ship_address": ADDRESS,
            "begins_at": "2026-03-16T00:00:00Z", "items": [{"variant_id": f"v{i % 20}", "quantity": 1 + i % 3},
                                                           {"variant_id": f"v{(i + 7) % 20}", "quantity": 2}]}))
    show("POST customer", customer_creates)
    show("POST subscription", creates)
    lists: list[float] = []
    searches: list[float] = []
    occurrences: list[float] = []
    for i in range(100):
        timed(lists, http.get, f"{base}/subscriptions?limit=50&sort=-customer_email", headers=admin)
        timed(searches, http.get, f"{base}/subscriptions?q=last{i}&state=active", headers=admin)
        timed(occurrences, http.get, f"{base}/subscriptions/{subs[i % n]['id']}/occurrences", headers=admin)
    show("GET subscriptions (50, sorted)", lists)
    show("GET subscriptions?q=&state=", searches)
    show("GET occurrences (52 cycles)", occurrences)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for i in range(20):
                http.get(f"{base}/subscriptions?q=last{i}&state=active", headers=admin)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(8)

    relay = Relay(dsn, "subscription-service", bootstrap=bootstrap)
    thread = threading.Thread(target=relay.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    with psycopg.connect(dsn) as conn:
        total = conn.execute("SELECT count(*) FROM event_store").fetchone()[0]  # type: ignore[index]
        while conn.execute("SELECT count(*) FROM event_store WHERE published_at IS NULL").fetchone()[0]:  # type: ignore
            time.sleep(0.05)
    print(f"relay published {total} events in {time.perf_counter() - started:.2f}s")
    relay.stop()
    thread.join(30)
    report = rebuild.run(dsn, bootstrap)
    print(f"rebuild: {report.events} events in {report.seconds:.2f}s ({report.events_per_second:.0f} events/s), "
          f"identical={report.identical} (differences: {report.differences})")
    app.extensions["pool"].close()
    cleanup(server, name, bootstrap, prefix)


def cleanup(server: str, name: str, bootstrap: str, prefix: str) -> None:
    """Drop the bench's own database and topics (nothing else)."""
    import psycopg
    from psycopg import sql

    from devstack.testing import delete_topics

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    delete_topics(bootstrap, prefix)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
