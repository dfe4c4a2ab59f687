"""The pipeline benchmarks of `make bench`: the cycle-open burst and the close, memory, billing, REST, rebuild.

Everything runs on the bench's own stack (bench/__main__.py: PostgreSQL, Kafka, localstripe and the SMTP sink on
free ports) with the four services started as processes exactly as `make run` starts them (gunicorn APIs,
consumers, relays, the scheduler's ticker, the order notifier), except billing-service's charger during the
burst and the close ("Stripe excluded": the billing section measures charging on its own).

Seeding. A shop, its shipping and payment methods, the order cycle, the schedule, the catalog variants, one
customer and one subscription are created through the public APIs (devstack.scenario, as the demo does). The other
subscriptions (and their customers) are too many for a benchmark's setup through REST: they are published straight
to Kafka as subscription-service would have published them (clones of the API-made customer's CustomerCreated and
subscription's SubscriptionCreated, new ids, each built with shared_events.new_envelope and encoded by the strict
shared_events.encode), so that scheduler-service, order-service and billing-service consume them as from a replay.
subscription-service's own tables therefore hold only the API-made one (its rebuild reports the difference).

Nothing here asserts: numbers are printed, written to bench/results/ and compared with the limits measured in the
same run (section "limits").
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

from bench.report import RESULTS, Report, plot_series
from devstack.scenario import CARD_OK, Platform, Shop
from devstack.stack import SERVICES, Stack

ADMIN_TIMEOUT = 900  # a test-clock advance returns once the open's 100,000 OrderDue are in the outbox


# -- the platform as the bench runs it ---------------------------------------------------------------------------

@dataclass
class Bench:
    """State shared by the sections of one run (the world the burst made, the processes started)."""

    started: bool = False
    burst: dict[str, Any] = field(default_factory=dict)


STATE = Bench()


def service(name: str) -> Any:
    return next(s for s in SERVICES if s.name == name)


def start_platform(stack: Stack) -> Platform:
    if not STATE.started:
        stack.migrate()
        for svc in SERVICES:
            if not svc.installed():
                continue
            # billing's charger stays off outside the billing section: nothing here talks to Stripe
            only = [w for w in ["api", *svc.workers()] if w != "charger"]
            stack.start_service(svc, only=only)
        stack.wait_services(timeout=120)
        STATE.started = True
    return Platform.from_stack(stack)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def scalar(dsn: str, query: str, params: Any = ()) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> float:
    """Seconds waited until predicate() was truthy; raises TimeoutError."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Offsets:
    """End offsets of topics (cheap: one ListOffsets request)."""

    def __init__(self, bootstrap: str) -> None:
        from shared_events import kafka as kafka_clients

        self.admin = kafka_clients.admin(bootstrap)
        self._parts: dict[str, list[Any]] = {}

    def size(self, topic: str) -> int:
        from shared_events import kafka as kafka_clients

        if topic not in self._parts:
            self._parts[topic] = list(kafka_clients.end_offsets(self.admin, [topic]))
        return sum(kafka_clients.end_offsets(self.admin, self._parts[topic]).values())

    def close(self) -> None:
        pass


def _lag_without(stack: Stack, skip: str) -> int:
    return total_lag(stack.bootstrap, skip)


def total_lag(bootstrap: str, skip: str = "\0") -> int:
    """Records not yet committed by any consumer group of this (the bench's own) broker whose name does not hold
    ``skip``: ``platformctl lag``'s reading, summed."""
    from platformctl.lag import consumer_lag

    return sum(n for group, topics in consumer_lag(bootstrap).items() if skip not in group
               for partitions in topics.values() for n in partitions.values())


# -- memory ------------------------------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def service_processes(stack: Stack) -> dict[str, int]:
    """name -> pid of every service process (gunicorn workers as <service>.api[worker pid])."""
    out: dict[str, int] = {}
    for name in stack.procs.names():
        if name.split(".")[0] not in {s.name for s in SERVICES}:
            continue
        pid = stack.procs.pid(name)
        if pid is None:
            continue
        out[name] = pid
        if name.endswith(".api"):
            for i, child in enumerate(sorted(_children(pid))):
                out[f"{name} worker {i + 1}"] = child
    return out


def peak_rss_mb(stack: Stack) -> dict[str, float]:
    """Peak resident memory (VmHWM: the kernel's high-water mark since each process started), MB."""
    return {name: round(_status(pid).get("VmHWM", 0) / 1024, 1) for name, pid in service_processes(stack).items()}


def wait_variants(stack: Stack, shop_id: str, n: int) -> None:
    """The catalog topic is consumed asynchronously: a subscription to a variant not projected yet is a 422."""
    dsn = stack.db_url("subscriptions")
    wait(lambda: scalar(dsn, "SELECT count(*) FROM variants WHERE shop_id = %s", [shop_id]) >= n, 120,
         "subscription-service to know the shop's variants", 0.2)


