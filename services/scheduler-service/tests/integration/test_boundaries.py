"""A cycle's open and close become events: through the test clock API, through the ticker, in real time."""

import time
import urllib.request
from datetime import timedelta

import psycopg
import pytest
from scheduler_harness import START, days, hours

from devstack.procs import free_port
from devstack.testing import rows, scalar, wait_for
from servicekit.clock import SystemClock, init_test_clock

pytestmark = pytest.mark.integration


def test_an_open_emits_one_order_due_per_due_subscription_then_the_opened_count_and_the_close_follows(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    opens, closes = START + hours(1), START + days(3)
    cycle = f.cycle(shop, opens, closes)
    schedule = f.schedule(shop, [cycle])
    subs = [f.subscription(shop, schedule, START - days(1), at=START - timedelta(seconds=10 - i)) for i in range(5)]
    h.start_all()
    h.wait_applied()
    api = h.api()

    out = api.advance(to=opens + hours(1))

    assert [(b["kind"], b["due_count"], b["lateness_seconds"]) for b in out["boundaries"]] == [("open", 5, 0.0)]
    assert out["now"] == (opens + hours(1)).isoformat()
    events = h.outbox()
    assert [e.event_type for e in events] == ["OrderDue"] * 5 + ["OrderCycleOpened"]
    assert [e.payload["subscription_id"] for e in events[:5]] == subs  # first created first
    for due in events[:5]:
        assert due.aggregate_id == f"{due.payload['subscription_id']}:{cycle}" and due.aggregate_version == 1
        assert (due.payload["reason"], due.payload["due_at"], due.payload["lateness_seconds"], due.payload["late"]) \
            == ("cycle_opened", opens, 0.0, False)
        assert due.occurred_at == opens and due.payload["schedule_id"] == schedule
    opened = events[5]
    assert (opened.aggregate_id, opened.aggregate_version) == (cycle, 1)
    assert opened.payload["due_count"] == 5 and opened.payload["boundary_at"] == opens
    assert {e.correlation_id for e in events} == {opened.correlation_id}

    out = api.advance(to=closes + hours(1))

    assert [(b["kind"], b["boundary_at"]) for b in out["boundaries"]] == [("close", closes.isoformat())]
    closed = h.outbox("OrderCycleClosed")
    assert [(e.aggregate_id, e.aggregate_version, e.payload["lateness_seconds"]) for e in closed] == [(cycle, 2, 0.0)]
    h.wait_published()
    assert sorted(e.event_id for e in h.kafka_events()) == sorted(e.event_id for e in h.outbox())


def test_the_ticker_wakes_when_the_test_clock_moves_and_emits_each_boundary_once(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    cycles = [f.cycle(shop, START + hours(1 + 24 * i), START + hours(20 + 24 * i)) for i in range(3)]
    schedule = f.schedule(shop, cycles)
    f.subscription(shop, schedule, START)
    h.start_all()
    h.wait_applied()

    init_test_clock(h.clock_dsn, START + hours(2))  # past the first open only
    wait_for(lambda: len(h.outbox("OrderCycleOpened")) == 1, 30, "the ticker to open the first cycle")
    init_test_clock(h.clock_dsn, START + days(3))  # past everything
    wait_for(lambda: len(h.outbox("OrderCycleClosed")) == 3, 30, "the ticker to catch up")

    kinds = [(e.event_type, e.aggregate_id) for e in h.outbox("OrderCycleOpened", "OrderCycleClosed")]
    assert kinds == [("OrderCycleOpened", cycles[0]), ("OrderCycleClosed", cycles[0]),
                     ("OrderCycleOpened", cycles[1]), ("OrderCycleClosed", cycles[1]),
                     ("OrderCycleOpened", cycles[2]), ("OrderCycleClosed", cycles[2])]
    assert len(h.outbox("OrderDue")) == 1  # only the first cycle was still open when its open was emitted
    assert scalar(h.dsn, "SELECT count(*) FROM boundary_runs WHERE worker = 'ticker'") == 6


def test_with_the_system_clock_the_ticker_fires_at_the_boundary_never_before(harness, infra):
    h, f = harness, harness.feed
    f.clock = SystemClock()
    now = SystemClock().now()
    shop = f.shop()
    opens = now.replace(microsecond=0) + timedelta(seconds=8)
    closes = opens + timedelta(seconds=2)
    cycle = f.cycle(shop, opens, closes)
    f.subscription(shop, f.schedule(shop, [cycle]), now - days(1))
    port = free_port()
    env = {"TEST_CLOCK_URL": ""}
    h.start("consumer", **env)
    h.start("relay", **env)
    h.wait_applied()  # the subscription is known before the ticker runs, however slow the machine is
    h.start("ticker", WORKER_HTTP_PORT=port, **env)

    wait_for(lambda: len(h.outbox("OrderCycleClosed")) == 1, 30, "the real-time close")

    runs = dict(rows(h.dsn, "SELECT kind, lag_seconds FROM boundary_runs WHERE order_cycle_id = %s", [cycle]))
    emitted = {e.event_type: e for e in h.outbox()}
    due = emitted.get("OrderDue") or emitted["OrderDueMissed"]  # missed only if the ticker started after the close
    assert due.occurred_at >= opens and emitted["OrderCycleOpened"].occurred_at >= opens
    assert emitted["OrderCycleClosed"].occurred_at >= closes
    assert set(runs) == {"open", "close"} and all(lag >= 0 for lag in runs.values())
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'scheduler_boundary_lag_seconds_count{kind="open"} 1.0' in body
    assert 'scheduler_boundary_lag_seconds_count{kind="close"} 1.0' in body
    print("real-time boundary lag (s):", runs)


def test_a_boundary_that_fails_holds_back_only_its_own_shop_and_is_retried(harness):
    h, f = harness, harness.feed
    broken, healthy = f.shop(), f.shop()
    cycles = {shop: f.cycle(shop, START + hours(1), START + days(2)) for shop in (broken, healthy)}
    later = f.cycle(broken, START + hours(2), START + days(2))
    subs = {shop: f.subscription(shop, f.schedule(shop, [cycles[shop], *([later] if shop == broken else [])]),
                                 START) for shop in (broken, healthy)}
    h.start_all()
    h.wait_applied()
    with psycopg.connect(h.dsn) as conn:  # data no OrderDue can be built from: the contract refuses it
        conn.execute("UPDATE subscriptions SET customer_id = '' WHERE subscription_id = %s", [subs[broken]])

    init_test_clock(h.clock_dsn, START + hours(3))
    wait_for(lambda: h.outbox("OrderCycleOpened"), 30, "the healthy shop's open")
    time.sleep(2)  # the broken shop is retried every second meanwhile
    assert [e.aggregate_id for e in h.outbox("OrderCycleOpened")] == [cycles[healthy]]
    assert "boundary failed; its shop waits" in h.log("ticker").read_text()

    with psycopg.connect(h.dsn) as conn:
        conn.execute("UPDATE subscriptions SET customer_id = 'fixed' WHERE subscription_id = %s", [subs[broken]])
    wait_for(lambda: len(h.outbox("OrderCycleOpened")) == 3, 30, "the broken shop's opens, once repaired")
    opened = [e for e in h.outbox("OrderCycleOpened") if e.shop_id == broken]
    assert [e.aggregate_id for e in opened] == [cycles[broken], later], "still in time order"
    assert opened[0].payload["lateness_seconds"] == 2 * 3600.0
