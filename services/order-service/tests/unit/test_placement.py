"""Placing orders: lines, caps, empty orders, totals, stock (pure)."""

from dataclasses import replace
from datetime import timedelta

from order_unit_builders import FEES, NOW, due, terms, variant

from order_service.domain import placement
from order_service.domain.model import SYSTEM_ACTOR, Stock
from shared_events.money import order_totals


def catalog(*variants):
    return {v.variant_id: v for v in variants}


def test_lines_take_the_catalog_price_and_name_and_quantities_are_capped_to_stock():
    cat = catalog(variant("eggs", on_hand=2, price=320), variant("box", on_hand=None, price=2500))
    [order] = placement.plan([(due("s1"), terms("s1", [("box", 1), ("eggs", 3)]))], cat,
                             placement.stock_levels(cat), "first_come")
    assert [(ln.variant_id, ln.unit_price, ln.requested_quantity, ln.quantity) for ln in order.lines] == [
        ("box", 2500, 1, 1), ("eggs", 320, 3, 2)]
    assert order.capped and not order.empty


def test_first_come_serves_the_subscription_created_first_whatever_order_the_dues_come_in():
    cat = catalog(variant("eggs", on_hand=4))
    late = (due("a"), terms("a", [("eggs", 3)], created_at=NOW))
    early = (due("b"), terms("b", [("eggs", 3)], created_at=NOW - timedelta(days=30)))
    planned = placement.plan([late, early], cat, placement.stock_levels(cat), "first_come")
    assert [(o.terms.subscription_id, o.lines[0].quantity) for o in planned] == [("b", 3), ("a", 1)]


def test_fair_share_splits_scarce_stock_in_proportion():
    cat = catalog(variant("eggs", on_hand=6))
    requests = [(due(s), terms(s, [("eggs", q)], created_at=NOW + timedelta(minutes=i)))
                for i, (s, q) in enumerate([("a", 2), ("b", 4), ("c", 6)])]
    planned = placement.plan(requests, cat, placement.stock_levels(cat), "fair_share")
    assert [o.lines[0].quantity for o in planned] == [1, 2, 3]


def test_unavailable_deleted_and_unknown_variants_stay_on_the_order_at_zero():
    cat = catalog(variant("gone", on_hand=10, sellable=False), variant("eggs", on_hand=5))
    [order] = placement.plan([(due("s"), terms("s", [("gone", 2), ("ghost", 1), ("eggs", 1)]))], cat,
                             placement.stock_levels(cat), "first_come")
    assert [(ln.variant_id, ln.quantity, ln.requested_quantity) for ln in order.lines] == [
        ("gone", 0, 2), ("ghost", 0, 1), ("eggs", 1, 1)]


def test_an_order_with_nothing_available_is_empty_and_costs_nothing():
    cat = catalog(variant("eggs", on_hand=0))
    [order] = placement.plan([(due("s"), terms("s", [("eggs", 2)]))], cat, placement.stock_levels(cat), "first_come")
    payload = placement.placed_payload(order, order_id="o", number="R1", shop_id="shop", currency="EUR", fees=FEES,
                                       policy="first_come", late=False, actor=SYSTEM_ACTOR)
    assert payload["status"] == "empty"
    assert payload["totals"] == {"item_total": 0, "shipping_fee": 0, "payment_fee": 0, "shipping_tax": 0,
                                 "payment_tax": 0, "tax_total": 0, "total": 0}
    assert payload["stock_delta"] == []
    assert payload["lines"][0]["requested_quantity"] == 2 and payload["lines"][0]["quantity"] == 0
    assert placement.confirmation(payload["totals"]["total"], "empty") == (False, 0)


def test_the_placed_payload_uses_the_one_fee_rule_and_publishes_the_stock_it_takes():
    cat = catalog(variant("eggs", on_hand=10, price=320), variant("box", price=2500))
    stock = placement.stock_levels(cat)
    [order] = placement.plan([(due("s"), terms("s", [("box", 1), ("eggs", 2)]))], cat, stock, "first_come")
    payload = placement.placed_payload(order, order_id="o", number="R1", shop_id="shop", currency="EUR", fees=FEES,
                                       policy="first_come", late=False, actor=SYSTEM_ACTOR)
    assert payload["totals"] == order_totals(3140, (500, 0), (0, 150))
    assert payload["stock_delta"] == [{"variant_id": "box", "delta": 1}, {"variant_id": "eggs", "delta": 2}]
    assert stock.available("eggs") == 8 and stock.available("box") is None
    assert placement.confirmation(payload["totals"]["total"], "placed") == (True, payload["totals"]["total"])


