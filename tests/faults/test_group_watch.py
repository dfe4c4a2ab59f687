"""The fault run's reading of a consumer group's looks (GroupWatch): rebalances counted, recovery after a kill
timed. Pure: the looks are made up."""

from __future__ import annotations

from fault_harness import GroupLook, GroupWatch, Kill

A, B, C = "member-a", "member-b", "member-c"


def watch(*looks: GroupLook) -> GroupWatch:
    w = GroupWatch("127.0.0.1:1", {"order-service": "g"}, {"order-service": 2}, clock=lambda: 0.0)
    w.looks["order-service"] = list(looks)
    return w


def look(at: float, state: str, *members: str, assigned: int | None = None) -> GroupLook:
    return GroupLook(at, state, frozenset(members), len(members) if assigned is None else assigned)


def test_a_kill_is_followed_by_a_takeover_then_the_restarted_member_joining_and_both_count_as_rebalances():
    w = watch(look(0, "STABLE", A, B), look(10, "PREPARING_REBALANCE", A, B), look(12, "STABLE", A),
              look(14, "UNKNOWN"), look(15, "STABLE", A, C))
    [r] = w.recovery("order-service", [Kill(2.0, "order-service.consumer-2", 1, "open")])
    assert (r.taken_over_s, r.whole_s) == (10.0, 13.0)
    assert w.rebalances("order-service") == 2
    assert w.whole("order-service")


def test_a_group_left_a_member_short_is_not_whole_and_its_recovery_is_not_seen():
    w = watch(look(0, "STABLE", A, B), look(12, "STABLE", A))
    [r] = w.recovery("order-service", [Kill(2.0, "order-service.consumer", 1, "close")])
    assert (r.taken_over_s, r.whole_s) == (10.0, None)
    assert not w.whole("order-service")


def test_a_member_without_partitions_leaves_the_group_not_whole():
    assert not watch(look(0, "STABLE", A, B, assigned=1)).whole("order-service")
