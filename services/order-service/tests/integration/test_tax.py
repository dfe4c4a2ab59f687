"""Tax on orders over real Kafka and PostgreSQL: placement copies each variant's category and the shop's rate onto
its line, fees are taxed by their method's category, the API answers carry it, and a rate change affects the orders
placed afterwards only."""

import pytest

pytestmark = pytest.mark.integration

FRANCE = {"reduced": 550, "standard": 2000}
UK = {"zero": 0, "standard": 2000}


def _french_shop(f):
    shop = f.shop(locale="fr", prices_include_tax=True, tax_rates=FRANCE, shipping_tax_category="standard")
    f.variant(shop, "veg", "Légumes", price=2110, on_hand=None, tax_category="reduced")
    f.variant(shop, "wine", "Vin", price=1200, on_hand=None, tax_category="standard")
    return shop


def _place(orders, shop, items, cycle=None):
    f = orders.feed
    cycle = cycle or f.cycle(shop)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, items, cash=True)
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    orders.wait(lambda: orders.order_of(sub), "the order")
    return orders.order_of(sub)


def test_an_order_of_a_shop_whose_prices_include_tax_carries_each_lines_tax_and_the_fees_tax(orders):
    shop = _french_shop(orders.feed)
    order = _place(orders, shop, {"veg": 2, "wine": 1})
    lines = {ln["variant_id"]: ln for ln in orders.lines(order["order_id"])}
    assert (lines["veg"]["tax"], lines["veg"]["tax_category"], lines["veg"]["tax_rate_bp"]) == (220, "reduced", 550)
    assert (lines["wine"]["tax"], lines["wine"]["tax_rate_bp"]) == (200, 2000)
    assert order["prices_include_tax"] is True
    assert (order["item_total"], order["shipping_fee"], order["shipping_tax"]) == (5420, 500, 83)
    assert order["tax_total"] == 220 + 200 + 83 and order["total"] == 5920  # the tax is in the prices

    token, token_id = orders.feed.token("manager", [shop.shop_id])
    orders.wait_token(token_id)
    answer = orders.api("GET", f"/shops/{shop.shop_id}/orders/{order['order_id']}", token).get_json()
    assert answer["prices_include_tax"] is True
    assert answer["totals"] == {"item_total": 5420, "shipping_fee": 500, "payment_fee": 0, "shipping_tax": 83,
                                "payment_tax": 0, "tax_total": 503, "total": 5920}
    assert {(ln["variant_id"], ln["tax"], ln["tax_category"], ln["tax_rate_bp"]) for ln in answer["lines"]} == {
        ("veg", 220, "reduced", 550), ("wine", 200, "standard", 2000)}
    placed = orders.wait_published(lambda evs: any(e.event_type == "OrderPlaced" and e.aggregate_id ==
                                                   order["order_id"] for e in evs), "the OrderPlaced")
    event = next(e for e in placed if e.event_type == "OrderPlaced" and e.aggregate_id == order["order_id"])
    assert event.payload["totals"]["tax_total"] == 503 and event.payload["tax_rates"] == [
        {"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]


def test_an_order_of_a_shop_whose_prices_exclude_tax_adds_the_tax_to_its_total(orders):
    f = orders.feed
    shop = f.shop(prices_include_tax=False, tax_rates=UK, shipping_tax_category="standard", currency="GBP")
    f.variant(shop, "cider", "Cider", price=400, on_hand=None, tax_category="standard")
    f.variant(shop, "bread", "Bread", price=250, on_hand=None, tax_category="zero")
    order = _place(orders, shop, {"cider": 3, "bread": 2})
    assert order["tax_total"] == 240 + 0 + 100
    assert order["total"] == 1200 + 500 + 500 + 340


def test_a_rate_change_affects_orders_placed_afterwards_only_even_when_the_older_order_is_edited(orders):
    f = orders.feed
    shop = _french_shop(f)
    cycle = f.cycle(shop)
    before = _place(orders, shop, {"veg": 1}, cycle)
    f.send("ShopUpdated", shop.shop_id, {
        "shop_id": shop.shop_id, "changes": {"tax_rates": [{"category": "reduced", "rate_bp": 1000},
                                                           {"category": "standard", "rate_bp": 2000}]},
        "previous": {"tax_rates": [{"category": c, "rate_bp": r} for c, r in FRANCE.items()]},
        "actor": {"type": "manager", "id": "m"}, "reason": None}, shop_id=shop.shop_id)
    orders.wait_projected("SELECT 1 FROM shops WHERE shop_id = %s AND tax_rates @> '[{\"rate_bp\": 1000}]'",
                          [shop.shop_id], "the new rate")
    after = _place(orders, shop, {"veg": 1}, cycle)
    assert orders.lines(after["order_id"])[0]["tax_rate_bp"] == 1000
    assert orders.lines(after["order_id"])[0]["tax"] == 192  # 2110 * 1000 / 11000

    token, token_id = f.token("manager", [shop.shop_id])
    orders.wait_token(token_id)
    path = f"/shops/{shop.shop_id}/orders/{before['order_id']}"
    assert orders.api("PATCH", f"{path}/lines/l-1", token, json={"quantity": 2}).status_code == 200
    assert orders.api("POST", f"{path}/lines", token, json={"variant_id": "wine", "quantity": 1}).status_code == 201
    veg, wine = orders.lines(before["order_id"])
    assert (veg["quantity"], veg["tax_rate_bp"], veg["tax"]) == (2, 550, 220)
    assert wine["tax_rate_bp"] == 2000
    assert orders.order_of(before["subscription_id"])["tax_total"] == 220 + 200 + 83


def test_a_shop_and_catalog_from_before_tax_place_untaxed_orders_as_before(orders):
    f = orders.feed
    shop = f.shop()  # events of the shape they had before tax
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    order = _place(orders, shop, {"eggs": 2})
    assert (order["tax_total"], order["prices_include_tax"], order["total"]) == (0, False, 640 + 500)
    assert orders.lines(order["order_id"])[0]["tax_category"] is None


def test_the_reports_show_the_tax_of_the_orders_and_of_each_product(orders):
    import csv
    import io

    f = orders.feed
    shop = _french_shop(f)
    cycle = f.cycle(shop)
    order = _place(orders, shop, {"veg": 2, "wine": 1}, cycle)
    token, token_id = f.token("manager", [shop.shop_id])
    orders.wait_token(token_id)
    base = f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/reports"

    report = orders.api("GET", f"{base}/orders", token).get_json()
    assert report["items"][0]["totals"]["tax_total"] == order["tax_total"] == 503
    assert report["totals"]["tax_total"] == 503
    products = orders.api("GET", f"{base}/product-totals", token).get_json()
    assert {p["variant_id"]: p["tax"] for s in products["suppliers"] for p in s["products"]} == {"veg": 220,
                                                                                                "wine": 200}
    assert products["totals"]["tax"] == 420

    rows = list(csv.DictReader(io.StringIO(orders.api("GET", f"{base}/orders.csv?lang=fr", token)
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["TVA"] == "5.03" and rows[0]["Total"] == "59.20"
    assert rows[-1]["Commande"] == "Total" and rows[-1]["TVA"] == "5.03"
    rows = list(csv.DictReader(io.StringIO(orders.api("GET", f"{base}/product-totals.csv?lang=en", token)
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["Variant id"]: r["Tax"] for r in rows} == {"veg": "2.20", "wine": "2.00"}


def test_the_customers_placement_email_lists_the_tax_the_order_includes_per_rate(orders):
    f = orders.feed
    shop = _french_shop(f)
    cycle = f.cycle(shop)
    customer, email = f.customer(shop)
    sub = f.subscription(shop, customer, {"veg": 2, "wine": 1}, cash=True)
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    [mail] = orders.wait_mails(email, 1, "the placement email")
    text = mail["text"]
    assert "Dont TVA : 5,03\u00a0€" in text
    assert "à 5,5\u00a0% : 2,20\u00a0€" in text and "à 20\u00a0% : 2,00\u00a0€" in text
    assert "sur la livraison : 0,83\u00a0€" in text
