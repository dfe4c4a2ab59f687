"""The scheduler's pure rules: range, due, fire times, placement, lateness (no I/O)."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler_service.domain.model import OrderCycle, ShopPolicy, Subscription
from scheduler_service.domain.rules import (
    changed_while_open,
    fire_times,
    in_range,
    is_due,
    lateness_seconds,
    placement,
    reminder_fires_at,
)

T0 = datetime(2026, 3, 31, 7, 0, tzinfo=UTC)
CLOSE = T0 + timedelta(days=3)
CYCLE = OrderCycle("oc", "shop", T0, CLOSE)
SHOP = ShopPolicy("shop")


def sub(**kw):
    base = dict(subscription_id="s", shop_id="shop", customer_id="c", schedule_id="sch",
                begins_at=T0 - timedelta(days=7), ends_at=None, paused=False, cancelled=False)
    return Subscription(**{**base, **kw})


def test_range_includes_a_close_exactly_at_begins_at_and_exactly_at_ends_at():
    assert in_range(CLOSE, CLOSE, None)
    assert in_range(CLOSE, CLOSE - timedelta(days=1), CLOSE)
    assert not in_range(CLOSE, CLOSE + timedelta(seconds=1), None)
    assert not in_range(CLOSE, T0, CLOSE - timedelta(seconds=1))


def test_begins_at_after_the_open_still_counts_because_only_the_close_matters():
    assert in_range(CLOSE, T0 + timedelta(days=1), None)


def test_ends_at_inside_a_cycle_gives_no_order_for_that_cycle():
    # reference: ends 10/01, cycle 9/01-11/01 -> no order
    assert not in_range(CLOSE, T0 - timedelta(days=30), T0 + timedelta(days=1))


def test_a_subscription_without_begins_at_is_never_in_range():
    assert not in_range(CLOSE, None, None)


@pytest.mark.parametrize("change,skipped,shop,expected", [
    ({}, False, SHOP, True),
    ({"paused": True}, False, SHOP, False),
    ({"cancelled": True}, False, SHOP, False),
    ({}, True, SHOP, False),
    ({}, False, ShopPolicy("shop", subscriptions_enabled=False), False),
    ({"ends_at": T0}, False, SHOP, False),
    ({"begins_at": CLOSE + timedelta(minutes=1)}, False, SHOP, False),
])
def test_due_needs_range_not_paused_not_cancelled_not_skipped_and_the_kill_switch_on(change, skipped, shop, expected):
    assert is_due(sub(**change), CYCLE, shop, skipped) is expected


def test_a_cycle_fires_its_open_and_close_at_its_own_times_when_defined_before():
    assert fire_times(T0, CLOSE, T0 - timedelta(days=7)) == (T0, CLOSE)


def test_a_cycle_created_already_open_opens_when_it_was_created():
    created = T0 + timedelta(hours=5)
    assert fire_times(T0, CLOSE, created) == (created, CLOSE)


def test_a_cycle_whose_window_was_over_when_defined_never_opens():
    assert fire_times(T0, CLOSE, CLOSE)[0] is None
    assert fire_times(T0, CLOSE, CLOSE + timedelta(days=1))[0] is None


def test_an_opened_cycle_moved_to_close_in_the_past_closes_when_it_was_moved():
    moved = CLOSE + timedelta(hours=1)
    assert fire_times(T0, CLOSE, moved)[1] == moved


def test_an_empty_or_inverted_window_never_opens():
    assert fire_times(T0, T0, T0 - timedelta(days=1))[0] is None
    assert fire_times(CLOSE, T0, T0 - timedelta(days=1))[0] is None


def test_placement_is_on_time_while_the_cycle_is_open():
    assert placement(T0 + timedelta(hours=1), CYCLE, SHOP) is False


def test_placement_after_the_close_is_late_only_when_the_shop_places_always():
    after = CLOSE + timedelta(hours=1)
    assert placement(after, CYCLE, SHOP) is None
    assert placement(after, CYCLE, ShopPolicy("shop", late_placement="always")) is True
    assert placement(CLOSE, CYCLE, SHOP) is None  # the close instant is already closed


def test_placement_counts_a_cycle_the_scheduler_closed_as_closed_even_before_its_close_time():
    assert placement(T0 + timedelta(hours=1), CYCLE, SHOP, closed_at=T0 + timedelta(minutes=30)) is None


def test_lateness_is_real_elapsed_seconds_and_never_negative():
    assert lateness_seconds(T0 + timedelta(seconds=90), T0) == 90.0
    assert lateness_seconds(T0, T0 + timedelta(seconds=5)) == 0.0


def test_lateness_across_a_dst_change_counts_real_seconds_not_wall_clock_hours():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 3, 28, 12, 0, tzinfo=paris)  # Saturday, UTC+1
    after = datetime(2026, 3, 29, 12, 0, tzinfo=paris)  # Sunday, UTC+2: one wall day, 23 real hours
    assert lateness_seconds(after.astimezone(UTC), before.astimezone(UTC)) == 23 * 3600


def test_a_change_counts_only_if_it_happened_before_the_cycle_closed():
    assert changed_while_open(T0 + timedelta(hours=1), CYCLE, None)
    assert not changed_while_open(CLOSE, CYCLE, None)
    assert not changed_while_open(T0 + timedelta(hours=2), CYCLE, T0 + timedelta(hours=1))


def test_the_cut_off_reminder_fires_its_hours_before_the_close_only_after_the_open_and_only_when_asked_for():
    assert reminder_fires_at(T0, CLOSE, 24) == CLOSE - timedelta(hours=24)
    assert reminder_fires_at(T0, CLOSE, None) is None  # off by default
    assert reminder_fires_at(T0, CLOSE, 72) is None  # the open itself: the placement email already says it
    assert reminder_fires_at(T0, CLOSE, 80) is None
    assert reminder_fires_at(T0, CLOSE, 71) == T0 + timedelta(hours=1)
