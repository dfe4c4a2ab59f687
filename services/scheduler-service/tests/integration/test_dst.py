"""Daylight-saving weeks in the shop's zone: cycles are stored in UTC and fire at those exact instants;
lateness is real elapsed time; operators read the boundaries in the shop's local time."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from scheduler_harness import days

from devstack.testing import wait_for
from servicekit.clock import init_test_clock

pytestmark = pytest.mark.integration

# (zone, the Thursday before the switch, UTC of that week's Thursday 09:00 and Monday 09:00 local, offsets)
SWITCHES = {
    "paris-spring-forward": ("Europe/Paris", datetime(2026, 3, 26), datetime(2026, 3, 26, 8, tzinfo=UTC),
                             datetime(2026, 3, 30, 7, tzinfo=UTC), ("+01:00", "+02:00")),
    "paris-fall-back": ("Europe/Paris", datetime(2026, 10, 22), datetime(2026, 10, 22, 7, tzinfo=UTC),
                        datetime(2026, 10, 26, 8, tzinfo=UTC), ("+02:00", "+01:00")),
    "melbourne-fall-back": ("Australia/Melbourne", datetime(2026, 4, 2), datetime(2026, 4, 1, 22, tzinfo=UTC),
                            datetime(2026, 4, 5, 23, tzinfo=UTC), ("+11:00", "+10:00")),
    "melbourne-spring-forward": ("Australia/Melbourne", datetime(2026, 10, 1), datetime(2026, 9, 30, 23, tzinfo=UTC),
                                 datetime(2026, 10, 4, 22, tzinfo=UTC), ("+10:00", "+11:00")),
}


def local(zone, day, hour, minute=0, fold=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_weekly_cycles_around_a_dst_switch_open_and_close_at_nine_local_every_week(harness, switch):
    zone, thursday, open_utc, close_utc, (before, after) = SWITCHES[switch]
    h, f = harness, harness.feed
    weeks = [thursday + timedelta(weeks=w) for w in (-1, 0, 1)]
    windows = [(local(zone, t, 9), local(zone, t + timedelta(days=4), 9)) for t in weeks]
    assert windows[1] == (open_utc, close_utc), "the test's own local->UTC conversion"
    assert close_utc - open_utc == days(4) + (timedelta(hours=-1) if before < after else timedelta(hours=1))
    init_test_clock(h.clock_dsn, windows[0][0] - days(1))
    shop = f.shop(timezone=zone)
    cycles = [f.cycle(shop, o, c) for o, c in windows]
    sub = f.subscription(shop, f.schedule(shop, cycles), windows[0][0] - days(30))
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    api = h.api()

    out = api.advance(to=windows[-1][1] + days(1))

    expected = sorted([(o, "open") for o, _ in windows] + [(c, "close") for _, c in windows])
    assert [(datetime.fromisoformat(b["boundary_at"]), b["kind"]) for b in out["boundaries"]] == expected
    for event in h.outbox("OrderCycleOpened", "OrderCycleClosed"):
        assert event.occurred_at == event.payload["boundary_at"] and event.payload["lateness_seconds"] == 0.0
    assert [d.payload["due_at"] for d in h.dues(subscription_id=sub)] == [o for o, _ in windows]
    listed = api.get("/api/v1/boundaries?limit=10").get_json()["items"]
    shown = [b["boundary_at_local"] for b in sorted(listed, key=lambda b: b["boundary_at"])]
    assert [s[10:] for s in shown] == [f"T09:00:00{before}"] * 3 + [f"T09:00:00{after}"] * 3


@pytest.mark.parametrize("zone,missed,back,real_hours", [
    ("Europe/Paris", (2026, 3, 28), (2026, 3, 29), 23),  # spring forward: a local day of 23 hours
    ("Europe/Paris", (2026, 10, 24), (2026, 10, 25), 25),  # fall back: 25 hours
    ("Australia/Melbourne", (2026, 4, 4), (2026, 4, 5), 25),
    ("Australia/Melbourne", (2026, 10, 3), (2026, 10, 4), 23),
])
def test_lateness_after_downtime_across_a_dst_switch_is_real_elapsed_time(harness, zone, missed, back, real_hours):
    h, f = harness, harness.feed
    opens = local(zone, datetime(*missed), 12)
    now = local(zone, datetime(*back), 12)  # the same wall-clock time one local day later
    init_test_clock(h.clock_dsn, opens - days(1))
    shop = f.shop(timezone=zone)
    cycle = f.cycle(shop, opens, opens + days(3))
    f.subscription(shop, f.schedule(shop, [cycle]), opens - days(7))
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    init_test_clock(h.clock_dsn, now)  # the scheduler was down across the switch
    h.start("ticker")

    [opened] = wait_for(lambda: h.outbox("OrderCycleOpened"), 30, "the missed open")

    assert opened.payload["boundary_at"] == opens
    assert opened.payload["lateness_seconds"] == real_hours * 3600
    [due] = h.dues()
    assert due.payload["lateness_seconds"] == real_hours * 3600 and due.payload["late"] is False


def test_cycles_closing_at_the_same_ambiguous_local_time_on_the_fall_back_night_close_an_hour_apart(harness):
    h, f = harness, harness.feed
    zone, night = "Europe/Paris", datetime(2026, 10, 25)
    first = local(zone, night, 2, 30, fold=0)  # 02:30 summer time = 00:30 UTC
    second = local(zone, night, 2, 30, fold=1)  # 02:30 winter time = 01:30 UTC
    assert second - first == timedelta(hours=1)
    init_test_clock(h.clock_dsn, first - days(2))
    shop = f.shop(timezone=zone)
    late_one = f.cycle(shop, first - days(1), second, "Winter time")
    early_one = f.cycle(shop, first - days(1), first, "Summer time")
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    api = h.api()

    api.advance(to=first + timedelta(minutes=30))
    assert [e.aggregate_id for e in h.outbox("OrderCycleClosed")] == [early_one]
    api.advance(to=second)
    closes = h.outbox("OrderCycleClosed")
    assert [(e.aggregate_id, e.payload["boundary_at"]) for e in closes] == [(early_one, first), (late_one, second)]
    listed = {b["order_cycle_id"]: b["boundary_at_local"]
              for b in api.get("/api/v1/boundaries").get_json()["items"] if b["kind"] == "close"}
    assert listed == {early_one: "2026-10-25T02:30:00+02:00", late_one: "2026-10-25T02:30:00+01:00"}
