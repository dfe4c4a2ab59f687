"""The cut-off reminder: OrderCycleClosingSoon, once per cycle, N hours before its close, on the test clock,
whatever kills the ticker; only for shops that ask for it."""

from collections import Counter

import pytest
from scheduler_harness import START, days, hours, minutes

from devstack.testing import wait_for
from shared_events.contracts.scheduler import closing_soon_id

pytestmark = pytest.mark.integration


def test_a_cut_off_reminder_fires_once_its_hours_before_the_close_even_when_the_ticker_is_killed_at_it(
        harness, tmp_path):
    h, f = harness, harness.feed
    reminded, silent, changed = f.shop(), f.shop(), f.shop()
    f.update_shop(reminded, order_reminder_hours_before_close=24)
    f.update_shop(changed, order_reminder_hours_before_close=6)
    closes_at = START + days(3)
    cycles = {shop: f.cycle(shop, START + hours(1), closes_at) for shop in (reminded, silent, changed)}
    for shop, cycle in cycles.items():
        f.subscription(shop, f.schedule(shop, [cycle]), START)
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    api = h.api()
    api.set_clock(START)
    api.advance(to=START + hours(2))  # the three cycles open
    f.update_shop(changed, order_reminder_hours_before_close=48)  # after the open: applies to its open cycle
    h.wait_applied()

    advanced = api.advance(to=closes_at - hours(48) + minutes(1))
    assert [(b["kind"], b["order_cycle_id"]) for b in advanced["boundaries"]] == [("reminder", cycles[changed])]

    once = tmp_path / "ticker-crashed"
    fault = {"SCHEDULER_FAULT": "crash_before_commit", "SCHEDULER_FAULT_ONCE_FILE": once}
    crashing = h.start("ticker", **fault)
    api.set_clock(closes_at - hours(24) + minutes(5))  # a jump: the ticker is the one to emit it
    assert crashing.wait(timeout=60) == 137, h.log("ticker").read_text()[-3000:]
    assert once.exists()
    assert [e.payload["order_cycle_id"] for e in h.outbox("OrderCycleClosingSoon")] == [cycles[changed]]
    h.procs.pop("ticker")
    h.start("ticker", **fault)  # restarted: the fault fires once only
    wait_for(lambda: len(h.outbox("OrderCycleClosingSoon")) == 2, 60, "the restarted ticker to emit the reminder")
    api.advance(to=closes_at + hours(1))
    h.wait_published()

    kafka = h.kafka_events()
    reminders = {e.payload["order_cycle_id"]: e for e in kafka if e.event_type == "OrderCycleClosingSoon"}
    assert Counter(e.event_type for e in kafka)["OrderCycleClosingSoon"] == 2
    assert set(reminders) == {cycles[reminded], cycles[changed]}  # the shop that asks for none gets none
    ours = reminders[cycles[reminded]]
    assert ours.aggregate_id == closing_soon_id(cycles[reminded]) and ours.aggregate_version == 1
    assert ours.payload["boundary_at"] == closes_at - hours(24) and ours.payload["hours_before_close"] == 24
    assert 290 <= ours.payload["lateness_seconds"] <= 310  # caught up five minutes late, not skipped
    assert reminders[cycles[changed]].payload["boundary_at"] == closes_at - hours(48)
    assert Counter(e.event_type for e in kafka)["OrderCycleClosed"] == 3
    boundaries = h.api().get(f"/api/v1/shops/{reminded}/boundaries")
    assert "reminder" in {b["kind"] for b in boundaries.get_json()["items"]}
