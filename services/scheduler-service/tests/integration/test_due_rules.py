"""Who gets an OrderDue at a cycle's open: range, pause, cancel, skip, kill switch, membership, moves."""

import pytest
from scheduler_harness import START, days, hours

pytestmark = pytest.mark.integration


def subs_of(dues):
    return {d.payload["subscription_id"] for d in dues}


def test_skipped_paused_cancelled_and_out_of_range_subscriptions_get_nothing_at_open(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    opens, closes = START + hours(2), START + days(2)
    cycle = f.cycle(shop, opens, closes)
    later = f.cycle(shop, START + days(7), START + days(9))
    schedule = f.schedule(shop, [cycle, later])
    sub = lambda **kw: f.subscription(shop, schedule, kw.pop("begins_at", START - days(30)), **kw)  # noqa: E731
    due = {"plain": sub(), "ends_at_close": sub(ends_at=closes), "begins_at_close": sub(begins_at=closes),
           "begins_mid_cycle": sub(begins_at=opens + hours(5)), "skipped_other": sub()}
    not_due = {"paused": sub(), "skipped": sub(), "cancelled": sub(),
               "ends_before_close": sub(ends_at=closes - hours(1)),
               "begins_after_close": sub(begins_at=closes + hours(1)), "ended_long_ago": sub(ends_at=START - days(1))}
    f.pause(not_due["paused"], shop)
    f.skip(not_due["skipped"], shop, cycle)
    f.cancel(not_due["cancelled"], shop)
    f.skip(due["skipped_other"], shop, later)
    h.start_all()
    h.wait_applied()
    api = h.api()

    api.advance(to=opens)

    assert subs_of(h.dues(order_cycle_id=cycle)) == set(due.values())
    [opened] = h.outbox("OrderCycleOpened")
    assert opened.payload["due_count"] == len(due)

    api.advance(to=START + days(7))  # the next cycle: the skip was for the first one only
    assert subs_of(h.dues(order_cycle_id=later)) == {due["plain"], due["begins_at_close"], due["begins_mid_cycle"],
                                                      not_due["skipped"], not_due["begins_after_close"]}
    assert not_due["paused"] not in subs_of(h.dues()) and not_due["cancelled"] not in subs_of(h.dues())


def test_the_kill_switch_stops_dues_and_turning_it_back_on_mid_cycle_places_the_open_cycles_orders(harness):
    h, f = harness, harness.feed
    shop = f.shop(enabled=False)
    other_shop = f.shop()
    opens, closes = START + hours(1), START + days(2)
    cycle = f.cycle(shop, opens, closes)
    other_cycle = f.cycle(other_shop, opens, closes)
    subs = [f.subscription(shop, f.schedule(shop, [cycle]), START) for _ in range(3)]
    other = f.subscription(other_shop, f.schedule(other_shop, [other_cycle]), START)
    h.start_all()
    h.wait_applied()
    api = h.api()

    api.advance(to=opens + hours(1))

    assert h.dues(order_cycle_id=cycle) == []
    assert {e.aggregate_id: e.payload["due_count"] for e in h.outbox("OrderCycleOpened")} == {cycle: 0, other_cycle: 1}
    assert subs_of(h.dues()) == {other}

    enabled = f.update_shop(shop, subscriptions_enabled=True)
    h.wait_applied()

    dues = h.dues(order_cycle_id=cycle)
    assert subs_of(dues) == set(subs)
    assert {(d.payload["reason"], d.payload["due_at"], d.payload["late"]) for d in dues} == \
        {("subscriptions_enabled", enabled.occurred_at, False)}
    assert {d.causation_id for d in dues} == {enabled.event_id}

    f.update_shop(shop, subscriptions_enabled=False)  # off again: what was emitted stays, nothing new
    f.update_shop(shop, subscriptions_enabled=True)  # and on again: already emitted, nothing new
    h.wait_applied()
    assert len(h.dues(order_cycle_id=cycle)) == 3


def test_a_cycle_in_two_schedules_gives_one_due_per_subscription_and_a_removed_cycle_gives_none(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    shared = f.cycle(shop, START + hours(1), START + days(2))
    removed = f.cycle(shop, START + hours(1), START + days(2))
    weekly = f.schedule(shop, [shared, removed])
    fortnightly = f.schedule(shop, [shared])
    a, b = f.subscription(shop, weekly, START), f.subscription(shop, fortnightly, START)
    f.change_schedule(weekly, shop, remove=[removed])
    h.start_all()
    h.wait_applied()

    h.api().advance(to=START + hours(2))

    assert sorted(d.aggregate_id for d in h.dues()) == sorted([f"{a}:{shared}", f"{b}:{shared}"])
    assert {e.aggregate_id: e.payload["due_count"] for e in h.outbox("OrderCycleOpened")} == {shared: 2, removed: 0}


def test_a_moved_close_changes_what_is_due_and_emitted_dues_are_never_retracted(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    opens, closes = START + hours(1), START + days(2)
    cycle = f.cycle(shop, opens, closes)
    schedule = f.schedule(shop, [cycle])
    ends_soon = f.subscription(shop, schedule, START - days(10), ends_at=closes - hours(1))
    begins_late = f.subscription(shop, schedule, closes + hours(1))
    plain = f.subscription(shop, schedule, START - days(10))
    f.move_cycle(cycle, closes_at=closes - hours(2))  # before the open: ends_soon is now in range
    h.start_all()
    h.wait_applied()
    api = h.api()

    api.advance(to=opens)
    assert subs_of(h.dues()) == {ends_soon, plain}

    moved = f.move_cycle(cycle, closes_at=closes + days(1))  # while open: begins_late comes in range, ends_soon leaves
    h.wait_applied()

    assert subs_of(h.dues()) == {ends_soon, plain, begins_late}
    [late_one] = h.dues(subscription_id=begins_late)
    assert (late_one.payload["reason"], late_one.payload["due_at"]) == ("cycle_moved", moved.occurred_at)
    assert late_one.payload["closes_at"] == closes + days(1)
    assert len(h.outbox("OrderDue")) == 3  # ends_soon's due stays; nothing is ever retracted

    api.advance(to=closes + days(1))
    [closed] = h.outbox("OrderCycleClosed")
    assert closed.payload["boundary_at"] == closes + days(1)  # it closed at its new time, not the old one
