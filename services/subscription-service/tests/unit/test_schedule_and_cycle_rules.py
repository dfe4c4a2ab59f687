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
