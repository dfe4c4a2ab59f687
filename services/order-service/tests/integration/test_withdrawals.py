"""Items that disappear after placement (OFN #6363): a variant deleted or made unavailable leaves every open order
that holds it, its stock released, the customer emailed once and the order's managers told by an update issue;
nothing is charged for it, confirmed orders are not changed, and a price change changes no placed order (real
Kafka, PostgreSQL and SMTP sink)."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


def _withdrawn(orders, address, n=1):
    return orders.wait(lambda: (lambda found: found if len(found) >= n else None)(
        [m for m in orders.mails(address) if m["headers"]["X-Notification-Kind"] == "line_withdrawn"]),
        f"{n} line_withdrawn email(s) to {address}")


def test_a_deleted_variant_leaves_the_open_orders_releases_its_stock_tells_the_customer_once_and_is_not_charged(
        orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=20)
    f.variant(shop, "honey", "Honey", price=850, on_hand=10)
    amelie, amelie_email = f.customer(shop, first_name="Amelie", locale="fr")
    bruno, bruno_email = f.customer(shop, first_name="Bruno", locale="en")
    chloe, _ = f.customer(shop, first_name="Chloe")
    past = f.cycle(shop, name="Week 13")  # its order is confirmed before the variant goes
    chloe_sub = f.subscription(shop, chloe, {"honey": 2})
    f.due(shop, past, chloe_sub, chloe, reason="subscription_created")
    orders.wait(lambda: orders.order_of(chloe_sub), "Chloe's order")
    f.boundary("OrderCycleClosed", past)
    orders.wait(lambda: orders.order_of(chloe_sub)["status"] == "confirmed", "Chloe's confirmation")

    cycle = f.cycle(shop)
    amelie_sub = f.subscription(shop, amelie, {"eggs": 2, "honey": 1})
    bruno_sub = f.subscription(shop, bruno, {"honey": 3})
    for sub, customer in ((amelie_sub, amelie), (bruno_sub, bruno)):
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=2)
    orders.wait_orders(shop, 3)
    assert orders.on_hand(shop, "honey") == 10 - 2 - 1 - 3
    chloe_before = orders.order_of(chloe_sub)

    deleted = f.catalog.delete(shop.shop_id, "honey")
    f.catalog.flush()
    orders.wait(lambda: orders.order_of(bruno_sub)["status"] == "empty", "Bruno's order to be emptied")
    orders.wait(lambda: len(orders.lines(orders.order_of(amelie_sub)["order_id"])) == 1, "Amelie's line withdrawn")

    amelie_order, bruno_order = orders.order_of(amelie_sub), orders.order_of(bruno_sub)
    assert [(line["variant_id"], line["quantity"]) for line in orders.lines(amelie_order["order_id"])] == [("eggs", 2)]
    assert (amelie_order["status"], amelie_order["item_total"]) == ("placed", 640)
    assert amelie_order["total"] == 640 + 500 + 17  # eggs, delivery, 1.5 % card fee: the honey charged nowhere
    assert (bruno_order["total"], orders.lines(bruno_order["order_id"])) == (0, [])
    assert orders.events(amelie_order["order_id"]) == ["OrderPlaced", "OrderLineWithdrawn"]
    assert orders.on_hand(shop, "honey") == 10 - 2  # what the open orders held is released; the confirmed keeps its
    assert orders.order_of(chloe_sub) == chloe_before  # confirmed: not changed

    published = orders.wait_published(
        lambda evs: sum(e.event_type == "OrderLineWithdrawn" and e.shop_id == shop.shop_id for e in evs) == 2,
        "the withdrawals")
    [event] = [e for e in published
               if e.event_type == "OrderLineWithdrawn" and e.aggregate_id == bruno_order["order_id"]]
    assert event.causation_id == deleted.event_id and event.aggregate_version == 2
    assert {k: event.payload[k] for k in ("variant_id", "quantity", "cause", "status", "stock_delta")} == {
        "variant_id": "honey", "quantity": 3, "cause": "deleted", "status": "empty",
        "stock_delta": [{"variant_id": "honey", "delta": -3}]}

    [fr] = _withdrawn(orders, amelie_email)
    assert fr["subject"] == f"{shop.name} : Honey retiré de votre commande {amelie_order['number']}"
    assert f"Honey n'est plus vendu par {shop.name}" in fr["text"]
    assert "Rien ne sera débité pour cet article" in fr["text"]
    [en] = _withdrawn(orders, bruno_email)
    assert "Honey is no longer sold by" in en["text"] and "it will not be confirmed and nothing will be charged" in \
        en["text"]

    issues = orders.api("GET", f"/shops/{shop.shop_id}/orders/{amelie_order['order_id']}/update-issues")
    assert issues.status_code == 200, issues.json
    [issue] = issues.json["items"]
    assert (issue["kind"], issue["variant_id"], issue["subscription_event_id"]) == ("line_withdrawn", "honey",
                                                                                    deleted.event_id)
    assert "Honey: deleted from the catalog after the order was placed" in issue["message"]

    [shop_mail] = orders.wait(lambda: (lambda found: found or None)(
        [m for m in orders.mails(shop.contact_email) if m["headers"]["X-Notification-Kind"] == "lines_withdrawn_shop"]),
        "the shop's email")
    assert shop_mail["subject"] == f"{shop.name}: Honey withdrawn from 2 open orders"
    assert "(4 units released to stock)" in shop_mail["text"] and "1 of these orders was left with nothing" in \
        shop_mail["text"]
    assert f"Orders: {', '.join(sorted([amelie_order['number'], bruno_order['number']]))}\r\n" in shop_mail["text"]

    f.catalog.delete(shop.shop_id, "honey")  # told again: nothing left to withdraw
    f.catalog.flush()
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(amelie_sub)["status"] == "confirmed", "Amelie's confirmation")
    orders.settle()
    assert orders.order_of(bruno_sub)["status"] == "empty"  # nothing to confirm, nothing to charge
    assert len(_withdrawn(orders, amelie_email)) == 1 and len(_withdrawn(orders, bruno_email)) == 1
    assert [m["headers"]["X-Notification-Kind"] for m in orders.mails(shop.contact_email)].count(
        "lines_withdrawn_shop") == 1
    requests = [e for e in orders.wait_published(
        lambda evs: any(e.event_type == "PaymentRequested" and e.aggregate_id == amelie_order["order_id"]
                        for e in evs), "Amelie's payment request") if e.event_type == "PaymentRequested"
        and e.shop_id == shop.shop_id and e.payload["order_cycle_id"] == cycle["order_cycle_id"]]
    assert [e.payload["amount"] for e in requests] == [amelie_order["total"]]


def test_a_price_change_changes_no_placed_order_and_a_variant_made_unavailable_leaves_the_open_ones(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    f.variant(shop, "bread", "Bread", price=400, on_hand=None)
    customer, email = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2, "bread": 1})
    cycle = f.cycle(shop, closes_at=datetime.now(UTC) + timedelta(days=3))
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    orders.wait(lambda: orders.order_of(sub), "the order")
    placed = orders.order_of(sub)

    f.variant(shop, "eggs", "Eggs", price=999, on_hand=None)  # waits until projected
    orders.settle()
    assert orders.order_of(sub) == placed
    assert [line["unit_price"] for line in orders.lines(placed["order_id"])] == [320, 400]

    f.variant(shop, "bread", "Bread", price=400, on_hand=None, available=False)
    orders.wait(lambda: len(orders.lines(placed["order_id"])) == 1, "the bread withdrawn")
    order = orders.order_of(sub)
    assert order["item_total"] == 2 * 320 and order["status"] == "placed"
    [mail] = _withdrawn(orders, email)
    assert "Bread is no longer available from" in mail["text"]


def test_one_deleted_variant_leaves_every_one_of_many_open_orders(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    f.variant(shop, "honey", "Honey", price=850, on_hand=100)
    cycle = f.cycle(shop)
    subs = []
    for n in range(12):
        customer, _ = f.customer(shop)
        subs.append(f.subscription(shop, customer, {"eggs": 1, "honey": 2}))
        f.due(shop, cycle, subs[-1], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    orders.wait_orders(shop, len(subs))
    assert orders.on_hand(shop, "honey") == 100 - 24

    f.catalog.delete(shop.shop_id, "honey")
    f.catalog.flush()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM order_lines l JOIN orders o USING (order_id) "
                                      "WHERE o.shop_id = %s AND l.variant_id = 'honey'", [shop.shop_id]) == 0,
                "every honey line withdrawn")
    assert {o["item_total"] for o in orders.orders(shop)} == {320}
    assert orders.on_hand(shop, "honey") == 100
    assert orders.scalar("SELECT count(*) FROM notifications WHERE shop_id = %s AND kind = 'line_withdrawn'",
                         [shop.shop_id]) == len(subs)


def test_a_deleted_variant_with_a_substitute_in_stock_gets_the_substitute_and_without_stock_is_withdrawn_as_before(
        orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    f.variant(shop, "tomatoes", "Tomatoes", price=300, on_hand=10)
    f.variant(shop, "peppers", "Peppers", price=450, on_hand=3)
    f.variant(shop, "courgettes", "Courgettes", price=250, on_hand=0)
    amelie, amelie_email = f.customer(shop, first_name="Amelie", locale="fr")
    bruno, bruno_email = f.customer(shop, first_name="Bruno", locale="en")
    cycle = f.cycle(shop)
    now = datetime.now(UTC)
    amelie_sub = f.subscription(shop, amelie, {"eggs": 1, "tomatoes": 2}, created_at=now - timedelta(days=2),
                                substitutes={"tomatoes": ["courgettes", "peppers"]})
    bruno_sub = f.subscription(shop, bruno, {"eggs": 1, "tomatoes": 4}, created_at=now - timedelta(days=1),
                               substitutes={"tomatoes": ["courgettes"]})
    for sub, customer in ((amelie_sub, amelie), (bruno_sub, bruno)):
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=2)
    orders.wait_orders(shop, 2)

    deleted = f.catalog.delete(shop.shop_id, "tomatoes")
    f.catalog.flush()
    amelie_order = orders.order_of(amelie_sub)
    orders.wait(lambda: "tomatoes" not in {line["variant_id"] for line in orders.lines(amelie_order["order_id"])}
                and "tomatoes" not in {line["variant_id"] for line in
                                       orders.lines(orders.order_of(bruno_sub)["order_id"])}, "the tomatoes withdrawn")

    # Amelie's first substitute has no stock: her second is placed, at its own price, for what she asked
    amelie_order, bruno_order = orders.order_of(amelie_sub), orders.order_of(bruno_sub)
    assert [(line["variant_id"], line["unit_price"], line["quantity"], line["substitute_for"])
            for line in orders.lines(amelie_order["order_id"])] == [
        ("eggs", 320, 1, None), ("peppers", 450, 2, {"variant_id": "tomatoes", "name": "Tomatoes"})]
    assert (amelie_order["status"], amelie_order["item_total"]) == ("placed", 320 + 2 * 450)
    assert orders.on_hand(shop, "peppers") == 3 - 2 and orders.on_hand(shop, "tomatoes") == 10
    # Bruno's only substitute has no stock: the line is withdrawn as without substitutes
    assert [line["variant_id"] for line in orders.lines(bruno_order["order_id"])] == ["eggs"]
    assert bruno_order["item_total"] == 320

    published = orders.wait_published(
        lambda evs: sum(e.event_type == "OrderLineWithdrawn" and e.shop_id == shop.shop_id for e in evs) == 2,
        "the withdrawals")
    by_order = {e.aggregate_id: e.payload for e in published
                if e.event_type == "OrderLineWithdrawn" and e.shop_id == shop.shop_id}
    amelie_event = by_order[amelie_order["order_id"]]
    assert amelie_event["substitute"]["variant_id"] == "peppers" and amelie_event["substitute"]["quantity"] == 2
    assert amelie_event["stock_delta"] == [{"variant_id": "peppers", "delta": 2}, {"variant_id": "tomatoes",
                                                                                    "delta": -2}]
    assert amelie_event["totals"]["item_total"] == 320 + 900 and amelie_event["catalog_event_id"] == deleted.event_id
    assert by_order[bruno_order["order_id"]]["substitute"] is None

    [fr] = _withdrawn(orders, amelie_email)
    assert "À sa place, comme vous l'avez demandé : 2 x Peppers" in fr["text"]
    [en] = _withdrawn(orders, bruno_email)
    assert "Nothing will be charged for it." in en["text"] and "In its place" not in en["text"]

    f.boundary("OrderCycleClosed", cycle)
    requests = [e for e in orders.wait_published(
        lambda evs: any(e.event_type == "PaymentRequested" and e.aggregate_id == amelie_order["order_id"]
                        for e in evs), "Amelie's payment request") if e.event_type == "PaymentRequested"
        and e.aggregate_id == amelie_order["order_id"]]
    assert [e.payload["amount"] for e in requests] == [amelie_order["total"]]
