"""A pause until a date: the ticker emits PauseEnded at that instant, once, in time order with the cycles'
boundaries (the test clock stops there too), and a cycle opening at or after it counts the subscription as due."""

import pytest
from scheduler_harness import START, days, hours

from devstack.testing import wait_for

pytestmark = pytest.mark.integration


def subs_of(dues):
    return {d.payload["subscription_id"] for d in dues}


def test_a_pause_until_a_date_ends_at_that_instant_once_in_time_order_and_the_next_open_counts_it_due(harness):
    h, f = harness, harness.feed
    shop = f.shop()
    first = f.cycle(shop, START + hours(2), START + days(2))
    second = f.cycle(shop, START + days(7), START + days(9))
    schedule = f.schedule(shop, [first, second])
    sub = lambda: f.subscription(shop, schedule, START - days(30))  # noqa: E731
    until_midweek, until_the_open, for_good, changed_mind, active = sub(), sub(), sub(), sub(), sub()
    f.pause(until_midweek, shop, until=START + days(5))
    f.pause(until_the_open, shop, until=START + days(7))  # the same instant as the second open: it ends first
    f.pause(for_good, shop)
    f.pause(changed_mind, shop, until=START + days(5))
    f.unpause(changed_mind, shop)
    f.pause(changed_mind, shop)  # paused again, with no date: the first pause's end must not end this one
    h.start_all()
    h.wait_applied()
    api = h.api()

    api.advance(to=START + days(8))

    ended = h.outbox("PauseEnded")
    assert [(e.payload["subscription_id"], e.payload["resumes_at"], e.occurred_at) for e in ended] == [
        (until_midweek, START + days(5), START + days(5)), (until_the_open, START + days(7), START + days(7))]
    assert [e.aggregate_id for e in ended] == [f"{until_midweek}:pause:2", f"{until_the_open}:pause:2"]
    assert all(e.payload["lateness_seconds"] == 0 and e.payload["paused_version"] == 2 for e in ended)
    assert subs_of(h.dues(order_cycle_id=first)) == {active}
    assert subs_of(h.dues(order_cycle_id=second)) == {active, until_midweek, until_the_open}
    order = [(e.event_type, e.aggregate_id) for e in h.outbox("PauseEnded", "OrderCycleOpened")]
    assert order == [("OrderCycleOpened", first), ("PauseEnded", f"{until_midweek}:pause:2"),
                     ("PauseEnded", f"{until_the_open}:pause:2"), ("OrderCycleOpened", second)]

    h.stop("ticker")  # restarts and more time emit no pause end twice
    h.start("ticker")
    api.advance(to=START + days(20))
    assert len(h.outbox("PauseEnded")) == 2


def test_a_pause_end_missed_while_no_ticker_ran_is_caught_up_in_time_order_after_the_earlier_open(harness):
    h, f = harness, harness.feed
    shop = f.shop(late="always")
    first = f.cycle(shop, START + hours(2), START + days(2))
    second = f.cycle(shop, START + days(7), START + days(9))
    paused = f.subscription(shop, f.schedule(shop, [first, second]), START - days(30))
    f.pause(paused, shop, until=START + days(5))
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    api = h.api()
    api.set_clock(START + days(8))  # a jump: nothing emitted, as if the scheduler had been down

    h.start("ticker")

    wait_for(lambda: len(h.outbox("OrderCycleOpened")) == 2, 60, "the ticker to catch up")
    [ended] = h.outbox("PauseEnded")
    assert ended.payload["resumes_at"] == START + days(5) and ended.payload["lateness_seconds"] == 3 * 86400
    assert subs_of(h.dues(order_cycle_id=first)) == set()  # it opened while the subscription was paused
    assert subs_of(h.dues(order_cycle_id=second)) == {paused}
