"""Downtime: every missed boundary is emitted when the scheduler comes back, in time order, lateness recorded."""

import pytest
import requests
from scheduler_harness import START, days, hours

from devstack.procs import free_port
from devstack.testing import rows, wait_for

pytestmark = pytest.mark.integration


def test_a_week_of_downtime_is_caught_up_in_time_order_with_lateness_and_the_late_placement_policy(harness):
    h, f = harness, harness.feed
    strict, lenient = f.shop(late="while_open"), f.shop(late="always")
    daily = {shop: [f.cycle(shop, START + days(d) + hours(1), START + days(d) + hours(10), f"Day {d}")
                    for d in range(7)] for shop in (strict, lenient)}
    still_open = f.cycle(strict, START + days(1) + hours(1), START + days(9), "Long")
    subs = {}
    for shop in (strict, lenient):
        schedule = f.schedule(shop, daily[shop] + ([still_open] if shop == strict else []))
        subs[shop] = {f.subscription(shop, schedule, START - days(1)) for _ in range(2)}
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    api = h.api()
    back = START + days(7) + hours(2)

    api.set_clock(back)  # a week passes with no ticker running
    assert h.outbox() == []
    port = free_port()
    h.start("ticker", WORKER_HTTP_PORT=port)
    wait_for(lambda: len(h.outbox("OrderCycleClosed")) == 14 and len(h.outbox("OrderCycleOpened")) == 15, 60,
             "the ticker to catch up a week")

    boundaries = h.outbox("OrderCycleOpened", "OrderCycleClosed")
    instants = [e.payload["boundary_at"] for e in boundaries]
    assert instants == sorted(instants), "caught up in time order"
    for e in boundaries:
        assert e.occurred_at == back
        assert e.payload["lateness_seconds"] == (back - e.payload["boundary_at"]).total_seconds()
    opened = {e.aggregate_id: e for e in h.outbox("OrderCycleOpened")}
    assert {c: opened[c].payload["due_count"] for c in daily[strict]} == dict.fromkeys(daily[strict], 0)
    assert {c: opened[c].payload["due_count"] for c in daily[lenient]} == dict.fromkeys(daily[lenient], 2)
    assert opened[still_open].payload["due_count"] == 2
    assert not [e for e in h.outbox("OrderCycleClosed") if e.aggregate_id == still_open]

    for due in h.dues():
        late = due.payload["order_cycle_id"] != still_open
        assert due.payload["reason"] == "cycle_opened" and due.payload["late"] is late
        assert due.payload["lateness_seconds"] == (back - due.payload["due_at"]).total_seconds()
    assert {d.payload["subscription_id"] for d in h.dues(order_cycle_id=still_open)} == subs[strict]
    assert len(h.dues()) == 2 * 7 + 2
    skipped = dict(rows(h.dsn, "SELECT order_cycle_id, late_skipped FROM boundary_runs WHERE kind = 'open'"))
    assert {c: skipped[c] for c in daily[strict]} == dict.fromkeys(daily[strict], 2)

    # the strict shop's dues of the cycles over are not placed, and each says so: nothing lost in silence
    missed = h.outbox("OrderDueMissed")
    assert sorted((m.payload["order_cycle_id"], m.payload["subscription_id"]) for m in missed) == sorted(
        (c, s) for c in daily[strict] for s in subs[strict])
    for m in missed:
        key = f"{m.payload['subscription_id']}:{m.payload['order_cycle_id']}"
        assert (m.aggregate_id, m.aggregate_version) == (key, 1)
        assert (m.payload["due_reason"], m.payload["reason"], m.payload["late_placement"]) == (
            "cycle_opened", "open_processed_after_close", "while_open")
        assert m.payload["lateness_seconds"] == (back - m.payload["due_at"]).total_seconds()
    assert {c: opened[c].payload["missed_count"] for c in daily[strict]} == dict.fromkeys(daily[strict], 2)
    assert {c: opened[c].payload["missed_count"] for c in [*daily[lenient], still_open]} == dict.fromkeys(
        [*daily[lenient], still_open], 0)
    scraped = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'scheduler_order_due_missed_total{reason="open_processed_after_close"} 14.0' in scraped

    listed = api.get("/api/v1/boundaries?limit=200").get_json()["items"]
    assert len(listed) == 29 and max(b["lateness_seconds"] for b in listed) == (back - START - hours(1)).total_seconds()


def test_a_change_the_consumer_saw_late_follows_the_policy_once_the_cycle_has_closed(harness):
    h, f = harness, harness.feed
    strict, lenient = f.shop(late="while_open"), f.shop(late="always")
    schedules = {shop: f.schedule(shop, [f.cycle(shop, START + hours(1), START + days(1))])
                 for shop in (strict, lenient)}
    h.start("consumer")
    h.start("relay")
    h.start("ticker")
    h.wait_applied()
    api = h.api()
    api.advance(to=START + hours(2))
    h.stop("consumer")  # the consumer is down while subscriptions are created in the open cycle
    created = {shop: f.subscription(shop, schedules[shop], START - days(1)) for shop in (strict, lenient)}
    f.flush()
    api.advance(to=START + days(1) + hours(1))  # the cycles close meanwhile
    assert len(h.outbox("OrderCycleClosed")) == 2 and h.dues() == []

    h.start("consumer")
    h.wait_applied()
    [missed] = h.outbox("OrderDueMissed")
    assert missed.payload["subscription_id"] == created[strict]
    assert (missed.payload["due_reason"], missed.payload["reason"], missed.payload["due_at"]) == (
        "subscription_created", "change_processed_after_close", START + hours(2))

    [late] = h.dues()
    assert late.payload["subscription_id"] == created[lenient]
    assert (late.payload["reason"], late.payload["late"], late.payload["due_at"]) == \
        ("subscription_created", True, START + hours(2))
    assert late.payload["lateness_seconds"] == (days(1) - hours(1)).total_seconds()