# -- seeding -----------------------------------------------------------------------------------------------------

def seed_world(stack: Stack, platform: Platform, n: int, substituted: float = 0.0) -> dict[str, Any]:
    """The burst's shop through the APIs, then n-1 clones of its subscription published to Kafka.

    ``substituted``: the share of the order lines to be placed as substitutes. Clones spread evenly over the run
    ask, for their second line, for a product out of stock (``bench-v3``) with the second product as its
    substitute, so that share of the lines goes through placement's substitute rule."""
    from shared_events import decode, encode, new_envelope
    from shared_events import kafka as kafka_clients
    from shared_events.topics import physical

    now = platform.now()
    opens, closes = now + timedelta(hours=2), now + timedelta(days=2)
    shop = platform.create_shop(name="Bench hub", allocation_policy="first_come")
    ship = shop.shipping_method(fee_flat=450)
    pay = shop.payment_method("stripe", fee_percent_bp=150)
    cycle = shop.order_cycle("Bench week", opens, closes)
    schedule = shop.schedule("Weekly box", [cycle["id"]])
    for i, price in enumerate((1250, 480, 320)):
        shop.variant(f"bench-v{i}", f"Product {i}", unit_price=price, on_hand=None)
    shop.variant("bench-v3", "Product 3 (out of stock)", unit_price=510, on_hand=0)
    wait_variants(stack, shop.id, 4)
    # two lines per subscription: one substituted line in every `every`-th clone makes `substituted` of the lines
    every = round(1 / (2 * substituted)) if substituted > 0 else 0
    customer = shop.customer("Camille", "Durand", card=CARD_OK)
    sub = shop.subscribe(customer, schedule["id"], ship["id"], pay["id"], {"bench-v0": 1, "bench-v1": 2},
                         begins_at=now - timedelta(days=1))
    subs_dsn = stack.db_url("subscriptions")
    wait(lambda: scalar(subs_dsn, "SELECT count(*) FROM event_store WHERE aggregate_id = %s AND published_at IS NOT "
                                  "NULL", [sub["id"]]), 60, "the template subscription published")
    with psycopg.connect(subs_dsn) as conn:
        # the customer's events in version order (created, Stripe Customer, card set, charges allowed), then the
        # subscription's
        cus_events = [decode(bytes(row[0])) for row in conn.execute(
            "SELECT body FROM event_store WHERE aggregate_id = %s AND topic = 'customers.events' "
            "ORDER BY aggregate_version", [customer.id]).fetchall()]
        row = conn.execute("SELECT body FROM event_store WHERE aggregate_id = %s AND event_type = "
                           "'SubscriptionCreated'", [sub["id"]]).fetchone()
        assert row is not None, "the API-made subscription is in subscription-service's event store"
        sub_t = decode(bytes(row[0]))
    started = time.perf_counter()
    producer = kafka_clients.producer(stack.bootstrap, **{"client.id": "bench-seed"})
    customers_topic = physical("customers.events", stack.cfg.topic_prefix)
    subs_topic = physical("subscriptions.events", stack.cfg.topic_prefix)
    for i in range(n - 1):
        cid, sid = str(uuid.uuid4()), str(uuid.uuid4())
        at = sub_t.occurred_at + timedelta(milliseconds=i + 1)
        envs = []
        for t in cus_events:
            cp = copy.deepcopy(t.payload)
            cp["customer_id"] = cid
            if "details" in cp:
                cp["details"]["email"] = f"bench-{i}@example.org"
            envs.append((customers_topic, new_envelope(t.event_type, cid, t.aggregate_version, cp,
                                                       producer=t.producer, shop_id=shop.id, occurred_at=at)))
        sp = copy.deepcopy(sub_t.payload)
        sp.update(subscription_id=sid, customer_id=cid, sequence=(sub_t.payload.get("sequence") or 1) + i + 1)
        if every and i % every == 0:
            item = sp["terms"]["items"][1]
            sp["terms"]["items"][1] = {**item, "variant_id": "bench-v3", "substitutes": [item["variant_id"]]}
        envs.append((subs_topic, new_envelope("SubscriptionCreated", sid, 1, sp, producer=sub_t.producer,
                                              shop_id=shop.id, occurred_at=at)))
        for topic, env in envs:
            kafka_clients.send(producer, topic, env.aggregate_id.encode(), encode(env),
                               [("event_type", env.event_type.encode())])
    if producer.flush(120):
        raise TimeoutError("the seed was not acknowledged by Kafka")
    published_s = time.perf_counter() - started
    sched_dsn, orders_dsn, billing_dsn = (stack.db_url(service(s).database) for s in
                                          ("scheduler-service", "order-service", "billing-service"))
    t0 = time.perf_counter()
    wait(lambda: scalar(sched_dsn, "SELECT count(*) FROM subscriptions") >= n, 3600,
         "scheduler-service to project the subscriptions", 1.0)
    sched_s = time.perf_counter() - t0
    wait(lambda: scalar(orders_dsn, "SELECT count(*) FROM subscriptions") >= n
         and scalar(orders_dsn, "SELECT count(*) FROM customers") >= n, 3600,
         "order-service to project the subscriptions and customers", 1.0)
    orders_s = time.perf_counter() - t0
    wait(lambda: scalar(billing_dsn, "SELECT count(*) FROM customers") >= n, 3600,
         "billing-service to project the customers", 1.0)
    wait(lambda: total_lag(stack.bootstrap) == 0, 3600, "every consumer group to catch up", 1.0)
    consumed_s = time.perf_counter() - t0
    return {"shop": shop, "shop_id": shop.id, "customer": customer, "cycle_id": cycle["id"], "opens_at": opens,
            "closes_at": closes,
            "last_subscription_id": sid if n > 1 else sub["id"], "subscriptions": n,
            "substituted_lines_asked": len(range(0, n - 1, every)) if every else 0,
            "published_events": (len(cus_events) + 1) * (n - 1),
            "publish_seconds": round(published_s, 1),
            "scheduler_projected_seconds": round(sched_s, 1), "order_service_projected_seconds": round(orders_s, 1),
            "all_projected_seconds": round(consumed_s, 1)}


