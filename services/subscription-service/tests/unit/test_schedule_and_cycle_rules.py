from datetime import timedelta

import pytest

from subscription_service.domain import cycles, schedules
from subscription_service.domain.errors import Conflict, Invalid


def test_a_cycle_must_close_after_it_opens_and_in_the_future(world):
    now = world.now
    with pytest.raises(Invalid) as err:
        cycles.create_cycle("oc", "shop-1", "W1", now + timedelta(days=2), now + timedelta(days=1), world.by())
    assert "closes_at" in err.value.errors
    with pytest.raises(Invalid):
        cycles.create_cycle("oc", "shop-1", "W1", now - timedelta(days=2), now - timedelta(days=1), world.by())
    [event] = cycles.create_cycle("oc", "shop-1", " W1 ", now, now + timedelta(days=1), world.by())
    assert event.payload["name"] == "W1"


def test_a_closed_cycle_cannot_move(world):
    [c, *_] = world.cycles(start=world.now - timedelta(days=10))
    with pytest.raises(Conflict):
        cycles.move_cycle(c, world.by(), closes_at=world.now + timedelta(days=1))


def test_an_open_cycle_keeps_its_opening_but_its_close_may_move(world):
    [c, *_] = world.cycles(start=world.now - timedelta(days=1))
    assert c.status(world.now) == "open"
    with pytest.raises(Conflict):
        cycles.move_cycle(c, world.by(), opens_at=world.now + timedelta(hours=1))
    [event] = cycles.move_cycle(c, world.by(), closes_at=c.closes_at + timedelta(days=1))
    assert event.payload["previous_closes_at"] == c.closes_at
    assert event.payload["opens_at"] == c.opens_at


def test_moving_a_cycle_to_the_same_place_records_nothing(world):
    [c, *_] = world.cycles()
    assert cycles.move_cycle(c, world.by(), name=c.name, opens_at=c.opens_at) == []


def test_a_cycle_in_a_schedule_cannot_be_deleted(world):
    [c, *_] = world.cycles()
    with pytest.raises(Conflict) as err:
        cycles.delete_cycle(c, ["Weekly"], world.by())
    assert "linked to a schedule" in err.value.message
    assert cycles.delete_cycle(c, [], world.by())[0].event_type == "OrderCycleDeleted"


def test_a_schedule_needs_a_name_and_at_least_one_cycle_of_the_shop(world):
    with pytest.raises(Invalid) as err:
        schedules.create_schedule("s", "shop-1", " ", [], set(), world.by())
    assert set(err.value.errors) == {"name", "order_cycle_ids"}
    with pytest.raises(Invalid) as err:
        schedules.create_schedule("s", "shop-1", "W", ["oc-x"], {"oc-1"}, world.by())
    assert "oc-x" in err.value.errors["order_cycle_ids"][0]
    [event] = schedules.create_schedule("s", "shop-1", "W", ["oc-1", "oc-1", "oc-2"], {"oc-1", "oc-2"}, world.by())
    assert event.payload["order_cycle_ids"] == ["oc-1", "oc-2"]


def test_changing_cycles_lists_added_removed_and_the_full_set_after(world):
    s = world.schedule()
    [event] = schedules.change_cycles(s, world.by(), add=["oc-9"], remove=["oc-0"], known={"oc-9"})
    assert event.payload["added"] == ["oc-9"] and event.payload["removed"] == ["oc-0"]
    assert event.payload["order_cycle_ids"] == ["oc-1", "oc-2", "oc-3", "oc-9"]


def test_a_schedule_keeps_at_least_one_cycle_and_only_removes_its_own(world):
    s = world.schedule(world.cycles(1))
    with pytest.raises(Invalid):
        schedules.change_cycles(s, world.by(), remove=["oc-0"], known=set())
    with pytest.raises(Invalid):
        schedules.change_cycles(s, world.by(), remove=["oc-7"], known=set())
    assert schedules.change_cycles(s, world.by(), add=["oc-0"], known={"oc-0"}) == []


def test_a_schedule_referenced_by_any_subscription_cannot_be_deleted(world):
    with pytest.raises(Conflict):
        schedules.delete_schedule(world.schedule(), 1, world.by())
    assert schedules.delete_schedule(world.schedule(), 0, world.by())[0].event_type == "ScheduleDeleted"


def test_renaming_to_the_same_name_records_nothing(world):
    assert schedules.rename_schedule(world.schedule(), "Weekly", world.by()) == []
    with pytest.raises(Invalid):
        schedules.rename_schedule(world.schedule(), "", world.by())


def test_a_cycle_lies_between_the_years_2000_and_2200_whoever_makes_it(world):
    from datetime import UTC, datetime

    with pytest.raises(Invalid) as err:
        cycles.create_cycle("oc", "shop-1", "W", datetime(2457, 1, 1, tzinfo=UTC), datetime(2457, 1, 2, tzinfo=UTC),
                            world.by())
    assert set(err.value.errors) == {"opens_at", "closes_at"}
    with pytest.raises(Invalid) as err:
        cycles.create_cycle("oc", "shop-1", "W", world.now, datetime(2200, 1, 1, 0, 1, tzinfo=UTC), world.by())
    assert set(err.value.errors) == {"closes_at"}


def test_a_local_time_in_the_spring_gap_becomes_the_instant_one_gap_later_with_a_notice():
    from datetime import UTC, datetime

    at, notices = cycles.instants("Europe/Paris", opens_at=datetime(2027, 3, 28, 2, 30),
                                  closes_at=datetime(2027, 3, 29, 9, 0))
    assert at == {"opens_at": datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "closes_at": datetime(2027, 3, 29, 7, 0,
                                                                                                  tzinfo=UTC)}
    [n] = notices
    assert (n.field, n.kind, n.resolved.isoformat()) == ("opens_at", "moved_forward", "2027-03-28T03:30:00+02:00")
    assert "moved forward by 1:00" in n.message


def test_a_local_time_in_the_autumn_fold_is_the_first_of_the_two_with_a_notice():
    from datetime import UTC, datetime

    at, [n] = cycles.instants("Europe/Paris", opens_at=datetime(2027, 10, 30, 9, 0),
                              closes_at=datetime(2027, 10, 31, 2, 30))
    assert at["closes_at"] == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30+02:00, not 02:30+01:00
    assert (n.field, n.kind, n.resolved.isoformat()) == ("closes_at", "ambiguous_first", "2027-10-31T02:30:00+02:00")


def test_an_instant_with_an_offset_is_taken_as_it_is_without_a_notice():
    from datetime import UTC, datetime, timezone

    given = datetime(2027, 3, 28, 2, 30, tzinfo=timezone(timedelta(hours=1)))
    at, notices = cycles.instants("Europe/Paris", opens_at=given, closes_at=None)
    assert at == {"opens_at": datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "closes_at": None} and notices == []
