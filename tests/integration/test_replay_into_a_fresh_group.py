"""Exactly once, also for a fresh consumer group (issue 21, point 8).

An operator's blue/green switch, or offsets lost, starts a service's consumer under a new Kafka consumer group
(`CONSUMER_GROUP`): it reads every topic from the start. Whatever the group, each reaction is decided once per
trigger: after a realistic flow (subscriptions created and updated, a cycle opened and closed, a payment
succeeded and one declined at charge, emails sent, a second cycle left open with its orders edited by subscription
changes), such a replay, for each of the four services, publishes, sends, charges and moves nothing."""

from __future__ import annotations

import importlib
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import requests

from devstack.scenario import CARD_DECLINED_AT_CHARGE, CARD_OK, ApiError
from devstack.stack import SERVICES
from devstack.testing import group_lag, rows, scalar, start_process, wait_for
from shared_events.topics import all_topics, physical

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _eventually(fn, timeout: float = 60, what: str = "condition"):
    def attempt():
        try:
            return fn()
        except ApiError as exc:  # a token or variant other services have not seen yet
            if any(f" -> {code} " in str(exc) for code in (401, 404, 422)):
                return None
            raise

    return wait_for(attempt, timeout, what)


def _update_items(shop, sub_id: str, items: dict[str, int]) -> None:
    sub = shop.subs().get(f"{shop.base}/subscriptions/{sub_id}")
    shop.subs().patch(f"{shop.base}/subscriptions/{sub_id}",
                      {"items": [{"variant_id": v, "quantity": q} for v, q in items.items()]},
                      headers={"If-Match": f'"{sub["version"]}"'})


def _lines(shop, order_id: str) -> dict[str, int]:
    return {li["variant_id"]: li["quantity"] for li in shop.order(order_id)["lines"]}


@pytest.fixture(scope="module")
def flow(system) -> dict[str, Any]:
    """Two cycles of one shop: the first opened, edited, closed and charged (one card paid, one declined at charge,
    one cash), the second opened and left open after three subscription changes flowed into its orders."""
    from datetime import datetime

    p = system.platform
    shop = p.create_shop(name="Replay hub")
    ship = shop.subs().post(f"{shop.base}/shipping-methods", {"name": "Home delivery", "fee_flat": 500,
                                                              "fee_percent_bp": 0, "pickup": False})
    card = shop.subs().post(f"{shop.base}/payment-methods", {"name": "Card", "kind": "stripe", "fee_flat": 0,
                                                             "fee_percent_bp": 150})
    cash = shop.subs().post(f"{shop.base}/payment-methods", {"name": "Cash", "kind": "cash", "fee_flat": 0,
                                                             "fee_percent_bp": 0})
    shop.variant("box", "Veg box", 2000, on_hand=200)
    shop.variant("eggs", "Eggs x6", 300, on_hand=200)
    now = p.now()
    cycles = [shop.order_cycle(f"Week {n}", now + timedelta(hours=1, days=3 * n),
                               now + timedelta(hours=1, days=3 * n + 2)) for n in (0, 1)]
    schedule = shop.schedule("Replay weeks", [c["id"] for c in cycles])
    payers = {"ok": shop.customer("Olive", "Replay", card=CARD_OK),
              "declined": shop.customer("Dan", "Replay", card=CARD_DECLINED_AT_CHARGE),
              "cash": shop.customer("Cass", "Replay")}
    subs = {kind: _eventually(lambda c=cust, k=kind: shop.subscribe(
                c, schedule["id"], ship["id"], (cash if k == "cash" else card)["id"], {"box": 1, "eggs": 1},
                begins_at=now), 30, "the catalog to reach subscription-service")
            for kind, cust in payers.items()}
    _update_items(shop, subs["ok"]["id"], {"box": 1, "eggs": 2})  # before the open: nothing to propagate

    def orders_of(cycle: dict, status: str) -> dict[str, dict]:
        def ready():
            found = shop.orders(order_cycle_id=cycle["id"])
            return found if len(found) == 3 and all(o["status"] == status for o in found) else None
        return {o["customer_id"]: o for o in _eventually(ready, 90, f"3 {status} orders of {cycle['name']}")}

    # week 0: opened, one order edited through its subscription, closed, charged
    p.advance_to(datetime.fromisoformat(cycles[0]["opens_at"]) + timedelta(minutes=1))
    first = orders_of(cycles[0], "placed")
    _update_items(shop, subs["cash"]["id"], {"box": 2, "eggs": 1})
    _eventually(lambda: _lines(shop, first[payers["cash"].id]["order_id"])["box"] == 2, 60, "the change to flow")
    p.advance_to(datetime.fromisoformat(cycles[0]["closes_at"]) + timedelta(minutes=1))
    orders_of(cycles[0], "confirmed")

    def payment(kind: str, status: str) -> Any:
        def ready():
            found = shop.billing().get(f"{shop.base}/orders/{first[payers[kind].id]['order_id']}/payments")
            items = found["items"] if isinstance(found, dict) else found
            return items[0] if items and items[0]["status"] == status else None
        return _eventually(ready, 90, f"the {kind} payment {status}")

    payment("ok", "succeeded")
    payment("declined", "failed")
    payment("cash", "pending")
    wait_for(lambda: [m for m in system.mail(payers["declined"].email) if "failed" in (m.get("subject") or "")],
             60, "the payment failed email")

    # week 1: opened and left open, its orders edited three times through their subscriptions
    p.advance_to(datetime.fromisoformat(cycles[1]["opens_at"]) + timedelta(minutes=1))
    second = orders_of(cycles[1], "placed")
    for quantity in (3, 1, 3):  # the second change undoes the first: a replay could redo both
        for kind in payers:
            _update_items(shop, subs[kind]["id"], {"box": quantity, "eggs": 1})
        _eventually(lambda q=quantity: all(_lines(shop, o["order_id"])["box"] == q for o in second.values()), 60,
                    f"the change to {quantity} boxes to flow into the open orders")
    return {"shop": shop, "open_orders": [o["order_id"] for o in second.values()]}