# -- sampling during the burst and the close ---------------------------------------------------------------------

class Sampler(threading.Thread):
    """Counts every ``period`` seconds: outbox rows, topic sizes, order-service's dues and orders.

    The counts are not free: while a batch of 100,000 is being written in one transaction, each count checks every
    uncommitted row of it. Probing every 0.5 s, the counting queries took 27 s of PostgreSQL time during a 77 s
    open (pg_stat_statements), about a sixth of this 2-CPU machine, taken from what they measure. So a probe stops
    once it has reached its ``final`` value, and the period is 1 s."""

    def __init__(self, probes: dict[str, Callable[[], int]], final: dict[str, float], period: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.probes = probes
        self.final = final
        self.period = period
        self.t0 = time.perf_counter()
        self.series: dict[str, list[tuple[float, float]]] = {k: [] for k in probes}
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for key, probe in self.probes.items():
                points = self.series[key]
                if points and key in self.final and points[-1][1] >= self.final[key]:
                    continue  # done: counting again only costs the machine
                try:
                    points.append((time.perf_counter() - self.t0, probe()))
                except Exception:
                    pass
            self.stop_event.wait(self.period)

    def first_at(self, key: str, value: float) -> float | None:
        return next((t for t, v in self.series[key] if v >= value), None)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)


