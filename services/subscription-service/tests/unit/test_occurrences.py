from datetime import timedelta

from subscription_service.domain import occurrences as occ
from subscription_service.domain.occurrences import OrderFact, PaymentFact
from subscription_service.domain.subscriptions import estimate

TOTALS = {"item_total": 3140, "shipping_fee": 500, "payment_fee": 85, "total": 3725}


def order(status, **kw):
    return OrderFact("ord-1", "R1", status, TOTALS, **kw)


def test_one_occurrence_per_cycle_closing_within_begins_and_ends_inclusive(world):
    cycles = world.cycles(5)
    sub = world.subscription(terms=world.terms(begins_at=cycles[1].closes_at, ends_at=cycles[3].closes_at))
    chosen = occ.occurrence_cycles(sub, cycles, [])
    assert [c.order_cycle_id for c in chosen] == ["oc-1", "oc-2", "oc-3"]


def test_a_cycle_closing_after_ends_at_gets_no_occurrence_even_if_it_opens_before(world):
    cycles = world.cycles(2)
    sub = world.subscription(terms=world.terms(ends_at=cycles[1].opens_at + timedelta(hours=1)))
    assert [c.order_cycle_id for c in occ.occurrence_cycles(sub, cycles, [])] == ["oc-0"]


def test_a_cycle_that_left_the_schedule_stays_when_it_has_an_order(world):
    cycles = world.cycles(3)
    sub = world.subscription()
    chosen = occ.occurrence_cycles(sub, cycles[:1], [cycles[2]])
    assert [c.order_cycle_id for c in chosen] == ["oc-0", "oc-2"]


def test_states_without_an_order(world):
    c = world.cycles(1, start=world.now - timedelta(days=1))[0]  # open now
    sub = world.subscription()
    now = world.now
    assert occ.occurrence_state(sub, c, None, None, False, now) == "pending"
    assert occ.occurrence_state(sub, c, None, None, True, now) == "due"
    assert occ.occurrence_state(world.subscription(paused_at=now), c, None, None, True, now) == "paused"
    assert occ.occurrence_state(world.subscription(skipped=frozenset({c.order_cycle_id})), c, None, None, True,
                                now) == "skipped"
    assert occ.occurrence_state(world.subscription(cancelled_at=now), c, None, None, False, now) == "cancelled"
    assert occ.occurrence_state(sub, c, None, None, False, c.closes_at) == "not_placed"


def test_a_closed_cycle_whose_due_was_missed_shows_missed_not_not_placed(world):
    c = world.cycles(1, start=world.now - timedelta(days=1))[0]
    sub, after = world.subscription(), c.closes_at
    missed = occ.MissedFact("open_processed_after_close", "cycle_opened", c.opens_at)
    assert occ.occurrence_state(sub, c, None, None, False, after) == "not_placed"
    assert occ.occurrence_state(sub, c, None, None, False, after, missed) == "missed"
    assert occ.occurrence_state(world.subscription(cancelled_at=after), c, None, None, False, after, missed) == "missed"
    assert occ.occurrence_state(sub, c, order("placed"), None, True, after, missed) == "placed"  # an order wins
    [built] = occ.build(sub, [c], {}, {}, set(), after, {c.order_cycle_id: missed})
    assert (built.state, built.missed, built.can_skip) == ("missed", missed, False)


def test_states_follow_the_order_and_its_payment(world):
    c = world.cycles(1)[0]
    sub, now = world.subscription(), world.now
    assert occ.occurrence_state(sub, c, order("placed"), None, True, now) == "placed"
    assert occ.occurrence_state(sub, c, order("empty"), None, True, now) == "empty"
    assert occ.occurrence_state(sub, c, order("cancelled"), None, True, now) == "cancelled"
    assert occ.occurrence_state(sub, c, order("confirmed"), None, True, now) == "confirmed"
    for status, expected in [("pending", "confirmed"), ("paid", "paid"), ("failed", "payment_failed"),
                             ("authorization_required", "authorization_required"), ("refunded", "refunded")]:
        payment = PaymentFact("pay-1", status)
        assert occ.occurrence_state(sub, c, order("confirmed"), payment, True, now) == expected


def test_a_skipped_occurrence_shows_skipped_while_its_order_is_being_cancelled(world):
    c = world.cycles(1)[0]
    sub = world.subscription(skipped=frozenset({c.order_cycle_id}))
    assert occ.occurrence_state(sub, c, order("placed"), None, True, world.now) == "skipped"
    assert occ.occurrence_state(sub, c, order("cancelled"), None, True, world.now) == "skipped"


def test_a_kept_order_of_a_paused_subscription_is_still_placed(world):
    c = world.cycles(1)[0]
    sub = world.subscription(paused_at=world.now)
    assert occ.occurrence_state(sub, c, order("placed"), None, True, world.now) == "placed"


def test_totals_are_the_orders_or_else_the_estimate_and_skip_flags_follow_the_close(world):
    cycles = world.cycles(2, start=world.now - timedelta(days=8))  # oc-0 closed, oc-1 open
    sub = world.subscription(terms=estimate(world.ctx(), world.terms()), skipped=frozenset({"oc-1"}))
    built = occ.build(sub, list(cycles), {"oc-0": order("confirmed")}, {}, set(), world.now)
    assert built[0].total == 3725 and not built[0].total_is_estimate
    assert built[1].total == sub.terms.estimated_total() and built[1].total_is_estimate
    assert (built[0].can_skip, built[0].can_resume) == (False, False)
    assert (built[1].can_skip, built[1].can_resume) == (False, True)


def test_unpausing_tells_about_open_cycles_and_orders_to_resume(world):
    cycles = world.cycles(2, start=world.now - timedelta(days=1))
    sub = world.subscription(paused_at=world.now)
    fresh = occ.build(sub, list(cycles), {}, {}, set(), world.now)
    assert occ.unpause_notices(fresh, world.now) == [
        "An order cycle of this subscription is open: an order will be placed for this customer now."]
    cancelled = occ.build(sub, list(cycles), {"oc-0": order("cancelled")}, {}, set(), world.now)
    assert occ.unpause_notices(cancelled, world.now) == [
        "Some orders for this subscription can be resumed right now: resume them from its occurrences."]
    assert occ.unpause_notices(fresh, cycles[0].closes_at) == []


def test_open_orders_are_placed_or_due_in_cycles_not_yet_closed(world):
    cycles = world.cycles(3, start=world.now - timedelta(days=1))
    sub = world.subscription(skipped=frozenset({"oc-2"}))
    built = occ.build(sub, list(cycles), {"oc-0": order("placed")}, {}, {"oc-1", "oc-2"}, world.now)
    assert occ.open_order_cycle_ids(built, world.now) == ["oc-0", "oc-1"]
    assert occ.open_order_cycle_ids(built, cycles[2].closes_at) == []