def _snapshot(system) -> dict[str, Any]:
    """What a reaction could have done: events recorded (every outbox) and published (every topic's end offset,
    dead letters included), emails queued and sent, payments opened and charged, stock moved."""
    stack, p = system.stack, system.platform
    db = {svc.name: stack.db_url(svc.database) for svc in SERVICES}
    out: dict[str, Any] = {f"{name} events": scalar(dsn, "SELECT count(*) FROM event_store")
                           for name, dsn in db.items()}
    out["unpublished"] = sum(scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL")
                             for dsn in db.values())
    out["emails queued"] = scalar(db["order-service"], "SELECT count(*) FROM notifications")
    out["emails unsent"] = scalar(db["order-service"], "SELECT count(*) FROM notifications WHERE sent_at IS NULL "
                                                       "AND failed_at IS NULL")
    out["emails sent"] = len(requests.get(f"{system.smtp_api}/messages", timeout=10).json())
    out["stock"] = rows(db["order-service"], "SELECT shop_id, variant_id, on_hand FROM catalog_variants ORDER BY 1, 2")
    out["order lines"] = rows(db["order-service"], "SELECT order_id, variant_id, quantity FROM order_lines "
                                                   "ORDER BY 1, 2, 3")
    out["payments"] = rows(db["billing-service"], "SELECT payment_id, status FROM payments ORDER BY 1")
    out["attempts"] = scalar(db["billing-service"], "SELECT count(*) FROM payment_attempts")
    out["stripe calls"] = scalar(db["billing-service"], "SELECT coalesce(sum(calls), 0) FROM charge_calls")
    out["payment intents"] = sorted(pi.id for pi in p.stripe().payment_intents.list({"limit": 100})
                                    .auto_paging_iter())
    from shared_events import kafka as kafka_clients

    topics = [physical(t.name, stack.cfg.topic_prefix) for t in all_topics()]
    out["records on the topics"] = sum(kafka_clients.end_offsets(kafka_clients.admin(stack.bootstrap), topics).values())
    return out


def _quiet(system) -> dict[str, Any]:
    """The snapshot once the system has settled: nothing left to publish or send, and nothing moving for 2 s."""

    def settled():
        first = _snapshot(system)
        if first["unpublished"] or first["emails unsent"]:
            return None
        time.sleep(2)
        return first if _snapshot(system) == first else None

    return wait_for(settled, 120, "a quiet system", interval=0.5)


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_a_consumer_replaying_every_topic_into_a_fresh_group_publishes_sends_charges_and_moves_nothing(
        system, flow, service, tmp_path):
    svc = next(s for s in SERVICES if s.name == service)
    before = _quiet(system)
    assert before["emails sent"] and before["payment intents"] and before["order lines"]

    group = f"{service}-green-{uuid.uuid4().hex[:6]}"
    topics = [physical(t, system.stack.cfg.topic_prefix)
              for t in importlib.import_module(f"{svc.package}.entrypoints.consumer").TOPICS]
    env = {**system.stack.service_env(svc), "CONSUMER_GROUP": group}
    log = tmp_path / f"{service}-replay.log"
    replay = start_process(["-m", f"{svc.package}.entrypoints.consumer"], env, log)
    try:
        wait_for(lambda: group_lag(system.stack.bootstrap, group, topics) == 0 or replay.poll() is not None, 180,
                 f"{service}'s replay under {group} to catch up")
        assert replay.poll() is None, log.read_text()[-3000:]
    finally:
        replay.send_signal(signal.SIGTERM)
        try:
            replay.wait(timeout=30)
        except subprocess.TimeoutExpired:
            replay.kill()
    after = _quiet(system)

    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"{service} replayed under a fresh group and did it again: {changed}"
    shop = flow["shop"]
    assert all(_lines(shop, order_id)["box"] == 3 for order_id in flow["open_orders"])


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_inbox_rows_an_earlier_version_recorded_under_a_group_name_become_the_services(make_db, service):
    """An upgraded service whose group was not its name (a TOPIC_PREFIX, a group override) still finds every
    event it applied: the migration moves those rows to the service's name, one row per event."""
    from servicekit.db import migrate_dsn

    migrations = importlib.import_module(f"{next(s for s in SERVICES if s.name == service).package}.config"
                                         ).MIGRATIONS_DIR
    dsn = make_db(migrations)
    one, two, three = (str(uuid.uuid4()) for _ in range(3))
    recorded = [(f"t1.{service}", one, "applied"), (f"t1.{service}", two, "applied"), (service, two, "applied"),
                (f"{service}-green", one, "dead_lettered"), (f"t1.{service}", three, "dead_lettered")]
    with psycopg.connect(dsn) as conn:
        conn.cursor().executemany("INSERT INTO inbox (consumer, event_id, topic, partition, \"offset\", outcome) "
                                  "VALUES (%s, %s, 'orders.events', 0, 0, %s)", recorded)
        conn.execute("DELETE FROM schema_migrations WHERE name = 'service/0195_inbox_is_the_services.sql'")
    assert migrate_dsn(dsn, migrations) == ["service/0195_inbox_is_the_services.sql"]

    assert sorted(rows(dsn, "SELECT consumer, event_id::text, outcome FROM inbox")) == sorted(
        [(service, one, "applied"), (service, two, "applied"), (service, three, "dead_lettered")])
