"""Substitutes at placement over real Kafka and PostgreSQL: an item out of stock, deleted or unavailable gets its
first substitute that can be had, at its own price, within stock and the shop's allocation policy; the order, its
event, its API view and its email say what was placed instead of what. An item of quantity 0 from an old
subscription gets no line."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


def _placed(orders, shop, cycle, subs):
    f = orders.feed
    for sub, customer in subs:
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    return {o["subscription_id"]: o for o in orders.wait_orders(shop, len(subs))}


def _lines(orders, order):
    return [(ln["variant_id"], ln["unit_price"], ln["requested_quantity"], ln["quantity"],
             (ln["substitute_for"] or {}).get("variant_id")) for ln in orders.lines(order["order_id"])]


def test_items_out_of_stock_deleted_or_unavailable_get_their_first_substitute_with_stock_and_the_email_says_so(
        orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "tomatoes", "Tomatoes", price=300, on_hand=0)
    f.variant(shop, "courgettes", "Courgettes", price=250, on_hand=10)
    f.catalog.delete(shop.shop_id, "courgettes")
    f.variant(shop, "peppers", "Peppers", price=450, on_hand=2)
    f.variant(shop, "honey", "Honey", price=900, on_hand=5, available=False)
    f.variant(shop, "jam", "Jam", price=400, on_hand=None)
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, email = f.customer(shop)
    # an old subscription: an item of quantity 0 (before they were refused) and substitutes of each kind
    sub = f.subscription(shop, customer, {"tomatoes": 3, "courgettes": 1, "honey": 1, "eggs": 0},
                         substitutes={"tomatoes": ["courgettes", "peppers", "jam"], "courgettes": ["jam"],
                                      "honey": ["jam"]})
    order = _placed(orders, shop, cycle, [(sub, customer)])[sub]

    assert _lines(orders, order) == [("peppers", 450, 3, 2, "tomatoes"), ("jam", 400, 1, 1, "courgettes"),
                                     ("jam", 400, 1, 1, "honey")]
    assert order["status"] == "placed" and order["item_total"] == 2 * 450 + 400 + 400
    assert orders.on_hand(shop, "peppers") == 0 and orders.on_hand(shop, "tomatoes") == 0

    [placed] = [e for e in orders.wait_published(
        lambda evs: any(e.event_type == "OrderPlaced" and e.aggregate_id == order["order_id"] for e in evs),
        "the OrderPlaced") if e.event_type == "OrderPlaced" and e.aggregate_id == order["order_id"]]
    assert placed.payload["lines"][0]["substitute_for"] == {"variant_id": "tomatoes", "name": "Tomatoes"}
    assert {d["variant_id"]: d["delta"] for d in placed.payload["stock_delta"]} == {"peppers": 2, "jam": 2}

    view = orders.api("GET", f"/shops/{shop.shop_id}/orders/{order['order_id']}")
    assert view.status_code == 200, view.json
    assert [(ln["name"], (ln["substitute_for"] or {}).get("name")) for ln in view.json["lines"]] == [
        ("Peppers", "Tomatoes"), ("Jam", "Courgettes"), ("Jam", "Honey")]

    [mail] = orders.wait_mails(email, 1, "(placed)")
    assert "2 x Peppers (instead of Tomatoes)" in mail["text"] and "instead of Honey" in mail["html"]
    assert "Eggs" not in mail["text"] and "0 x" not in mail["text"]


def test_an_item_whose_substitutes_cannot_be_had_either_stays_at_zero_and_the_order_is_empty(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "tomatoes", "Tomatoes", price=300, on_hand=0)
    f.variant(shop, "peppers", "Peppers", price=450, on_hand=0)
    cycle = f.cycle(shop)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"tomatoes": 2}, substitutes={"tomatoes": ["peppers", "ghost"]})
    order = _placed(orders, shop, cycle, [(sub, customer)])[sub]
    assert order["status"] == "empty" and _lines(orders, order) == [("tomatoes", 300, 2, 0, None)]


def test_fair_share_serves_those_who_named_a_variant_then_shares_the_rest_among_those_taking_it_as_a_substitute(
        orders):
    f = orders.feed
    shop = f.shop(policy="fair_share")
    f.variant(shop, "tomatoes", "Tomatoes", price=300, on_hand=0)
    f.variant(shop, "peppers", "Peppers", price=450, on_hand=5)
    cycle = f.cycle(shop)
    now = datetime.now(UTC)
    subs = {}
    for name, items, days in (("named", {"peppers": 3}, 10), ("first", {"tomatoes": 2}, 30),
                              ("second", {"tomatoes": 4}, 20)):
        customer, _ = f.customer(shop)
        sub = f.subscription(shop, customer, items, created_at=now - timedelta(days=days),
                             substitutes={"tomatoes": ["peppers"]})
        subs[name] = (sub, customer)
    placed = _placed(orders, shop, cycle, list(subs.values()))
    # 3 to the one who named peppers; the 2 left shared 2:4 between the others (1 each after the remainder)
    assert _lines(orders, placed[subs["named"][0]]) == [("peppers", 450, 3, 3, None)]
    assert _lines(orders, placed[subs["first"][0]]) == [("peppers", 450, 2, 1, "tomatoes")]
    assert _lines(orders, placed[subs["second"][0]]) == [("peppers", 450, 4, 1, "tomatoes")]
    assert orders.on_hand(shop, "peppers") == 0