class Counter:
    """A persistent autocommit connection for cheap counting queries."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.lock = threading.Lock()

    def __call__(self, query: str, params: Any = ()) -> int:
        with self.lock:
            row = self.conn.execute(query, params).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()


def _advance(platform: Platform, to: datetime) -> dict[str, Any]:
    r = requests.post(platform.urls["scheduler-service"] + "/api/v1/test-clock/advance", json={"to": to.isoformat()},
                      headers={"Authorization": f"Bearer {platform.admin_token}"}, timeout=ADMIN_TIMEOUT)
    r.raise_for_status()
    return r.json()


def _placement_summary(platform: Platform, shop: Shop, cycle_id: str) -> dict[str, Any]:
    return shop.orders_api().get(f"{shop.base}/order-cycles/{cycle_id}/placement-summary")


def kafka_rate(report: Report) -> float | None:
    kp = report.details.get("kafka")
    return kp["produce_then_consume_per_s"] if kp else None


def run_burst(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    """Sections 2, 3 and 7: the cycle opens for N subscriptions, then closes; peak RSS of every process."""
    from shared_events.topics import physical

    n = args.subscriptions
    platform = start_platform(stack)
    print(f"   seeding {n:,} subscriptions (1 through the API, {n - 1:,} published to Kafka) ...", flush=True)
    world = seed_world(stack, platform, n, args.substituted)
    STATE.burst = world
    report.details.setdefault("notes", []).append(
        f"burst: {n:,} subscriptions on one schedule. The shop, its methods, the cycle, the schedule, the variants, "
        "one customer (with a card) and one subscription were made through the public APIs; the other "
        f"{n - 1:,} customers and subscriptions were published straight to Kafka as clones of the API-made "
        "events (new ids, shared_events.new_envelope + the strict encode), as a replay would deliver them, "
        "because creating them through REST would take longer than the benchmark. subscription-service's own "
        "tables hold only the API-made one. billing-service's charger is off during the burst and the close "
        "(Stripe excluded); section billing measures charging.")
    report.detail("seed", {k: v for k, v in world.items() if k != "shop"})
    seeded = world["published_events"]
    report.add("seed", "customer+subscription events projected by scheduler, order, billing (their consumers)",
               round(seeded / world["all_projected_seconds"]) if world["all_projected_seconds"] else None,
               "events/s", note=f"{seeded:,} events published in {world['publish_seconds']} s, all projected "
                                f"{world['all_projected_seconds']} s later; load {load()}")
    shop: Shop = world["shop"]
    prefix = stack.cfg.topic_prefix
    sched = Counter(stack.db_url("scheduler"))
    orders = Counter(stack.db_url("orders"))
    billing = Counter(stack.db_url("billing"))
    offsets = Offsets(stack.bootstrap)
    sched_topic, orders_topic = physical("scheduler.events", prefix), physical("orders.events", prefix)
    base_sched, base_orders = offsets.size(sched_topic), offsets.size(orders_topic)
    cycle_id = world["cycle_id"]

    # -- the open ------------------------------------------------------------------------------------------------
    sampler = Sampler({
        "OrderDue in scheduler outbox": lambda: sched("SELECT count(*) FROM event_store WHERE event_type = "
                                                      "'OrderDue'"),
        "scheduler.events in Kafka": lambda: offsets.size(sched_topic) - base_sched,
        "dues recorded (order-service)": lambda: orders("SELECT count(*) FROM order_dues WHERE order_cycle_id = %s",
                                                        [cycle_id]),
        "orders placed (order-service)": lambda: orders("SELECT count(*) FROM orders WHERE order_cycle_id = %s",
                                                        [cycle_id]),
        "orders.events in Kafka": lambda: offsets.size(orders_topic) - base_orders,
    }, final={"OrderDue in scheduler outbox": n, "scheduler.events in Kafka": n + 1,
              "dues recorded (order-service)": n, "orders placed (order-service)": n, "orders.events in Kafka": n})
    load_before = load()
    print(f"   advancing the test clock across the open (load {load_before}) ...", flush=True)
    sampler.start()
    t0 = sampler.t0
    advanced = _advance(platform, world["opens_at"] + timedelta(minutes=1))
    outbox_s = time.perf_counter() - t0
    rest_visible = summary_s = None
    # the last subscription in first-come order has the last order of the cycle: the open is over when GET
    # /orders/<its order id> answers (polled every 0.2 s), and the placement summary then checks that all n are
    # placed. (Up to stop 14 the open ended when the sampler's count of orders reached n, every ~2 s under load,
    # plus this summary, which counts the cycle's orders and lines: about 4 s after the placement's commit.)
    from order_service.service_layer.placement import order_id_for

    last_order = f"{shop.base}/orders/{order_id_for(world['last_subscription_id'], cycle_id)}"
    orders_api = shop.orders_api()
    try:
        wait(lambda: orders_api.call("GET", last_order).status_code == 200, args.burst_timeout,
             "the last order visible through order-service's API", 0.2)
        rest_visible = time.perf_counter() - t0
        summary = _placement_summary(platform, shop, cycle_id)
        summary_s = time.perf_counter() - t0 - rest_visible
        if summary["orders"]["orders"] < n:  # not placed in one transaction: the last order is not the end
            wait(lambda: _placement_summary(platform, shop, cycle_id)["orders"]["orders"] >= n, args.burst_timeout,
                 "every order in the placement summary", 0.5)
            rest_visible = time.perf_counter() - t0
            summary = _placement_summary(platform, shop, cycle_id)
        wait(lambda: offsets.size(orders_topic) - base_orders >= n, 600, "OrderPlaced in Kafka", 0.2)
        time.sleep(1.0)
    finally:
        sampler.stop()
    load_during = load()
    placed_s = sampler.first_at("orders placed (order-service)", n)
    s = sampler.series
    open_result = {
        "subscriptions": n, "load_before": load_before, "load_after": load_during,
        "advance_api_seconds": round(outbox_s, 2),
        "order_due_in_outbox_seconds": sampler.first_at("OrderDue in scheduler outbox", n),
        "order_due_in_kafka_seconds": sampler.first_at("scheduler.events in Kafka", n + 1),
        "dues_recorded_seconds": sampler.first_at("dues recorded (order-service)", n),
        "orders_placed_seconds": placed_s,
        "orders_visible_through_rest_seconds": round(rest_visible, 2) if rest_visible else None,
        "placement_summary_call_seconds": round(summary_s, 2) if rest_visible else None,
        "placement_summary": summary.get("orders") if rest_visible else None,
        "order_placed_in_kafka_seconds": sampler.first_at("orders.events in Kafka", n),
        "boundaries": advanced.get("boundaries"),
        "lines_placed_as_substitutes": orders("SELECT count(*) FROM order_lines l JOIN orders o USING (order_id) "
                                              "WHERE o.order_cycle_id = %s AND l.substitute_for IS NOT NULL",
                                              [cycle_id]),
    }
    report.detail("burst_open", open_result)
    report.detail("burst_open_series", {k: v[::2] for k, v in s.items()})
    kr = kafka_rate(report)
    visible = open_result["orders_visible_through_rest_seconds"]
    report.add("burst", f"cycle open: {n:,} orders placed, visible through order-service's API", visible, "s",
               target="<= 60 s", note=f"load {load_before} -> {load_during}; "
                                      f"{open_result['lines_placed_as_substitutes']:,} lines placed as substitutes")
    if visible:
        rate = n / visible
        report.add("burst", "  orders/s (open -> last order visible)", round(rate), "orders/s",
                   ratio=rate / kr if kr else None, ratio_to="Kafka produce+consume rate (limits)")
    for key, label in (("order_due_in_outbox_seconds", "  100,000 OrderDue committed in scheduler outbox"),
                       ("order_due_in_kafka_seconds", "  ... and in Kafka (relay)"),
                       ("dues_recorded_seconds", "  ... recorded by order-service's consumer"),
                       ("orders_placed_seconds", "  ... orders placed (committed)"),
                       ("order_placed_in_kafka_seconds", "  ... OrderPlaced in Kafka (relay)")):
        value = open_result[key]
        report.add("burst", label.replace("100,000", f"{n:,}"), round(value, 2) if value else value,
                   "s from the clock advance")
    plot_series(RESULTS / "burst.png", f"Cycle open: {n:,} subscriptions (load {load_before})",
                {k: v for k, v in s.items()}, "seconds since the test clock crossed the open", "count")

    # -- the close -----------------------------------------------------------------------------------------------
    base_orders = offsets.size(orders_topic)
    sampler = Sampler({
        "orders confirmed (order-service)": lambda: orders("SELECT count(*) FROM orders WHERE order_cycle_id = %s "
                                                           "AND status = 'confirmed'", [cycle_id]),
        "orders.events in Kafka (OrderConfirmed + PaymentRequested)": lambda: offsets.size(orders_topic)
        - base_orders,
        "payments opened (billing-service)": lambda: billing("SELECT count(*) FROM payments"),
    }, final={"orders confirmed (order-service)": n,
              "orders.events in Kafka (OrderConfirmed + PaymentRequested)": 2 * n,
              "payments opened (billing-service)": n})
    load_before = load()
    print(f"   advancing the test clock across the close (load {load_before}) ...", flush=True)
    sampler.start()
    t0 = sampler.t0
    _advance(platform, world["closes_at"] + timedelta(minutes=1))
    try:
        wait(lambda: offsets.size(orders_topic) - base_orders >= 2 * n, args.burst_timeout,
             "OrderConfirmed and PaymentRequested in Kafka", 0.2)
        published_s = time.perf_counter() - t0
        try:  # informational only: billing's consumer is not on the close's path
            wait(lambda: billing("SELECT count(*) FROM payments") >= n, 120, "billing's payments", 0.5)
            billing_s: float | None = time.perf_counter() - t0
        except TimeoutError:
            billing_s = None
        time.sleep(1.0)
    finally:
        sampler.stop()
    load_during = load()
    close_result = {
        "load_before": load_before, "load_after": load_during,
        "orders_confirmed_seconds": sampler.first_at("orders confirmed (order-service)", n),
        "payment_requested_in_kafka_seconds": round(published_s, 2),
        "billing_payments_opened_seconds": round(billing_s, 2) if billing_s else None,
    }
    report.detail("burst_close", close_result)
    report.detail("burst_close_series", {k: v[::2] for k, v in sampler.series.items()})
    report.add("close", f"cycle close: {n:,} orders confirmed + PaymentRequested in Kafka",
               close_result["payment_requested_in_kafka_seconds"], "s", target="<= 60 s",
               note=f"load {load_before} -> {load_during}")
    confirmed_s = close_result["orders_confirmed_seconds"]
    report.add("close", "  orders confirmed (committed)",
               round(float(confirmed_s), 2) if confirmed_s is not None else None, "s")
    events_rate = 2 * n / published_s
    report.add("close", "  events/s (OrderConfirmed + PaymentRequested)", round(events_rate), "events/s",
               ratio=events_rate / kr if kr else None, ratio_to="Kafka produce+consume rate (limits)")
    opened = billing("SELECT count(*) FROM payments")
    report.add("close", "  billing-service opened every payment (no Stripe call)",
               close_result["billing_payments_opened_seconds"], "s",
               note=f"informational (charger off); {opened:,} of {n:,} opened when the close was measured")
    plot_series(RESULTS / "close.png", f"Cycle close: {n:,} orders (load {load_before})", sampler.series,
                "seconds since the test clock crossed the close", "count")

    # -- memory --------------------------------------------------------------------------------------------------
    rss = peak_rss_mb(stack)
    report.detail("peak_rss_mb", rss)
    for name, mb in sorted(rss.items()):
        report.add("memory", f"peak RSS {name}", mb, "MB", target="< 200 MB", note="VmHWM: seed + open + close")
    for c in (sched, orders, billing, offsets):
        c.close()
    # billing-service's consumer would go on opening the close's payments for minutes: it is stopped so that the
    # next sections (billing runs its own processes, REST does not involve billing) measure a settled platform
    for name in stack.process_names(service("billing-service")):
        stack.procs.stop(name)
    report.details.setdefault("notes", []).append(
        "billing-service is stopped after the close (its consumer was still opening the close's payments); the "
        "billing section runs its own billing processes on the same PostgreSQL, Kafka and localstripe.")
    # order-service's notifier mails every placed order (one e-mail each, about 60/s here): the open leaves it a
    # backlog of about half an hour, during which it and the SMTP sink took about half a CPU, under the billing,
    # REST and rebuild sections (order-service's replay of 935,166 events: 85.8 s with it sending, 53.2 s with it
    # paused, same stack). It is stopped here too, like billing-service, so those sections measure themselves.
    mails = stack.cfg.state / "mail.jsonl"
    sent = 0
    if mails.exists():
        with mails.open("rb") as f:
            sent = sum(1 for _ in f)
    stack.procs.stop("order-service.notifier")
    report.add("close", "  order e-mails sent by order-service's notifier by then", sent, "e-mails",
               note=f"informational: stopped with {n - sent:,} or more still to send, so that it does not run under "
                    "the next sections")


# -- billing -----------------------------------------------------------------------------------------------------

def run_billing(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    """Section 4: bench/billing_drain.py (billing-service's engineer's) on this run's PostgreSQL, Kafka and
    localstripe (the drain makes its own database, topics and Stripe customers)."""
    from bench import billing_drain

    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "STRIPE_API_BASE")}
    os.environ.update(DATABASE_URL=stack.admin_db_url, KAFKA_BOOTSTRAP_SERVERS=stack.bootstrap,
                      STRIPE_API_BASE=stack.stripe_url)
    try:
        load_before = load()
        r = billing_drain.run(args.payments, args.stripe_rate, customers=200, concurrency=8)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    report.detail("billing", r)
    note = f"load {load_before} -> {r['load_average_at_end']:.2f}; localstripe {r['localstripe']}"
    report.add("billing", f"{args.payments:,} payment requests: achieved rate", r["achieved_rate_per_s"], "req/s",
               target=f"{args.stripe_rate:g}/s +- 5%", ratio=r["achieved_rate_per_s"] / args.stripe_rate,
               ratio_to="configured rate", note=note)
    report.add("billing", "  rate in the first half / second half",
               f"{r['achieved_rate_first_half_per_s']} / {r['achieved_rate_second_half_per_s']}", "req/s")
    report.add("billing", "  most requests sent in one second", r["sent_in_busiest_1s_window"], "req",
               note=f"localstripe created at most {r['charges_per_second_at_stripe_max']} charges in one second")
    report.add("billing", "  429 answers from Stripe", r["stripe_429"], "", target="no storm")
    report.add("billing", "  charges in localstripe (exactly one per order)", r["charges_in_localstripe"], "",
               target=f"{args.payments:,}", note=f"{r['orders_charged_more_than_once']} charged twice, "
                                                 f"{r['orders_without_charge']} not charged")


# -- REST --------------------------------------------------------------------------------------------------------

def _rest_world(stack: Stack, platform: Platform, orders: int, tokens: int) -> dict[str, Any]:
    """A shop made through the APIs: ``orders`` subscriptions whose orders are placed in an open cycle, and a
    schedule with a future cycle only (for the subscription creates: they place nothing during the run)."""
    now = platform.now()
    shop = platform.create_shop(name="REST hub")
    ship, pay = shop.shipping_method(), shop.payment_method("cash")
    cycle = shop.order_cycle("REST week", now + timedelta(minutes=30), now + timedelta(days=3))
    future = shop.order_cycle("Later", now + timedelta(days=20), now + timedelta(days=23))
    schedule = shop.schedule("Open", [cycle["id"]])
    later = shop.schedule("Later", [future["id"]])
    variants = [f"rest-v{i}" for i in range(40)]  # 200 orders x 39: every line POST of the run adds a new line
    for i, v in enumerate(variants):
        shop.variant(v, f"Item {i}", unit_price=100 + i, on_hand=None)
    wait_variants(stack, shop.id, len(variants))
    customers, subs = [], []
    for i in range(orders):
        c = shop.customer("Rest", f"Customer{i}")
        customers.append(c)
        subs.append(shop.subscribe(c, schedule["id"], ship["id"], pay["id"], {variants[0]: 1},
                                   begins_at=now - timedelta(days=1)))
    _advance(platform, now + timedelta(minutes=31))
    placed = wait(lambda: len(shop.orders(order_cycle_id=cycle["id"])) >= orders, 300, "the REST shop's orders", 1)
    order_ids = [o["order_id"] for o in shop.orders(order_cycle_id=cycle["id"])]
    managers = [shop.subs(platform.admin_token).post("/api/v1/tokens", {"role": "manager", "shop_ids": [shop.id],
                                                                         "label": f"bench manager {i}"})["token"]
                for i in range(tokens)]
    return {"shop": shop, "subs": [s["id"] for s in subs], "orders": order_ids, "customers": [c.id for c in customers],
            "variants": variants, "ship": ship["id"], "pay": pay["id"], "later": later["id"], "tokens": managers,
            "placed_wait_s": placed, "begins_at": (now + timedelta(days=10)).isoformat()}


def run_rest(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    """Section 5: open-loop load (bench/loadgen.py, a second process) at a fixed offered rate on each route."""
    from bench import loadgen

    platform = start_platform(stack)
    started = time.monotonic()
    try:  # the consumers finish what an earlier section left (a burst's 100,000 orders) before we measure
        wait(lambda: _lag_without(stack, "billing") == 0, 600, "the consumers to catch up", 2.0)
    except TimeoutError:
        pass
    report.detail("rest_waited_for_consumers_s", round(time.monotonic() - started, 1))
    print("   making the REST shop through the APIs ...", flush=True)
    w = _rest_world(stack, platform, args.rest_orders, tokens=8)
    shop: Shop = w["shop"]
    subs_url = platform.urls["subscription-service"] + f"/api/v1/shops/{shop.id}"
    orders_url = platform.urls["order-service"] + f"/api/v1/shops/{shop.id}"
    tokens, subs, orders, customers, variants = w["tokens"], w["subs"], w["orders"], w["customers"], w["variants"]

    def auth(i: int, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}", **extra}

    def sub_read(i: int) -> tuple[str, str, dict[str, str], Any]:
        return "GET", f"{subs_url}/subscriptions/{subs[i % len(subs)]}", auth(i), None

    def sub_create(i: int) -> tuple[str, str, dict[str, str], Any]:
        body = {"customer_id": customers[i % len(customers)], "schedule_id": w["later"],
                "shipping_method_id": w["ship"], "payment_method_id": w["pay"], "begins_at": w["begins_at"],
                "bill_address": {"first_name": "Rest", "last_name": "C", "address1": "1 rue", "city": "Lyon",
                                 "zipcode": "69003", "country": "FR"},
                "ship_address": {"first_name": "Rest", "last_name": "C", "address1": "1 rue", "city": "Lyon",
                                 "zipcode": "69003", "country": "FR"},
                "items": [{"variant_id": variants[1 + i % (len(variants) - 1)], "quantity": 1 + i % 3}]}
        return "POST", f"{subs_url}/subscriptions", auth(i, **{"Idempotency-Key": str(uuid.uuid4())}), body

    def order_read(i: int) -> tuple[str, str, dict[str, str], Any]:
        return "GET", f"{orders_url}/orders/{orders[i % len(orders)]}", auth(i), None

    def order_create(i: int) -> tuple[str, str, dict[str, str], Any]:
        order = orders[i % len(orders)]
        variant = variants[1 + (i // len(orders)) % (len(variants) - 1)]
        return ("POST", f"{orders_url}/orders/{order}/lines", auth(i, **{"Idempotency-Key": str(uuid.uuid4())}),
                {"variant_id": variant, "quantity": 1})

    phases = [("subscription-service", "read: GET a subscription", sub_read, "< 50 ms"),
              ("subscription-service", "create: POST a subscription", sub_create, "< 100 ms"),
              ("order-service", "read: GET an order", order_read, "< 50 ms"),
              ("order-service", "create: POST a line to an order", order_create, "< 100 ms")]
    for svc, what, factory, target in phases:
        if "read" in what:
            for i in range(20):  # warm the workers' connections
                method, url, headers, body = factory(i)
                requests.request(method, url, headers=headers, json=body, timeout=30)
        load_before = load()
        res = loadgen.run("open", factory, rate=args.rest_rate, duration=args.rest_seconds,
                          ok_status=[200, 201])
        summary = res.summary()
        report.detail(f"rest {svc} {what}", {**summary, "load_before": load_before, "load_after": load()})
        report.add("rest", f"{svc} {what} @ {args.rest_rate:g}/s: p99", summary["p99_ms"], "ms", target=target,
                   note=f"p50 {summary['p50_ms']} ms, {summary['ok']}/{summary['sent']} ok, errors {summary['errors']}"
                        f", load {load_before}")
        hello = report.details.get("http_hello")
        if hello:
            report.rows[-1]["ratio"] = round(summary["p99_ms"] / hello["p99_ms"], 3) if hello["p99_ms"] else None
            report.rows[-1]["ratio_to"] = "hello p99 (closed loop, 32 conns)"
        if "create" in what:  # what the route can take at all, beside what the offered rate asked of it
            def fresh(i: int, f: Any = factory, n: int = summary["sent"]) -> tuple[str, str, dict[str, str], Any]:
                return f(n + i)  # type: ignore[no-any-return]  # requests the open loop did not send

            cap = loadgen.run("closed", fresh, concurrency=16, duration=10, ok_status=[200, 201]).summary()
            report.detail(f"rest {svc} {what} capacity", cap)
            report.add("rest", f"{svc} {what}: capacity (closed loop, 16 connections)", cap["rate"], "req/s",
                       ratio=cap["rate"] / hello["requests_per_s"] if hello else None, ratio_to="hello req/s",
                       note=f"p50 {cap['p50_ms']} ms, p99 {cap['p99_ms']} ms, {cap['ok']}/{cap['sent']} ok, "
                            f"errors {cap['errors']}")


# -- rebuild -----------------------------------------------------------------------------------------------------

REBUILD_SNIPPET = """
import json, sys, time
from importlib import import_module
mod = import_module(sys.argv[1] + ".entrypoints.rebuild")
import os
started = time.perf_counter()
report = mod.run(os.environ["DATABASE_URL"], bootstrap=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
print("RESULT " + json.dumps({"events": report.events, "undecodable": report.undecodable,
                              "chunks_one_by_one": report.chunks_one_by_one,
                              "seconds": report.seconds, "wall_seconds": time.perf_counter() - started,
                              "differences": report.differences}))
"""


def run_rebuild(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    """Section 6: each service replays its projections from offset 0 into a scratch schema (its rebuild
    entrypoint's run(), in its own process with the service's environment); events/s of the replay."""
    start_platform(stack)
    kp = report.details.get("kafka")
    # the replay is compared with the live tables: they must have seen every event first. billing-service was
    # stopped after the close with its consumer still opening the close's payments: it runs again (not its charger:
    # nothing here talks to Stripe) until it has caught up
    billing = service("billing-service")
    if billing.installed():
        stopped = [w for w in ["api", *billing.workers()]
                   if w != "charger" and not stack.procs.running(f"{billing.name}.{w}")]
        if stopped:
            stack.start_service(billing, only=stopped)
    caught_up = wait(lambda: total_lag(stack.bootstrap) == 0, 3600, "every consumer group to catch up", 2.0)
    report.detail("rebuild waited for the consumers", {"seconds": caught_up})
    for svc in SERVICES:
        if not svc.installed():
            continue
        env = {**stack.service_env(svc), "LOG_LEVEL": "WARNING"}
        load_before = load()
        proc = subprocess.run([sys.executable, "-c", REBUILD_SNIPPET, svc.package], env=env, capture_output=True,
                              text=True, timeout=args.rebuild_timeout)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            report.add("rebuild", f"{svc.name} FAILED", proc.returncode, note=(proc.stderr or proc.stdout)[-300:])
            continue
        r = json.loads(line[len("RESULT "):])
        rate = r["events"] / r["seconds"] if r["seconds"] else 0.0
        report.detail(f"rebuild {svc.name}", {**r, "load_before": load_before})
        differ = {t: d for t, d in r["differences"].items() if d}
        report.add("rebuild", f"{svc.name}: replay from offset 0", round(rate), "events/s", target=">= 20,000/s",
                   ratio=rate / kp["consume_per_s"] if kp else None, ratio_to="Kafka consume rate (limits)",
                   note=f"{r['events']:,} events in {r['seconds']:.1f} s; load {load_before}; "
                        + (f"{r['chunks_one_by_one']} chunks applied one by one; " if r.get("chunks_one_by_one")
                           else "")
                        + (f"differs from live: {differ}" if differ else "identical to live")
                        + ("; expected here: the seeded customers and subscriptions were published straight to "
                           "its topics, never written to its tables" if differ and svc.name ==
                           "subscription-service" else ""))
