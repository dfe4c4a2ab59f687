"""The projections rebuilt from Kafka (offset 0 of every topic order-service reads and of orders.events)
equal the live ones; a corrupted projection is detected and repaired by the swap."""

import uuid

import psycopg
import pytest

from order_service.entrypoints import rebuild

pytestmark = pytest.mark.integration


def test_projections_rebuilt_from_the_topics_equal_the_live_ones(orders):
    f = orders.feed
    shop = f.shop(locale="fr", policy="fair_share")
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=5, supplier="Ferme du Pré")
    f.variant(shop, "milk", "Milk", price=150, on_hand=None)
    f.variant(shop, "jam", "Jam", price=450, on_hand=4)
    f.catalog.adjust_stock(shop.shop_id, "jam", -1, "broken jar")
    f.catalog.flush()
    cycle = f.cycle(shop)
    subs = []
    for quantity in (2, 3, 4):
        customer, _ = f.customer(shop)
        subs.append(f.subscription(shop, customer, {"eggs": quantity, "milk": 1}))
        f.due(shop, cycle, subs[-1], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=3)
    placed = sorted(orders.wait_orders(shop, 3), key=lambda o: subs.index(o["subscription_id"]))
    token, token_id = f.token("manager", [shop.shop_id])
    orders.wait_token(token_id)

    first = placed[0]
    path = f"/shops/{shop.shop_id}/orders/{first['order_id']}"
    milk = next(ln for ln in orders.lines(first["order_id"]) if ln["variant_id"] == "milk")
    assert orders.api("PATCH", f"{path}/lines/{milk['line_id']}", token, json={"quantity": 4}).status_code == 200
    assert orders.api("POST", f"{path}/lines", token, json={"variant_id": "jam", "quantity": 1}).status_code == 201
    f.subscription_event("SubscriptionUpdated", shop, placed[1]["subscription_id"],
                         changes={"items": [{"variant_id": "eggs", "quantity": 1, "price_estimate": None},
                                            {"variant_id": "jam", "quantity": 5, "price_estimate": None}]},
                         previous={"items": [{"variant_id": "eggs", "quantity": 3, "price_estimate": None},
                                             {"variant_id": "milk", "quantity": 1, "price_estimate": None}]})
    orders.wait(lambda: "OrderUpdateIssuesRecorded" in orders.events(placed[1]["order_id"]), "the propagation")
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{placed[2]['order_id']}/cancel", token).status_code == 200
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{placed[2]['order_id']}/resume", token
                      ).status_code == 200
    f.catalog.delete(shop.shop_id, "jam")  # withdrawn from the open orders that hold it, set-based
    f.catalog.flush()
    orders.wait(lambda: "OrderLineWithdrawn" in orders.events(first["order_id"]), "the withdrawal")
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(subs[0])["status"] == "confirmed", "the close")
    for order in orders.orders(shop):
        f.payment("PaymentFailed", order, str(uuid.uuid4()), attempt=1, code="card_declined", decline_code=None,
                  message="Declined.", retryable=False, final=True)
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM order_payments WHERE shop_id = %s", [shop.shop_id]) == 3,
                "the payments")
    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                "the relay to publish everything")

    report = rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap)
    assert report.events > 0 and report.undecodable == 0
    assert report.identical, report.differences

    with psycopg.connect(orders.dsn) as conn:
        conn.execute("UPDATE order_lines SET quantity = quantity + 1 WHERE order_id = %s", [first["order_id"]])
        conn.execute("UPDATE catalog_variants SET on_hand = 99 WHERE shop_id = %s", [shop.shop_id])
    broken = rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap)
    assert broken.differences["order_lines"] > 0 and broken.differences["catalog_variants"] > 0
    assert rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap, swap=True).swapped
    assert rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap).identical


def test_orders_placed_before_tax_and_taxed_orders_replay_to_the_rows_they_have(orders):
    """An OrderPlaced of the shape it had before tax (the golden sample), stored as the code of that time stored it
    (only the columns it knew; the tax columns took their defaults), rebuilds to the same rows; a taxed order
    placed and edited now does too."""
    import json
    from importlib import resources

    f = orders.feed
    old = json.loads(resources.files("shared_events").joinpath("samples/OrderPlaced@1.json").read_text())["payload"]
    assert "tax_total" not in old["totals"] and "tax" not in old["lines"][0]
    shop = f.shop()
    order_id = str(uuid.uuid4())
    old.update(order_id=order_id, shop_id=shop.shop_id, subscription_id=str(uuid.uuid4()),
               order_cycle_id=str(uuid.uuid4()), number=f"R-old-{uuid.uuid4().hex[:8]}", stock_delta=[])
    placed = f.send("OrderPlaced", order_id, old, shop_id=shop.shop_id, producer="order-service")
    t = old["totals"]
    with psycopg.connect(orders.dsn) as conn:
        conn.execute(
            "INSERT INTO orders (order_id, number, shop_id, subscription_id, order_cycle_id, customer_id, status, "
            "currency, item_total, shipping_fee, payment_fee, total, shipping_method_id, payment_method_id, "
            "payment_kind, bill_address, ship_address, opens_at, closes_at, late, allocation_policy, placed_at, "
            "version, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, 1, %s)",
            [order_id, old["number"], shop.shop_id, old["subscription_id"], old["order_cycle_id"],
             old["customer_id"], old["status"], old["currency"], t["item_total"], t["shipping_fee"],
             t["payment_fee"], t["total"], old["shipping_method_id"], old["payment_method_id"], old["payment_kind"],
             json.dumps(old["bill_address"]), json.dumps(old["ship_address"]), old["opens_at"], old["closes_at"],
             old["late"], old["allocation_policy"], placed.occurred_at, placed.occurred_at])
        for n, line in enumerate(old["lines"], 1):
            conn.execute("INSERT INTO order_lines (order_id, line_id, position, variant_id, name, unit_price, "
                         "requested_quantity, quantity, total) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         [order_id, line["line_id"], n, line["variant_id"], line["name"], line["unit_price"],
                          line["requested_quantity"], line["quantity"], line["total"]])

    taxed = f.shop(prices_include_tax=True, tax_rates={"reduced": 550, "standard": 2000},
                   shipping_tax_category="standard")
    f.variant(taxed, "veg", "Légumes", price=2110, on_hand=10, tax_category="reduced")
    f.variant(taxed, "wine", "Vin", price=1200, on_hand=None, tax_category="standard")
    cycle = f.cycle(taxed)
    customer, _ = f.customer(taxed)
    sub = f.subscription(taxed, customer, {"veg": 2})
    f.due(taxed, cycle, sub, customer, reason="subscription_created")
    orders.wait(lambda: orders.order_of(sub), "the taxed order")
    token, token_id = f.token("manager", [taxed.shop_id])
    orders.wait_token(token_id)
    path = f"/shops/{taxed.shop_id}/orders/{orders.order_of(sub)['order_id']}"
    assert orders.api("PATCH", f"{path}/lines/l-1", token, json={"quantity": 3}).status_code == 200
    assert orders.api("POST", f"{path}/lines", token, json={"variant_id": "wine", "quantity": 1}).status_code == 201
    assert orders.order_of(sub)["tax_total"] == 330 + 200 + 83

    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                "the relay to publish everything")
    report = rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap)
    assert report.undecodable == 0
    assert report.identical, report.differences
