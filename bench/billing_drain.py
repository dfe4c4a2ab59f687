"""How billing-service drains a burst of payment requests against localstripe: python -m bench.billing_drain

A burst of --count PaymentRequested events (default 2,000, over --customers Stripe customers with a 4242 card)
is published and opened by the consumer; then the charger starts with STRIPE_RATE_LIMIT=--rate (default 25/s,
Stripe's test-mode limit) and drains the backlog. Printed: the achieved request rate against the configured
one (first to last request sent, from the send marks the charger commits right before each request), the most
requests sent in any sliding one-second window, the charges localstripe created per wall-clock second (it is
single-threaded: its own stalls bunch requests up on its side), the requests Stripe answered 429 (from the
charger's /metrics), and the charges localstripe holds for the burst's orders (exactly one each, or it says so).

PostgreSQL, Kafka and localstripe come from DATABASE_URL (a server URL), KAFKA_BOOTSTRAP_SERVERS and
STRIPE_API_BASE when set, else they are started on free ports for the run and stopped at the end.
Nothing here asserts: these are measurements (the exit status is 1 only if the drain did not finish).

localstripe lists objects by scanning its whole store, and exporting a PaymentIntent lists its charge's refunds
several times, so each request costs more as the store grows (about 2 ms at 1,000 objects, 19 ms at 6,000; a
charge adds four): late in a large burst localstripe itself falls below 25/s on a busy machine.
``--fast-localstripe`` runs the same localstripe with a per-type index for those scans (nothing else changed),
to tell the charger's pacing apart from localstripe's own throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import stripe

from billing_service.config import MIGRATIONS_DIR
from devstack.infra import ensure_kafka_libs
from devstack.procs import free_port, port_open
from devstack.stack import SERVICES, Stack, StackConfig, repo_root
from devstack.testing import delete_topics
from servicekit.db import ensure_database, migrate_dsn, with_database
from shared_events import Envelope, encode
from shared_events import kafka as kafka_clients
from shared_events.examples import EXAMPLES, SETTINGS
from shared_events.topics import ensure_topics, physical

STRIPE_KEY = "sk_test_bench_billing_drain"
CLOSE = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)


def infrastructure() -> Stack:
    state = Path(tempfile.mkdtemp(prefix="drain-", dir=_bench_dir()))
    state.chmod(0o755)
    cfg = StackConfig(state=state, pg_port=free_port(), kafka_port=free_port(), kafka_controller_port=free_port(),
                      stripe_port=free_port(), smtp_port=free_port(), smtp_http_port=free_port(),
                      db_prefix=f"d{uuid.uuid4().hex[:6]}_", topic_prefix=f"d{uuid.uuid4().hex[:6]}.",
                      test_clock=False, pg_fast=True, stripe_persist=False,
                      service_ports={s.name: free_port() for s in SERVICES})
    return Stack(cfg)


def start_infrastructure(stack: Stack, fast_localstripe: bool) -> None:
    """Only what the drain needs, and only what the environment does not already provide."""
    if not stack.cfg.external_db:
        stack.pg.start()
    if not stack.cfg.external_kafka:
        stack.kafka.libs = ensure_kafka_libs(stack.root)
        stack.kafka.start()
    if not stack.cfg.external_stripe:
        if fast_localstripe:
            stack.procs.spawn(stack.stripe.name, [sys.executable, "-m", "bench.billing_drain", "--serve-localstripe",
                                                  str(stack.cfg.stripe_port)])
            wait(lambda: port_open(stack.cfg.stripe_port), 30, "localstripe to listen")
        else:
            stack.stripe.start(persist=False)


def serve_indexed_localstripe(port: int) -> None:
    """localstripe on loopback, nothing persisted, with each type's objects indexed: its list scans (which
    every PaymentIntent export runs) read one type's objects instead of the whole store. Same results, same
    order (insertion order per type, as the scan gave)."""
    from aiohttp import web
    from localstripe import resources as r
    from localstripe.errors import UserError
    from localstripe.server import app

    index: dict[str, dict[str, Any]] = {}

    def setitem(self: Any, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        index.setdefault(key.split(":", 1)[0], {})[key] = value

    def delitem(self: Any, key: str) -> None:
        dict.__delitem__(self, key)
        index.get(key.split(":", 1)[0], {}).pop(key, None)

    def clear(self: Any) -> None:
        dict.clear(self)
        index.clear()

    def list_all(cls: Any, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = r.List(url, limit=limit, starting_after=starting_after)
        li._list = list(index.get(cls.object, {}).values())
        return li

    r.Store.__setitem__ = setitem  # type: ignore[method-assign,assignment]
    r.Store.__delitem__ = delitem  # type: ignore[method-assign,assignment]
    r.Store.clear = clear  # type: ignore[method-assign,assignment]
    r.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    r.StripeObject._api_list_all = classmethod(list_all)  # type: ignore[method-assign,assignment]
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def _bench_dir() -> Path:
    base = repo_root() / ".local" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    return base


def stripe_customers(base: str, n: int) -> list[tuple[str, str]]:
    v1 = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": base}, max_network_retries=0).v1
    out = []
    for i in range(n):
        cus = v1.customers.create({"email": f"drain-{i}@example.org"})
        pm = v1.payment_methods.create({"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                                 "exp_year": 2034, "cvc": "123"}})
        v1.payment_methods.attach(pm.id, {"customer": cus.id})
        out.append((cus.id, pm.id))
    return out


def world(shop_id: str, cards: list[tuple[str, str]], count: int) -> tuple[list[Envelope], list[str]]:
    """The shop, its customers (card + permission) and ``count`` confirmed orders' payment requests."""
    envs = [Envelope("ShopCreated", shop_id, 1, {"shop_id": shop_id, "settings": SETTINGS,
                                                  "actor": {"type": "admin", "id": "bench"}, "reason": None},
                     "subscription-service", shop_id=shop_id)]
    customers = []
    for cus, pm in cards:
        cid = str(uuid.uuid4())
        who = {"customer_id": cid, "shop_id": shop_id}
        customers.append(cid)
        for v, (t, p) in enumerate([
            ("CustomerCreated", {**EXAMPLES["CustomerCreated"], **who}),
            ("CustomerCardSet", {**EXAMPLES["CustomerCardSet"], **who, "stripe_customer_id": cus,
                                 "payment_method_id": pm}),
            ("CustomerChargesAllowed", {**EXAMPLES["CustomerChargesAllowed"], **who, "payment_method_id": pm}),
        ], 1):
            envs.append(Envelope(t, cid, v, p, "subscription-service", shop_id=shop_id))
    orders = []
    for i in range(count):
        oid = str(uuid.uuid4())
        orders.append(oid)
        payload = {**EXAMPLES["PaymentRequested"], "order_id": oid, "shop_id": shop_id,
                   "customer_id": customers[i % len(customers)], "subscription_id": str(uuid.uuid4()),
                   "order_cycle_id": "bench-cycle", "number": f"B-{i:06d}", "amount": 1000 + i % 500,
                   "actor": {"type": "system", "id": "order-service"}}
        envs.append(Envelope("PaymentRequested", oid, 3, payload, "order-service", shop_id=shop_id,
                             occurred_at=CLOSE))
    return envs, orders


