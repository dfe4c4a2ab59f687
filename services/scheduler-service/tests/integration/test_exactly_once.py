"""Exactly one OrderDue per (subscription, cycle), ever: kill -9, redelivery, two replicas at once."""

from collections import Counter

import pytest
from scheduler_harness import START, days, hours, minutes

from devstack.testing import scalar, wait_for
from servicekit.clock import init_test_clock

pytestmark = pytest.mark.integration


def assert_once_each(events):
    ids = Counter(e.aggregate_id for e in events if e.event_type == "OrderDue")
    assert ids and max(ids.values()) == 1, [k for k, n in ids.items() if n > 1]
    cycles = Counter((e.aggregate_id, e.event_type) for e in events if e.event_type != "OrderDue")
    assert max(cycles.values()) == 1
    assert len({e.event_id for e in events}) == len(events)


def test_a_ticker_killed_between_computing_and_committing_an_open_leaves_nothing_and_its_restart_emits_once(
        harness, tmp_path):
    h, f = harness, harness.feed
    shop = f.shop()
    cycle = f.cycle(shop, START + hours(1), START + days(2))
    schedule = f.schedule(shop, [cycle])
    subs = {f.subscription(shop, schedule, START) for _ in range(300)}
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    once = tmp_path / "ticker-crashed"
    fault = {"SCHEDULER_FAULT": "crash_before_commit", "SCHEDULER_FAULT_ONCE_FILE": once}
    crashing = h.start("ticker", **fault)

    init_test_clock(h.clock_dsn, START + hours(1))
    assert crashing.wait(timeout=60) == 137, h.log("ticker").read_text()[-3000:]

    assert once.exists(), "the fault fired: 300 dues and the open were computed and written, then kill -9"
    assert scalar(h.dsn, "SELECT count(*) FROM event_store") == 0
    assert scalar(h.dsn, "SELECT count(*) FROM cycle_boundaries") == 0
    h.procs.pop("ticker")
    h.start("ticker", **fault)  # same configuration: the marker makes the fault fire only once
    wait_for(lambda: len(h.outbox("OrderCycleOpened")) == 1, 60, "the restarted ticker to emit the open")
    h.api().advance(to=START + days(2))
    h.wait_published()

    outbox = h.outbox()
    assert {d.payload["subscription_id"] for d in outbox if d.event_type == "OrderDue"} == subs
    assert [e.payload["due_count"] for e in outbox if e.event_type == "OrderCycleOpened"] == [300]
    kafka = h.kafka_events()
    assert len(kafka) == 302  # 300 OrderDue, OrderCycleOpened, OrderCycleClosed
    assert_once_each(kafka)


def test_a_consumer_killed_after_committing_mid_cycle_dues_does_not_emit_them_again(harness, tmp_path):
    h, f = harness, harness.feed
    shop = f.shop()
    cycle = f.cycle(shop, START + hours(1), START + days(2))
    schedule = f.schedule(shop, [cycle])
    h.start_all()
    h.wait_applied()
    h.api().advance(to=START + hours(2))
    h.stop("consumer")
    subs = {f.subscription(shop, schedule, START) for _ in range(40)}
    f.flush()
    once = tmp_path / "consumer-crashed"
    crashing = h.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=once)
    assert crashing.wait(timeout=60) == 137, h.log("consumer").read_text()[-3000:]
    committed = len(h.dues())
    assert committed > 0
    h.procs.pop("consumer")
    h.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=once)
    h.wait_applied()
    h.wait_published()

    assert {d.payload["subscription_id"] for d in h.dues()} == subs
    assert_once_each(h.kafka_events())
    assert scalar(h.dsn, "SELECT count(*) FROM inbox") == f.sent


def test_two_replicas_running_at_once_share_the_boundaries_and_emit_no_duplicate(harness):
    h, f = harness, harness.feed
    shops = [f.shop() for _ in range(16)]
    opens, closes = START + hours(1), START + days(1)
    schedules, expected = {}, set()
    for shop in shops:
        cycle = f.cycle(shop, opens, closes)
        schedules[shop] = (f.schedule(shop, [cycle]), cycle)
        expected |= {(f.subscription(shop, schedules[shop][0], START), cycle) for _ in range(150)}
    for replica in ("a", "b"):
        h.start("consumer", f"consumer-{replica}")
        h.start("ticker", f"ticker-{replica}")
    h.start("relay", "relay-a")
    h.start("relay", "relay-b")  # a hot standby: one relay publishes at a time
    h.wait_applied(timeout=120)

    init_test_clock(h.clock_dsn, opens)  # both tickers wake on the same NOTIFY
    for shop in shops:  # while the opens are being emitted, more subscriptions arrive
        for _ in range(10):
            expected.add((f.subscription(shop, schedules[shop][0], START), schedules[shop][1]))
    f.flush()
    wait_for(lambda: len(h.outbox("OrderDue")) >= len(expected), 120, "every due")
    init_test_clock(h.clock_dsn, closes + minutes(1))
    wait_for(lambda: len(h.outbox("OrderCycleClosed")) == 16, 60, "every close")
    h.wait_applied(timeout=120)
    h.wait_published(timeout=120)

    kafka = h.kafka_events()
    assert_once_each(kafka)
    dues = [e for e in kafka if e.event_type == "OrderDue"]
    assert {(d.payload["subscription_id"], d.payload["order_cycle_id"]) for d in dues} == expected
    opened = [e for e in kafka if e.event_type == "OrderCycleOpened"]
    assert len(opened) == 16
    at_open = sum(e.payload["due_count"] for e in opened)
    assert at_open == sum(1 for d in dues if d.payload["reason"] == "cycle_opened")
    assert len(dues) - at_open == sum(1 for d in dues if d.payload["reason"] == "subscription_created")
    workers = Counter(r for (r,) in h_rows(h, "SELECT worker FROM boundary_runs"))
    print("boundaries per replica:", dict(workers), "dues at open:", at_open, "mid-cycle:", len(dues) - at_open)
    assert set(workers) == {"ticker-a", "ticker-b"}, "both replicas took boundaries"


def h_rows(h, query):
    from devstack.testing import rows

    return rows(h.dsn, query)
