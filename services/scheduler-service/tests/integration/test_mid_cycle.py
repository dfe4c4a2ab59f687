"""A subscription that becomes due while its cycle is open gets its OrderDue at once, from the consumer."""

import time

import pytest
from scheduler_harness import START, days, hours, minutes, new_id

from devstack.testing import wait_for

pytestmark = pytest.mark.integration

OPENS, CLOSES = START + hours(1), START + days(3)


@pytest.fixture
def cycle_setup(harness):
    """A shop with one schedule of one cycle, the scheduler running; ``open_it()`` advances into the cycle."""
    h, f = harness, harness.feed
    shop = f.shop()
    cycle = f.cycle(shop, OPENS, CLOSES)
    schedule = f.schedule(shop, [cycle])
    h.start_all()

    def open_it(due_count=0):
        h.wait_applied()
        h.api().advance(to=OPENS + hours(2))
        assert [e.payload["due_count"] for e in h.outbox("OrderCycleOpened")] == [due_count]

    return h, f, shop, cycle, schedule, open_it


@pytest.fixture
def open_cycle(cycle_setup):
    """The same, with the cycle opened (no subscription yet) and the clock inside it."""
    *scenario, open_it = cycle_setup
    open_it()
    return scenario


def wait_due(h, sub, reason):
    started = time.monotonic()
    [due] = wait_for(lambda: h.dues(subscription_id=sub), 30, f"the {reason} OrderDue")
    print(f"{reason}: OrderDue in the outbox {time.monotonic() - started:.3f}s after the event was published")
    assert due.payload["reason"] == reason and due.payload["late"] is False
    return due


def test_a_subscription_created_mid_cycle_is_due_at_once_from_its_creation(open_cycle):
    h, f, shop, cycle, schedule = open_cycle
    sub = f.subscription(shop, schedule, START - days(1))
    f.flush()
    due = wait_due(h, sub, "subscription_created")
    assert due.payload["due_at"] == OPENS + hours(2) and due.payload["lateness_seconds"] == 0.0
    assert due.aggregate_id == f"{sub}:{cycle}"


def test_unpausing_mid_cycle_makes_the_subscription_due_once(cycle_setup):
    h, f, shop, _cycle, schedule, open_it = cycle_setup
    sub = f.subscription(shop, schedule, START - days(1))
    f.pause(sub, shop)
    open_it()
    assert h.dues(subscription_id=sub) == []
    f.unpause(sub, shop)
    f.flush()
    wait_due(h, sub, "subscription_unpaused")
    f.pause(sub, shop)
    f.unpause(sub, shop)  # a second unpause in the same cycle: already due, nothing new
    h.wait_applied()
    assert len(h.dues(subscription_id=sub)) == 1


def test_resuming_a_skipped_occurrence_mid_cycle_makes_it_due(cycle_setup):
    h, f, shop, cycle, schedule, open_it = cycle_setup
    sub = f.subscription(shop, schedule, START - days(1))
    f.skip(sub, shop, cycle)
    open_it()
    assert h.dues(subscription_id=sub) == []
    f.resume(sub, shop, cycle)
    f.flush()
    wait_due(h, sub, "occurrence_resumed")


def test_a_cycle_added_to_a_schedule_while_open_makes_its_subscriptions_due(open_cycle):
    h, f, shop, cycle, _schedule = open_cycle
    other = f.schedule(shop, [f.cycle(shop, START + days(7), START + days(9))])
    subs = [f.subscription(shop, other, START - days(1)) for _ in range(3)]
    h.wait_applied()
    assert h.dues() == []
    f.change_schedule(other, shop, add=[cycle])
    f.flush()
    wait_for(lambda: len(h.dues(order_cycle_id=cycle)) == 3, 30, "the cycle_added dues")
    assert {d.payload["reason"] for d in h.dues()} == {"cycle_added"}
    assert {d.payload["subscription_id"] for d in h.dues()} == set(subs)


def test_a_subscription_whose_end_is_extended_into_the_open_cycle_becomes_due(cycle_setup):
    h, f, shop, _cycle, schedule, open_it = cycle_setup
    sub = f.subscription(shop, schedule, START - days(10), ends_at=CLOSES - hours(1))
    open_it()
    assert h.dues() == []
    f.update_subscription(sub, shop, ends_at=CLOSES)
    f.flush()
    wait_due(h, sub, "subscription_updated")


def test_a_subscription_seen_before_its_schedule_is_due_when_the_schedule_arrives(open_cycle):
    h, f, shop, cycle, _schedule = open_cycle
    late_schedule = new_id()
    sub = f.subscription(shop, late_schedule, START - days(1))  # the schedule's events come later
    h.wait_applied()
    assert h.dues() == []
    f.versions[late_schedule] = 0
    f.schedules[late_schedule] = [cycle]
    f.emit("ScheduleCreated", late_schedule, {"schedule_id": late_schedule, "shop_id": shop, "name": "Late",
                                              "order_cycle_ids": [cycle], "actor": None, "reason": None}, shop)
    f.flush()
    wait_due(h, sub, "cycle_added")


def test_an_upcoming_cycle_moved_so_that_it_is_open_now_opens_at_once(open_cycle):
    h, f, shop, _cycle, schedule = open_cycle
    upcoming = f.cycle(shop, START + days(7), START + days(9))
    f.change_schedule(schedule, shop, add=[upcoming])
    sub = f.subscription(shop, schedule, START - days(1))
    wait_due(h, sub, "subscription_created")  # for the cycle already open
    moved = f.move_cycle(upcoming, opens_at=START, closes_at=START + days(5))  # open since START: opens now
    f.flush()
    opened = wait_for(lambda: h.outbox("OrderCycleOpened")[1:], 30, "the moved cycle to open")[0]
    assert opened.aggregate_id == upcoming and opened.payload["due_count"] == 1
    assert opened.payload["boundary_at"] == moved.occurred_at and opened.payload["lateness_seconds"] == 0.0
    [due] = h.dues(order_cycle_id=upcoming)
    assert due.payload["reason"] == "cycle_opened" and due.payload["opens_at"] == START


def test_changes_after_the_close_make_nothing_due(cycle_setup):
    h, f, shop, _cycle, schedule, open_it = cycle_setup
    sub = f.subscription(shop, schedule, START - days(1))
    f.pause(sub, shop)
    open_it()
    h.api().advance(to=CLOSES + minutes(1))
    f.unpause(sub, shop)
    f.subscription(shop, schedule, START - days(1))
    h.wait_applied()
    assert h.dues() == []
    assert [e.event_type for e in h.outbox()] == ["OrderCycleOpened", "OrderCycleClosed"]