def rate_of(stamps: list[datetime]) -> float:
    span = (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else 0
    return (len(stamps) - 1) / span if span else float("nan")


def busiest_window(stamps: list[datetime], width: float = 1.0) -> int:
    """The most requests sent within any ``width``-second window (sliding, client side)."""
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while (t - stamps[lo]).total_seconds() >= width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def scalar(dsn: str, query: str, params: Any = ()) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def metrics(port: int) -> dict[str, float]:
    """billing_stripe_requests_total by result, from the charger's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("billing_stripe_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            result = labels.split('result="', 1)[1].split('"', 1)[0]
            out[result] = out.get(result, 0.0) + float(value)
    return out


def charges_per_order(base: str, cards: list[tuple[str, str]], orders: set[str]) -> tuple[Counter[str], Counter[int]]:
    """Successful charges localstripe holds, by order (read from each charge's PaymentIntent metadata), and by
    the second localstripe created them in (what Stripe's own rate limiter counts)."""
    v1 = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": base}, max_network_retries=0).v1
    per_order: Counter[str] = Counter()
    per_second: Counter[int] = Counter()
    for cus, _ in cards:
        for ch in v1.charges.list({"customer": cus, "limit": 100}).auto_paging_iter():
            if ch.status == "succeeded" and ch.payment_intent:
                order = v1.payment_intents.retrieve(str(ch.payment_intent)).metadata.to_dict().get("order_id")
                if order in orders:
                    per_order[order] += 1
                    per_second[int(ch.created)] += 1
    return per_order, per_second


def run(count: int = 2000, rate: float = 25.0, customers: int = 200, concurrency: int = 8,
        fast_localstripe: bool = False) -> dict[str, Any]:
    stack = infrastructure()
    start_infrastructure(stack, fast_localstripe)
    procs: list[subprocess.Popen] = []
    prefix = f"drain{uuid.uuid4().hex[:6]}."
    dbname = f"drain_{uuid.uuid4().hex[:10]}"
    try:
        ensure_topics(stack.bootstrap, prefix)
        ensure_database(stack.admin_db_url, dbname)
        dsn = with_database(stack.admin_db_url, dbname)
        migrate_dsn(dsn, MIGRATIONS_DIR)
        metrics_port = free_port()
        env = {**os.environ, "DATABASE_URL": dsn, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap, "TOPIC_PREFIX": prefix,
               "APP_ENV": "test", "LOG_LEVEL": "WARNING", "STRIPE_API_BASE": stack.stripe_url,
               "STRIPE_API_KEY": STRIPE_KEY, "PYTHONUNBUFFERED": "1"}
        env.pop("TEST_CLOCK_URL", None)  # the system clock: retries play no part here
        logs = stack.cfg.state

        print(f"creating {customers} Stripe customers with a card in localstripe...", flush=True)
        cards = stripe_customers(stack.stripe_url, customers)
        envs, orders = world(str(uuid.uuid4()), cards, count)
        kafka_clients.deliver(kafka_clients.producer(stack.bootstrap), [
            (physical(e.topic_family, prefix), e.aggregate_id.encode(), encode(e), None) for e in envs])

        def start(worker: str, **extra: str) -> None:
            log = (logs / f"drain-{worker}.log").open("ab")
            procs.append(subprocess.Popen([sys.executable, "-m", f"billing_service.entrypoints.{worker}"],
                                          env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT))

        print(f"opening {count} payments (consumer)...", flush=True)
        start("consumer")
        start("relay")
        wait(lambda: scalar(dsn, "SELECT count(*) FROM payment_attempts") == count, 300, "every payment opened")

        print(f"draining at {rate:g}/s with {concurrency} workers (charger)...", flush=True)
        started = time.monotonic()
        start("charger", STRIPE_RATE_LIMIT=str(rate), CHARGER_CONCURRENCY=str(concurrency),
              WORKER_HTTP_PORT=str(metrics_port))
        wait(lambda: scalar(dsn, "SELECT count(*) FROM payments WHERE status <> 'processing'") == count,
             count / rate * 3 + 120, "the backlog to drain")
        wall = time.monotonic() - started

        with psycopg.connect(dsn) as conn:
            sent = [r[0] for r in conn.execute(  # committed right before each request left, once its slot came
                "SELECT last_call_at FROM charge_calls WHERE last_call_at IS NOT NULL ORDER BY last_call_at")]
            by_status: dict[str, int] = dict(
                conn.execute("SELECT status, count(*) FROM payments GROUP BY status").fetchall())
            calls = conn.execute("SELECT sum(calls), max(calls) FROM charge_calls").fetchone() or (0, 0)
        span = (sent[-1] - sent[0]).total_seconds()
        achieved = rate_of(sent)
        stripe_results = metrics(metrics_port)
        per_order, at_stripe = charges_per_order(stack.stripe_url, cards, set(orders))
        full_seconds = sorted(at_stripe)[1:-1] or sorted(at_stripe)  # the first and last seconds are partial
        return {
            "count": count, "customers": customers, "concurrency": concurrency,
            "localstripe": "indexed (--fast-localstripe)" if fast_localstripe and not stack.cfg.external_stripe
            else "as released", "load_average_at_end": os.getloadavg()[0],
            "configured_rate_per_s": rate, "achieved_rate_per_s": round(achieved, 2),
            "deviation_pct": round((achieved - rate) / rate * 100, 2),
            "drain_seconds": round(span, 2), "wall_seconds_from_charger_start": round(wall, 2),
            "achieved_rate_first_half_per_s": round(rate_of(sent[: len(sent) // 2]), 2),
            "achieved_rate_second_half_per_s": round(rate_of(sent[len(sent) // 2:]), 2),
            "sent_in_busiest_1s_window": busiest_window(sent),
            "charges_per_second_at_stripe_max": max(at_stripe[t] for t in full_seconds),
            "charges_per_second_at_stripe_mean": round(sum(at_stripe[t] for t in full_seconds) / len(full_seconds), 2),
            "payments_by_status": by_status,
            "stripe_requests": stripe_results, "stripe_429": int(stripe_results.get("rate_limit", 0)),
            "stripe_calls_sent": int(calls[0] or 0), "max_calls_per_attempt": int(calls[1] or 0),
            "orders_with_one_charge": sum(1 for n in per_order.values() if n == 1),
            "orders_charged_more_than_once": sum(1 for n in per_order.values() if n > 1),
            "orders_without_charge": count - len(per_order),
            "charges_in_localstripe": sum(per_order.values()),
        }
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            delete_topics(stack.bootstrap, prefix)
        except Exception:  # cleanup only
            pass
        try:
            with psycopg.connect(stack.admin_db_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        except psycopg.Error:
            pass
        stack.down()
        if os.environ.get("DEVSTACK_KEEP") != "1":
            shutil.rmtree(stack.cfg.state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fast-localstripe", action="store_true",
                        help="index localstripe's list scans (see above) when starting our own localstripe")
    parser.add_argument("--serve-localstripe", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON only")
    args = parser.parse_args()
    if args.serve_localstripe:
        serve_indexed_localstripe(args.serve_localstripe)
        return
    result = run(args.count, args.rate, args.customers, args.concurrency, args.fast_localstripe)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    raise SystemExit(0 if result["payments_by_status"].get("succeeded") == args.count else 1)


if __name__ == "__main__":
    main()
