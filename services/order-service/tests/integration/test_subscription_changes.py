"""Subscription changes reaching the orders already placed (reference sections 6-8): propagation with
hand-edited lines left alone and reported, pause/cancel with cancel or keep, skipped and resumed
occurrences (real Kafka and PostgreSQL)."""

import pytest

pytestmark = pytest.mark.integration


def _items(**quantities):
    return [{"variant_id": v, "quantity": q, "price_estimate": None} for v, q in quantities.items()]


def _setup(orders, subs=1, items=None):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    f.variant(shop, "milk", "Milk", price=150, on_hand=10)
    f.variant(shop, "jam", "Jam", price=450, on_hand=2)
    cycle = f.cycle(shop)
    placed = []
    for _ in range(subs):
        customer, email = f.customer(shop)
        sub = f.subscription(shop, customer, items or {"eggs": 2, "milk": 1})
        f.due(shop, cycle, sub, customer, reason="subscription_created")
        placed.append((sub, customer, email))
    for sub, _, _ in placed:
        orders.wait(lambda s=sub: orders.order_of(s), "the order")
    return shop, cycle, placed


def _quantities(orders, order_id):
    return {ln["variant_id"]: (ln["requested_quantity"], ln["quantity"]) for ln in orders.lines(order_id)}


def test_a_subscription_change_updates_open_orders_but_never_a_line_edited_by_hand_which_becomes_an_issue(orders):
    shop, _, [(sub, _, _)] = _setup(orders)
    f = orders.feed
    order = orders.order_of(sub)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    milk = next(ln for ln in orders.lines(order["order_id"]) if ln["variant_id"] == "milk")
    assert orders.api("PATCH", f"{path}/lines/{milk['line_id']}", json={"quantity": 3}).status_code == 200

    change = f.subscription_event("SubscriptionUpdated", shop, sub, changes={"items": _items(eggs=4, milk=2, jam=5)},
                                  previous={"items": _items(eggs=2, milk=1)})
    orders.wait(lambda: "OrderUpdateIssuesRecorded" in orders.events(order["order_id"]), "the propagation")
    assert _quantities(orders, order["order_id"]) == {"eggs": (4, 4), "milk": (3, 3), "jam": (5, 2)}
    assert orders.on_hand(shop, "jam") == 0 and orders.on_hand(shop, "eggs") == 6

    issues = orders.api("GET", f"{path}/update-issues").json["items"]
    assert sorted((i["kind"], i["variant_id"]) for i in issues) == [("insufficient_stock", "jam"),
                                                                    ("line_hand_edited", "milk")]
    assert all(i["subscription_event_id"] == change.event_id for i in issues)
    body = orders.api("GET", path).json
    assert body["update_issues"] == issues  # the order's page lists them as the route does, in the same order
    assert next(ln for ln in body["lines"] if ln["variant_id"] == "eggs")["edited_by"] == "subscription"

    f.subscription_event("SubscriptionUpdated", shop, sub, changes={"items": _items(milk=2, jam=5)},
                         previous={"items": _items(eggs=4, milk=2, jam=5)})
    orders.wait(lambda: "eggs" not in _quantities(orders, order["order_id"]), "the removed item to leave the order")
    assert orders.on_hand(shop, "eggs") == 10
    assert orders.events(order["order_id"]) == ["OrderPlaced", "OrderLineChanged", "OrderLineChanged",
                                                "OrderLineAdded", "OrderUpdateIssuesRecorded", "OrderLineRemoved"]


def test_a_method_or_address_change_follows_unless_the_order_was_changed_by_hand(orders):
    shop, _, [(sub, _, _), (hand_sub, _, _)] = _setup(orders, subs=2)
    f = orders.feed
    hand = orders.order_of(hand_sub)
    assert orders.api("PATCH", f"/shops/{shop.shop_id}/orders/{hand['order_id']}",
                      json={"payment_method_id": shop.cash_id}).status_code == 200
    for s in (sub, hand_sub):
        f.subscription_event("SubscriptionUpdated", shop, s,
                             changes={"payment_method_id": shop.cash_id, "payment_kind": "cash"},
                             previous={"payment_method_id": shop.card_id, "payment_kind": "stripe"})
    orders.wait(lambda: orders.order_of(sub)["payment_kind"] == "cash", "the new payment method")
    assert orders.order_of(sub)["payment_fee"] == 0
    orders.settle()
    assert orders.events(hand["order_id"]) == ["OrderPlaced", "OrderDetailsChanged"]  # already cash: nothing to do


