"""Subscription changes flowing into an open order (reference section 8, pure)."""

from order_unit_builders import ADDRESS, FEES, line, order, variant

from order_service.domain.model import Stock
from order_service.domain.propagation import propagate

CATALOG = {v.variant_id: v for v in (variant("eggs", price=320), variant("milk", price=150),
                                     variant("jam", price=400), variant("gone", sellable=False))}


def items(**quantities):
    return [{"variant_id": v, "quantity": q, "price_estimate": None} for v, q in quantities.items()]


def run(o, changes, previous, stock=None):
    return propagate(o, changes, previous, CATALOG, stock or Stock({"eggs": 10, "milk": 10, "jam": 10}), FEES)


def test_a_new_quantity_replaces_a_line_that_was_not_edited_by_hand():
    result = run(order(line(1, "eggs", 2), line(2, "milk", 1)), {"items": items(eggs=4, milk=1)},
                 {"items": items(eggs=2, milk=1)})
    assert not result.issues
    [(event_type, payload)] = result.events
    assert event_type == "OrderLineChanged" and payload["by"] == "subscription"
    assert (payload["quantity"], payload["requested_quantity"]) == (4, 4)
    assert payload["stock_delta"] == [{"variant_id": "eggs", "delta": 2}]


def test_a_line_edited_by_hand_is_not_overwritten_and_the_manager_is_told():
    hand_edited = line(1, "eggs", 5, edited_by="customer")  # the subscription said 2
    result = run(order(hand_edited, line(2, "milk", 1)), {"items": items(eggs=3, milk=1)},
                 {"items": items(eggs=2, milk=1)})
    assert result.events == []
    assert [(i["kind"], i["variant_id"]) for i in result.issues] == [("line_hand_edited", "eggs")]
    assert "changed by hand" in result.issues[0]["message"]


def test_a_line_capped_at_placement_still_follows_the_subscription():
    capped = line(1, "eggs", 1, requested=2)  # asked 2, got 1: not a hand edit
    result = run(order(capped), {"items": items(eggs=1)}, {"items": items(eggs=2)})
    assert not result.issues
    [(_, payload)] = result.events
    assert (payload["quantity"], payload["requested_quantity"], payload["stock_delta"]) == (1, 1, [])


def test_a_raise_beyond_stock_is_capped_and_reported():
    result = run(order(line(1, "eggs", 2)), {"items": items(eggs=6)}, {"items": items(eggs=2)},
                 stock=Stock({"eggs": 1}))
    [(_, payload)] = result.events
    assert (payload["quantity"], payload["requested_quantity"]) == (3, 6)
    assert [i["kind"] for i in result.issues] == ["insufficient_stock"]


def test_a_line_no_longer_on_the_order_is_reported():
    result = run(order(line(1, "milk", 1)), {"items": items(eggs=3, milk=1)}, {"items": items(eggs=2, milk=1)})
    assert result.events == [] and [i["kind"] for i in result.issues] == ["line_missing"]


def test_a_new_item_is_added_within_stock_and_an_unavailable_one_is_reported():
    result = run(order(line(1, "eggs", 2)), {"items": items(eggs=2, jam=3, gone=1)}, {"items": items(eggs=2)},
                 stock=Stock({"eggs": 10, "jam": 2}))
    added = [p["line"] for t, p in result.events if t == "OrderLineAdded"]
    assert [(ln["variant_id"], ln["quantity"], ln["requested_quantity"]) for ln in added] == [
        ("jam", 2, 3), ("gone", 0, 1)]
    assert {ln["line_id"] for ln in added} == {"l-2", "l-3"}
    assert [(i["kind"], i["variant_id"]) for i in result.issues] == [("insufficient_stock", "jam"),
                                                                     ("out_of_stock", "gone")]


def test_an_item_added_by_hand_before_the_subscription_added_it_is_reported():
    result = run(order(line(1, "eggs", 2), line(2, "jam", 1, edited_by="manager")),
                 {"items": items(eggs=2, jam=1)}, {"items": items(eggs=2)})
    assert result.events == [] and [i["kind"] for i in result.issues] == ["line_hand_edited"]


def test_a_removed_item_leaves_the_order_and_gives_its_stock_back():
    result = run(order(line(1, "eggs", 2), line(2, "milk", 1, price=150)), {"items": items(milk=1)},
                 {"items": items(eggs=2, milk=1)})
    [(event_type, payload)] = result.events
    assert event_type == "OrderLineRemoved" and payload["stock_delta"] == [{"variant_id": "eggs", "delta": -2}]
    assert payload["totals"]["item_total"] == 150


def test_the_last_line_is_never_removed_it_goes_to_zero():
    result = run(order(line(1, "eggs", 2)), {"items": items(gone=1)}, {"items": items(eggs=2)})
    kinds = [t for t, _ in result.events]
    assert kinds == ["OrderLineAdded", "OrderLineChanged"]
    changed = result.events[1][1]
    assert (changed["quantity"], changed["requested_quantity"]) == (0, 0)
    assert changed["totals"]["total"] == 0


def test_methods_and_addresses_follow_unless_the_order_has_other_ones():
    moved = dict(ADDRESS, address1="1 place Bellecour")
    result = run(order(line(1, "eggs", 2)),
                 {"shipping_method_id": "ship2", "payment_method_id": "cash", "payment_kind": "cash",
                  "ship_address": moved},
                 {"shipping_method_id": "ship", "payment_method_id": "card", "payment_kind": "stripe",
                  "ship_address": ADDRESS})
    assert not result.issues
    details = [p for _, p in result.events]
    assert details[0]["shipping_method_id"] == "ship2" and details[0]["totals"]["shipping_fee"] == 300
    assert details[1]["payment_method_id"] == "cash" and details[1]["payment_kind"] == "cash"
    assert details[2]["ship_address"] == moved

    hand = order(line(1, "eggs", 2), shipping_method_id="ship2", bill_address=dict(ADDRESS, city="Paris"))
    result = run(hand, {"shipping_method_id": "ship3", "bill_address": moved},
                 {"shipping_method_id": "ship", "bill_address": ADDRESS})
    assert result.events == []
    assert [i["kind"] for i in result.issues] == ["shipping_method_hand_edited", "address_hand_edited"]


def test_a_line_placed_as_a_substitute_follows_its_items_new_quantity_and_removal_in_its_own_variant():
    from dataclasses import replace

    peppers = replace(line(1, "jam", 2), substitute_for={"variant_id": "gone", "name": "Gone"})
    result = run(order(peppers, line(2, "milk", 1)), {"items": items(gone=3, milk=1)},
                 {"items": items(gone=2, milk=1)})
    assert not result.issues
    [(_, changed)] = result.events
    assert (changed["line_id"], changed["variant_id"], changed["quantity"]) == ("l-1", "jam", 3)
    assert changed["stock_delta"] == [{"variant_id": "jam", "delta": 1}]
    removed = run(order(peppers, line(2, "milk", 1)), {"items": items(milk=1)}, {"items": items(gone=2, milk=1)})
    [(event_type, payload)] = removed.events
    assert event_type == "OrderLineRemoved" and payload["variant_id"] == "jam"
    assert payload["stock_delta"] == [{"variant_id": "jam", "delta": -2}]