def test_the_creation_rank_decides_first_come_when_clocks_cannot():
    cat = catalog(variant("eggs", on_hand=3))
    same_time = [(due(s), replace(terms(s, [("eggs", 3)]), sequence=rank)) for s, rank in (("a", 2), ("b", 1))]
    planned = placement.plan(same_time, cat, placement.stock_levels(cat), "first_come")
    assert [(o.terms.subscription_id, o.lines[0].quantity) for o in planned] == [("b", 3), ("a", 0)]
    unranked_older = (due("c"), terms("c", [("eggs", 1)], created_at=NOW - timedelta(days=400)))
    ranked = (due("d"), replace(terms("d", [("eggs", 1)], created_at=NOW - timedelta(days=500)), sequence=1))
    assert [o.terms.subscription_id for o in placement.plan([ranked, unranked_older], cat, Stock({}), "first_come")
            ] == ["c", "d"]


def _sliced(requests, cat, policy, size):
    """Plan the way an opening batch too large for memory is placed: in first-come order, ``size`` at a time,
    stock carried from slice to slice, a fair share decided over the whole run first."""
    ranked = placement.first_come_order(requests)
    stock = placement.stock_levels(cat)
    allocation = None if policy == "first_come" else placement.allocation_for(
        [t for _, t in ranked], placement.stock_levels(cat), policy)
    planned = []
    for i in range(0, len(ranked), size):
        planned += placement.plan(ranked[i:i + size], cat, stock, policy, allocation)
    return planned, stock


def test_planning_in_slices_gives_exactly_what_planning_everything_at_once_gives():
    import random

    rng = random.Random(7)
    cat = catalog(variant("eggs", on_hand=23), variant("milk", on_hand=9), variant("jam", on_hand=None),
                  variant("gone", on_hand=5, sellable=False))
    for trial in range(40):
        requests = []
        for n in range(rng.randint(1, 30)):
            items = [(v, rng.randint(0, 4), *rng.sample([w for w in ("eggs", "milk", "jam", "gone") if w != v],
                                                        rng.randint(0, 2)))
                     for v in rng.sample(["eggs", "milk", "jam", "gone"], rng.randint(1, 3))]
            seq = rng.choice([None, rng.randint(1, 50)])
            requests.append((due(f"s{n}"), replace(terms(f"s{n}", items, created_at=NOW - timedelta(days=n % 7)),
                                                   sequence=seq)))
        rng.shuffle(requests)
        for policy in ("first_come", "fair_share"):
            whole_stock = placement.stock_levels(cat)
            whole = placement.plan(requests, cat, whole_stock, policy)
            for size in (1, 2, 5, 64):
                sliced, stock = _sliced(requests, cat, policy, size)
                assert [(o.terms.subscription_id, [(ln.variant_id, ln.quantity) for ln in o.lines]) for o in sliced
                        ] == [(o.terms.subscription_id, [(ln.variant_id, ln.quantity) for ln in o.lines])
                              for o in whole], (trial, policy, size)
                assert all(stock.available(v) == whole_stock.available(v) for v in cat), (trial, policy, size)


def _lines(order):
    return [(ln.variant_id, ln.unit_price, ln.requested_quantity, ln.quantity,
             ln.substitute_for["variant_id"] if ln.substitute_for else None) for ln in order.lines]