def test_pause_with_cancel_cancels_open_orders_and_releases_stock_while_keep_leaves_them_to_be_confirmed(orders):
    shop, cycle, [(cancel_sub, _, _), (keep_sub, _, _), (gone_sub, _, _)] = _setup(orders, subs=3)
    f = orders.feed
    assert orders.on_hand(shop, "eggs") == 4
    f.subscription_event("SubscriptionPaused", shop, cancel_sub, open_orders="cancel",
                         open_order_cycle_ids=[cycle["order_cycle_id"]])
    f.subscription_event("SubscriptionPaused", shop, keep_sub, open_orders="keep",
                         open_order_cycle_ids=[cycle["order_cycle_id"]])
    f.subscription_event("SubscriptionCancelled", shop, gone_sub, open_orders="cancel", open_order_cycle_ids=[])
    orders.wait(lambda: orders.order_of(gone_sub)["status"] == "cancelled", "the cancellations")
    orders.wait(lambda: orders.order_of(cancel_sub)["status"] == "cancelled", "the cancellations")
    assert orders.order_of(cancel_sub)["cancel_cause"] == "subscription_paused"
    assert orders.order_of(gone_sub)["cancel_cause"] == "subscription_cancelled"
    assert orders.order_of(keep_sub)["status"] == "placed"
    assert orders.on_hand(shop, "eggs") == 8

    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(keep_sub)["status"] == "confirmed", "the kept order confirmed")
    assert orders.events(orders.order_of(keep_sub)["order_id"])[-2:] == ["OrderConfirmed", "PaymentRequested"]
    orders.settle()
    assert orders.order_of(cancel_sub)["status"] == "cancelled"
    assert orders.events(orders.order_of(cancel_sub)["order_id"]) == ["OrderPlaced", "OrderCancelled"]


def test_a_skipped_occurrence_cancels_its_order_and_resuming_it_brings_the_order_back(orders):
    shop, cycle, [(sub, _, _)] = _setup(orders)
    f = orders.feed
    order_id = orders.order_of(sub)["order_id"]
    f.subscription_event("OccurrenceSkipped", shop, sub, order_cycle_id=cycle["order_cycle_id"])
    orders.wait(lambda: orders.order_of(sub)["status"] == "cancelled", "the skip")
    assert orders.order_of(sub)["cancel_cause"] == "occurrence_skipped" and orders.on_hand(shop, "eggs") == 10
    f.subscription_event("OccurrenceResumed", shop, sub, order_cycle_id=cycle["order_cycle_id"])
    orders.wait(lambda: orders.order_of(sub)["status"] == "placed", "the resume")
    assert orders.events(order_id) == ["OrderPlaced", "OrderCancelled", "OrderResumed"]
    assert orders.on_hand(shop, "eggs") == 8


def test_a_due_of_a_paused_subscription_is_set_aside_and_placed_when_it_is_unpaused(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 1})
    f.subscription_event("SubscriptionPaused", shop, sub, open_orders="none", open_order_cycle_ids=[])
    # (the pause and the due travel on different topics: let the pause be seen first, as it was by the scheduler)
    orders.wait(lambda: orders.scalar("SELECT state FROM subscriptions WHERE subscription_id = %s", [sub]) == "paused",
                "the pause")
    f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    orders.wait(lambda: orders.scalar("SELECT state FROM order_dues WHERE subscription_id = %s", [sub]) == "skipped",
                "the due set aside")
    assert orders.order_of(sub) is None
    f.subscription_event("SubscriptionUnpaused", shop, sub)
    orders.wait(lambda: orders.order_of(sub), "the order placed on unpause")
    assert orders.order_of(sub)["status"] == "placed"
