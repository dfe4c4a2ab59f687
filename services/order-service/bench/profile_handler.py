"""In-process profile of the consumer handler for one cycle opening and its close (no Kafka):
python services/order-service/bench/profile_handler.py [N]

Seeds a shop, its methods, variants and N subscriptions straight into the projections, then feeds
N OrderDue + OrderCycleOpened (+ OrderCycleClosed) to the handler the way the consumer runner does
(decode, one savepoint per event, one transaction per 500 events) and prints where the time goes.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from order_service.config import MIGRATIONS_DIR, ReactionSettings
from order_service.entrypoints.consumer import handler
from order_service.service_layer.cycles import on_order_dues
from servicekit.db import ensure_database, migrate_dsn, with_database
from shared_events import Envelope, decode, encode

ADDRESS = {"first_name": "A", "last_name": "B", "address1": "1 rue", "address2": None, "city": "Lyon",
           "zipcode": "69003", "state": None, "country": "FR", "phone": None}


def seed(dsn: str, n: int) -> tuple[str, str, list[str]]:
    shop, cycle = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO shops (shop_id, name, contact_email, version) VALUES (%s, 'Bench', 'c@x.example', 1)",
                     [shop])
        conn.execute("INSERT INTO shop_methods VALUES (%s, 'shipping', 'ship', 'Ship', NULL, 500, 0, true, false, NULL,"
                     " false, 1), (%s, 'payment', 'card', 'Card', NULL, 0, 150, true, NULL, 'stripe', false, 1)",
                     [shop, shop])
        for v in range(20):
            conn.execute("INSERT INTO catalog_variants VALUES (%s, %s, %s, NULL, %s, 'EUR', %s, true, false, 1)",
                         [shop, f"v{v}", f"Product {v}", 100 + v, None if v % 2 else n])
        conn.execute(
            """
            INSERT INTO subscriptions
            SELECT 's' || i, %s, 'c' || i, 'sched', 'EUR',
                   jsonb_build_array(jsonb_build_object('variant_id', 'v' || (i %% 20), 'quantity', 1 + i %% 3),
                                     jsonb_build_object('variant_id', 'v' || ((i + 7) %% 20), 'quantity', 2)),
                   'ship', 'card', 'stripe', %s, %s, NULL, NULL, 'active', %s - make_interval(secs => i), 1
            FROM generate_series(1, %s) i
            """, [shop, Jsonb(ADDRESS), Jsonb(ADDRESS), now, n])
        conn.execute("INSERT INTO customers SELECT 'c' || i, %s, 'c' || i || '@x.example', 'C', 'D', 'en', false, 1 "
                     "FROM generate_series(1, %s) i", [shop, n])
        conn.commit()
    return shop, cycle, [f"s{i}" for i in range(1, n + 1)]


def boundary(event_type: str, shop: str, cycle: str, opens: datetime, closes: datetime, **extra) -> bytes:
    at = opens if event_type == "OrderCycleOpened" else closes
    return encode(Envelope(event_type, cycle, 1 if event_type == "OrderCycleOpened" else 2, {
        "order_cycle_id": cycle, "shop_id": shop, "opens_at": opens, "closes_at": closes, "boundary_at": at,
        "lateness_seconds": 0.0, **extra}, "bench", shop_id=shop))


def feed(dsn: str, raws: list[bytes], handle, bulk=None) -> float:  # type: ignore[no-untyped-def]
    """Like the consumer: polls of 500; with ``bulk``, a poll of OrderDue is one savepoint (the consumer's `bulk`)."""
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        for i in range(0, len(raws), 500):
            envs = [decode(raw) for raw in raws[i:i + 500]]
            if bulk and all(env.event_type == "OrderDue" for env in envs):
                with conn.transaction():
                    bulk(conn, envs)
            else:
                for env in envs:
                    with conn.transaction():
                        handle(conn, env)
            conn.commit()
    return time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
    name = f"bench_orders_{uuid.uuid4().hex[:8]}"
    ensure_database(admin, name)
    dsn = with_database(admin, name)
    migrate_dsn(dsn, MIGRATIONS_DIR)
    shop, cycle, subs = seed(dsn, n)
    opens, closes = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=1)
    dues = [encode(Envelope("OrderDue", f"{s}:{cycle}", 1, {
        "subscription_id": s, "order_cycle_id": cycle, "shop_id": shop, "customer_id": "c" + s[1:],
        "schedule_id": "sched", "opens_at": opens, "closes_at": closes, "due_at": opens, "reason": "cycle_opened",
        "lateness_seconds": 0.0, "late": False}, "bench", shop_id=shop)) for s in subs]
    handle = handler(None, ReactionSettings())
    bulk = None if os.environ.get("PER_EVENT") else (lambda conn, envs: on_order_dues(conn, envs, ReactionSettings()))
    opened = boundary("OrderCycleOpened", shop, cycle, opens, closes, due_count=n)
    t_dues = feed(dsn, dues[:-1], handle, bulk)
    t_open = feed(dsn, [opened], handle)
    t_last = feed(dsn, dues[-1:], handle, bulk)
    with psycopg.connect(dsn) as conn:
        placed = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    t_close = feed(dsn, [boundary("OrderCycleClosed", shop, cycle, opens, closes)], handle)
    with psycopg.connect(dsn) as conn:
        confirmed = conn.execute("SELECT count(*) FROM orders WHERE status = 'confirmed'").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM event_store").fetchone()[0]
    print(f"n={n} dues recorded in {t_dues:.1f}s ({n / t_dues:.0f}/s), open {t_open:.2f}s, "
          f"last due + batch placement {t_last:.1f}s -> {placed} orders; close {t_close:.1f}s -> {confirmed} "
          f"confirmed; {events} events stored (database {name})")


if __name__ == "__main__":
    main()
