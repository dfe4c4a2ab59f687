"""The events the scheduler decides on match the published contract exactly (strict encode, no I/O), each under
its own exactly-once key."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler_service.domain import events
from scheduler_service.domain.model import Boundary, Due, Missed, OrderCycle, PauseEnd, Subscription
from scheduler_service.domain.timezones import to_local
from shared_events import Envelope, decode, encode
from shared_events.decided import Decided, keyed_envelopes

T0 = datetime(2026, 3, 31, 7, 0, tzinfo=UTC)
CYCLE = OrderCycle("oc-1", "shop-1", T0, T0 + timedelta(days=3))
SUB = Subscription("sub-1", "shop-1", "cust-1", "sch-1", T0, None, False, False)


def _stamped(decided: Decided) -> Envelope:
    [env] = keyed_envelopes([decided], events.key, producer="scheduler-service", occurred_at=T0)
    return env


def test_an_order_due_is_keyed_by_its_occurrence_at_version_one_and_valid():
    env = _stamped(events.order_due(Due(SUB, CYCLE, T0, "cycle_opened", False), T0 + timedelta(seconds=2)))
    back = decode(encode(env))
    assert (back.event_type, back.aggregate_id, back.aggregate_version) == ("OrderDue", "sub-1:oc-1", 1)
    assert back.payload["lateness_seconds"] == 2.0 and back.payload["late"] is False
    assert back.payload["schedule_id"] == "sch-1" and back.shop_id == "shop-1"


def test_a_missed_due_is_the_other_outcome_of_the_occurrence_at_version_one_with_its_reasons():
    missed = Missed(SUB, CYCLE, T0, "cycle_opened", "open_processed_after_close")
    back = decode(encode(_stamped(events.order_due_missed(missed, CYCLE.closes_at + timedelta(hours=1)))))
    assert (back.event_type, back.aggregate_id, back.aggregate_version) == ("OrderDueMissed", "sub-1:oc-1", 1)
    assert (back.payload["due_reason"], back.payload["reason"], back.payload["late_placement"]) == (
        "cycle_opened", "open_processed_after_close", "while_open")
    assert back.payload["lateness_seconds"] == (timedelta(days=3, hours=1)).total_seconds()


def test_a_cycle_opened_tells_how_many_dues_were_missed():
    assert decode(encode(_stamped(events.cycle_opened(CYCLE, T0, CYCLE.closes_at, 0, missed_count=3)))).payload[
        "missed_count"] == 3


def test_a_cycle_opens_as_version_one_and_closes_as_version_two_of_the_cycle():
    opened = _stamped(events.cycle_opened(CYCLE, T0, T0, 7))
    closed = _stamped(events.cycle_closed(CYCLE, CYCLE.closes_at, CYCLE.closes_at + timedelta(hours=1)))
    assert (opened.aggregate_id, opened.aggregate_version) == ("oc-1", 1)
    assert decode(encode(opened)).payload["due_count"] == 7
    assert (closed.aggregate_id, closed.aggregate_version) == ("oc-1", 2)
    assert decode(encode(closed)).payload["lateness_seconds"] == 3600.0


def test_a_reminder_and_a_pause_end_have_keys_of_their_own_and_nothing_else_is_decided_here():
    reminder = _stamped(events.cycle_closing_soon(CYCLE, T0, T0, 24))
    assert (reminder.aggregate_id, reminder.aggregate_version, reminder.shop_id) == ("oc-1:closing-soon", 1, "shop-1")
    end = _stamped(events.pause_ended(PauseEnd("sub-1", "shop-1", 4, T0), T0))
    assert (end.event_type, end.aggregate_version) == ("PauseEnded", 1) and ":pause:4" in end.aggregate_id
    assert decode(encode(end)).payload["paused_version"] == 4
    with pytest.raises(ValueError, match="SubscriptionCreated"):
        events.key(Decided("SubscriptionCreated", {}))


def test_a_close_sorts_before_an_open_at_the_same_instant():
    a = Boundary("a", "s", "open", T0)
    b = Boundary("b", "s", "close", T0)
    c = Boundary("c", "s", "open", T0 - timedelta(seconds=1))
    assert sorted([a, b, c], key=Boundary.sort_key) == [c, b, a]


def test_local_times_follow_the_shops_dst_offset():
    assert to_local(datetime(2026, 3, 27, 8, 0, tzinfo=UTC), "Europe/Paris").isoformat() == "2026-03-27T09:00:00+01:00"
    assert to_local(datetime(2026, 3, 31, 7, 0, tzinfo=UTC), "Europe/Paris").isoformat() == "2026-03-31T09:00:00+02:00"
    assert to_local(datetime(2026, 4, 2, 22, 0, tzinfo=UTC), "Australia/Melbourne").isoformat() == \
        "2026-04-03T09:00:00+11:00"
    assert to_local(datetime(2026, 4, 6, 23, 0, tzinfo=UTC), "Australia/Melbourne").isoformat() == \
        "2026-04-07T09:00:00+10:00"
    assert to_local(T0, "Not/AZone").utcoffset() == timedelta(0)


def test_a_subscription_update_changing_only_its_end_encodes_and_decodes_as_the_scheduler_reads_it():
    # regression: the shared encoder used to dump dict.items for a partial SubscriptionTerms without "items"
    from shared_events import new_envelope
    from shared_events.examples import EXAMPLES

    payload = dict(EXAMPLES["SubscriptionUpdated"], changes={"ends_at": T0}, previous={"ends_at": None})
    env = new_envelope("SubscriptionUpdated", "sub-1", 2, payload, producer="subscription-service",
                       shop_id="shop-1", occurred_at=T0)
    back = decode(encode(env))
    assert back.payload["changes"] == {"ends_at": T0} and back.payload["previous"] == {"ends_at": None}