def test_an_item_out_of_stock_gets_its_first_substitute_with_stock_at_its_own_price_up_to_the_quantity_asked():
    cat = catalog(variant("tomatoes", on_hand=0, price=300), variant("courgettes", on_hand=0, price=250),
                  variant("peppers", on_hand=2, price=450), variant("leeks", on_hand=9, price=200))
    stock = placement.stock_levels(cat)
    [order] = placement.plan([(due("s"), terms("s", [("tomatoes", 3, "courgettes", "peppers", "leeks")]))], cat,
                             stock, "first_come")
    assert _lines(order) == [("peppers", 450, 3, 2, "tomatoes")]
    assert order.lines[0].substitute_for == {"variant_id": "tomatoes", "name": "Tomatoes"}
    assert stock.available("peppers") == 0 and stock.available("leeks") == 9
    payload = placement.placed_payload(order, order_id="o", number="R1", shop_id="shop", currency="EUR", fees=FEES,
                                       policy="first_come", late=False, actor=SYSTEM_ACTOR)
    assert payload["lines"][0]["substitute_for"] == {"variant_id": "tomatoes", "name": "Tomatoes"}
    assert payload["stock_delta"] == [{"variant_id": "peppers", "delta": 2}]
    assert payload["totals"]["item_total"] == 900


def test_deleted_unavailable_and_unknown_items_are_replaced_by_their_substitute():
    cat = catalog(variant("gone", on_hand=10, sellable=False), variant("peppers", on_hand=None, price=450))
    [order] = placement.plan([(due("s"), terms("s", [("gone", 2, "peppers"), ("ghost", 1, "peppers")]))], cat,
                             placement.stock_levels(cat), "fair_share")
    assert _lines(order) == [("peppers", 450, 2, 2, "gone"), ("peppers", 450, 1, 1, "ghost")]
    assert order.lines[1].substitute_for == {"variant_id": "ghost", "name": "ghost"}


def test_an_item_partly_in_stock_keeps_what_it_got_and_one_without_any_substitute_left_stays_at_zero():
    cat = catalog(variant("eggs", on_hand=1), variant("milk", on_hand=0), variant("jam", on_hand=0))
    [order] = placement.plan([(due("s"), terms("s", [("eggs", 3, "jam"), ("milk", 2, "jam")]))], cat,
                             placement.stock_levels(cat), "first_come")
    assert _lines(order) == [("eggs", 100, 3, 1, None), ("milk", 100, 2, 0, None)]
    assert order.lines[1].substitute_for is None


def test_first_come_serves_substitutes_like_any_line_in_the_subscriptions_order():
    cat = catalog(variant("tomatoes", on_hand=0), variant("peppers", on_hand=4))
    early = (due("a"), terms("a", [("tomatoes", 3, "peppers")], created_at=NOW - timedelta(days=2)))
    late = (due("b"), terms("b", [("peppers", 3)], created_at=NOW))
    planned = placement.plan([late, early], cat, placement.stock_levels(cat), "first_come")
    assert [(o.terms.subscription_id, _lines(o)) for o in planned] == [
        ("a", [("peppers", 100, 3, 3, "tomatoes")]), ("b", [("peppers", 100, 3, 1, None)])]


def test_fair_share_serves_those_naming_a_variant_first_then_shares_the_rest_among_its_substitutes():
    cat = catalog(variant("tomatoes", on_hand=0), variant("peppers", on_hand=7))
    requests = [(due(s), terms(s, items, created_at=NOW + timedelta(minutes=i))) for i, (s, items) in enumerate([
        ("a", [("tomatoes", 4, "peppers")]), ("b", [("peppers", 3)]), ("c", [("tomatoes", 2, "peppers")])])]
    planned = placement.plan(requests, cat, placement.stock_levels(cat), "fair_share")
    assert [(o.terms.subscription_id, _lines(o)) for o in planned] == [
        ("a", [("peppers", 100, 4, 3, "tomatoes")]), ("b", [("peppers", 100, 3, 3, None)]),
        ("c", [("peppers", 100, 2, 1, "tomatoes")])]


def test_an_item_of_quantity_zero_from_an_old_subscription_gets_no_line():
    cat = catalog(variant("eggs", on_hand=5), variant("milk", on_hand=5))
    stock = placement.stock_levels(cat)
    [order] = placement.plan([(due("s"), terms("s", [("milk", 0), ("eggs", 2)]))], cat, stock, "fair_share")
    assert [(ln.line_id, ln.variant_id, ln.quantity) for ln in order.lines] == [("l-2", "eggs", 2)]
    assert stock.available("milk") == 5
