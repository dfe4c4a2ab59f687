"""What an open and a mid-cycle change emit (no I/O)."""

from datetime import UTC, datetime, timedelta

from scheduler_service.domain.model import Candidate, OpenCycleCandidate, OrderCycle, ShopPolicy, Subscription
from scheduler_service.domain.planning import MidCyclePlan, plan_mid_cycle, plan_open

T0 = datetime(2026, 10, 20, 7, 0, tzinfo=UTC)
CLOSE = T0 + timedelta(days=3)
CYCLE = OrderCycle("oc", "shop", T0, CLOSE)


def sub(sid, **kw):
    base = dict(subscription_id=sid, shop_id="shop", customer_id=f"c-{sid}", schedule_id="sch",
                begins_at=T0 - timedelta(days=30), ends_at=None, paused=False, cancelled=False)
    return Subscription(**{**base, **kw})


def test_an_on_time_open_emits_one_due_per_active_subscription_in_candidate_order():
    cands = [Candidate(sub("a"), False), Candidate(sub("b", paused=True), False), Candidate(sub("c"), True),
             Candidate(sub("d"), False)]
    plan = plan_open(CYCLE, T0, cands, {}, T0)
    assert [d.subscription.subscription_id for d in plan.dues] == ["a", "d"]
    assert {d.reason for d in plan.dues} == {"cycle_opened"}
    assert all(d.due_at == T0 and d.late is False for d in plan.dues)
    assert plan.not_due == 2 and plan.missed == []


def test_a_shop_with_the_kill_switch_off_gets_nothing_at_open():
    off = {"shop": ShopPolicy("shop", subscriptions_enabled=False)}
    plan = plan_open(CYCLE, T0, [Candidate(sub("a"), False)], off, T0)
    assert plan.dues == [] and plan.not_due == 1


def test_a_missed_open_of_a_cycle_still_open_is_placed_on_time_reason_cycle_opened():
    plan = plan_open(CYCLE, T0, [Candidate(sub("a"), False)], {}, T0 + timedelta(days=1))
    assert [(d.late, d.due_at) for d in plan.dues] == [(False, T0)]


def test_a_missed_open_of_a_closed_cycle_is_late_for_always_and_a_told_miss_while_open():
    after = CLOSE + timedelta(days=2)
    cands = [Candidate(sub("a"), False), Candidate(sub("b"), False), Candidate(sub("c", paused=True), False)]
    strict = plan_open(CYCLE, T0, cands, {"shop": ShopPolicy("shop", late_placement="while_open")}, after)
    assert strict.dues == [] and strict.not_due == 1
    assert [(m.subscription.subscription_id, m.due_at, m.due_reason, m.reason) for m in strict.missed] == [
        (s, T0, "cycle_opened", "open_processed_after_close") for s in ("a", "b")]
    lenient = plan_open(CYCLE, T0, cands, {"shop": ShopPolicy("shop", late_placement="always")}, after)
    assert [d.late for d in lenient.dues] == [True, True] and lenient.missed == []


def mid(s, closed_at=None, skipped=False):
    return OpenCycleCandidate(s, skipped, CYCLE, T0, closed_at)


def test_a_subscription_created_mid_cycle_is_due_from_its_creation():
    created = T0 + timedelta(hours=4)
    dues = plan_mid_cycle([mid(sub("a"))], {}, created, created, "subscription_created").dues
    assert [(d.reason, d.due_at, d.late) for d in dues] == [("subscription_created", created, False)]


def test_a_change_seen_late_but_made_before_the_open_is_due_from_the_open():
    dues = plan_mid_cycle([mid(sub("a"))], {}, T0 + timedelta(hours=1), T0 - timedelta(hours=1),
                          "subscription_created").dues
    assert dues[0].due_at == T0


def test_a_mid_cycle_change_does_nothing_for_a_paused_skipped_or_disabled_subscription():
    at = T0 + timedelta(hours=1)
    assert plan_mid_cycle([mid(sub("a", paused=True)), mid(sub("b"), skipped=True)], {}, at, at,
                          "cycle_added") == MidCyclePlan()
    off = {"shop": ShopPolicy("shop", subscriptions_enabled=False)}
    assert plan_mid_cycle([mid(sub("a"))], off, at, at, "cycle_added") == MidCyclePlan()


def test_a_change_after_the_scheduler_closed_the_cycle_does_nothing():
    closed = CLOSE
    assert plan_mid_cycle([mid(sub("a"), closed_at=closed)], {"shop": ShopPolicy("shop", late_placement="always")},
                          closed + timedelta(hours=1), closed + timedelta(minutes=5),
                          "subscription_unpaused") == MidCyclePlan()


def test_a_change_made_while_open_but_seen_after_the_close_follows_the_late_placement_policy():
    changed, seen = CLOSE - timedelta(hours=1), CLOSE + timedelta(hours=2)
    strict = plan_mid_cycle([mid(sub("a"), closed_at=CLOSE)], {}, seen, changed, "subscription_created")
    assert strict.dues == []
    assert [(m.due_at, m.due_reason, m.reason) for m in strict.missed] == [
        (changed, "subscription_created", "change_processed_after_close")]
    lenient = plan_mid_cycle([mid(sub("a"), closed_at=CLOSE)], {"shop": ShopPolicy("shop", late_placement="always")},
                             seen, changed, "subscription_created")
    assert [d.late for d in lenient.dues] == [True] and lenient.missed == []
