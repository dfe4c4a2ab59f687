"""The shop's catalog through the REST API (GET /shops/{shop}/variants): what catalog.events published, the stock
left after the orders placed, the supplier when the catalog names it; managers only (real Kafka and PostgreSQL)."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration


def _tokens(orders, shop, customer_id):
    f = orders.feed
    tokens = {"manager": f.token("manager", [shop.shop_id]),
              "customer": f.token("customer", [shop.shop_id], customer_id),
              "stranger": f.token("manager", ["some-other-shop"])}
    for _, token_id in tokens.values():
        orders.wait_token(token_id)
    return {k: v[0] for k, v in tokens.items()}


def _gone_and_four_dozen_ordered(orders, shop):
    """The shop's "gone" variant deleted, then 4 of "eggs-12" ordered by a customer (their stock taken); the
    manager's and the customer's tokens."""
    f = orders.feed
    f.catalog.delete(shop.shop_id, "gone")
    f.catalog.flush()
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs-12": 4})
    cycle = f.cycle(shop, closes_at=datetime(2099, 1, 1, tzinfo=UTC))
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    orders.wait(lambda: orders.order_of(sub), "the order")
    return _tokens(orders, shop, customer)


def test_a_manager_lists_the_shops_variants_by_name_with_price_stock_left_availability_supplier_and_tax_category(
        orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs-12", "Eggs", price=600, on_hand=10, variant_name="dozen", supplier="Ferme du Pré",
              tax_category="reduced")
    f.variant(shop, "eggs-6", "Eggs", price=320, on_hand=None, variant_name="half dozen", supplier="Ferme du Pré")
    f.variant(shop, "apples", "Apples", price=250, on_hand=3, available=False)
    f.variant(shop, "gone", "Bread", price=400, on_hand=5, supplier="Boulangerie Martin")
    tok = _gone_and_four_dozen_ordered(orders, shop)

    got = orders.api("GET", f"/shops/{shop.shop_id}/variants", tok["manager"])
    assert got.status_code == 200, got.json
    assert got.json == {"next_cursor": None, "items": [
        {"variant_id": "apples", "product_name": "Apples", "variant_name": None, "unit_price": 250, "currency": "EUR",
         "on_hand": 3, "available": False, "supplier": None, "tax_category": None},
        {"variant_id": "eggs-12", "product_name": "Eggs", "variant_name": "dozen", "unit_price": 600,
         "currency": "EUR", "on_hand": 6, "available": True, "supplier": "Ferme du Pré", "tax_category": "reduced"},
        {"variant_id": "eggs-6", "product_name": "Eggs", "variant_name": "half dozen", "unit_price": 320,
         "currency": "EUR", "on_hand": None, "available": True, "supplier": "Ferme du Pré", "tax_category": None}]}


def test_the_catalog_comes_page_by_page_and_a_search_finds_words_of_the_product_variant_or_supplier(orders):
    f = orders.feed
    shop = f.shop()
    names = ["Apples", "Beetroot", "Carrots", "Dill", "Endives"]
    for name in names:
        f.variant(shop, name.lower(), name, price=100, on_hand=None, supplier="Jardin d'Émile" if name < "C" else None)
    customer, _ = f.customer(shop)
    tok = _tokens(orders, shop, customer)
    path = f"/shops/{shop.shop_id}/variants"

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = orders.api("GET", path, tok["manager"], query_string=query)
        assert page.status_code == 200, page.json
        seen += [v["product_name"] for v in page.json["items"]]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == names and pages == 3

    def found(q):
        return [v["variant_id"] for v in orders.api("GET", path, tok["manager"], query_string={"q": q}).json["items"]]

    assert found("carr") == ["carrots"]
    assert found("JARDIN") == ["apples", "beetroot"]
    assert found("émile beet") == ["beetroot"]  # every word, wherever it is
    assert found("100%") == []  # a wildcard is only a character


def test_only_the_shops_managers_read_its_catalog_and_bad_queries_are_refused_by_the_field(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    customer, _ = f.customer(shop)
    tok = _tokens(orders, shop, customer)
    path = f"/shops/{shop.shop_id}/variants"

    assert orders.api("GET", path, tok["customer"]).status_code == 403
    assert orders.api("GET", path, tok["stranger"]).status_code == 404
    assert orders.client.get(f"/api/v1{path}").status_code == 401
    assert orders.api("GET", "/shops/no-such-shop/variants").status_code == 404  # the admin sees every shop
    bad = orders.api("GET", path, tok["manager"], query_string={"limit": 0, "q": ""})
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"
    assert set(bad.json["errors"]) == {"query.limit", "query.q"}
    assert orders.api("GET", path, tok["manager"], query_string={"cursor": "made-up"}).status_code == 400
    assert orders.api("GET", path, tok["manager"], query_string={"supplier": "x"}).status_code == 400


def test_a_variant_from_before_the_supplier_has_none_until_the_catalog_names_one(orders):
    f = orders.feed
    shop = f.shop()
    # as the platform wrote it before VariantUpdated had a supplier: no such key in the payload
    f.send("VariantUpdated", f"{shop.shop_id}:honey", {
        "variant_id": "honey", "shop_id": shop.shop_id, "product_name": "Honey", "variant_name": None,
        "unit_price": 900, "currency": "EUR", "on_hand": 12, "available": True}, shop_id=shop.shop_id,
        producer="platform-catalog")
    customer, _ = f.customer(shop)
    tok = _tokens(orders, shop, customer)
    path = f"/shops/{shop.shop_id}/variants"
    orders.wait(lambda: orders.api("GET", path, tok["manager"]).json["items"], "the variant")
    assert orders.api("GET", path, tok["manager"]).json["items"][0]["supplier"] is None

    f.variant(shop, "honey", "Honey", price=900, on_hand=12, supplier="Rucher des Combes")
    orders.wait(lambda: orders.api("GET", path, tok["manager"]).json["items"][0]["supplier"] == "Rucher des Combes",
                "the supplier")


def test_a_customer_of_the_shop_reads_its_products_for_sale_with_price_and_stock_state_but_no_internal_fields(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs-12", "Eggs", price=600, on_hand=4, variant_name="dozen", supplier="Ferme du Pré")
    f.variant(shop, "eggs-6", "Eggs", price=320, on_hand=None, variant_name="half dozen", supplier="Ferme du Pré")
    f.variant(shop, "apples", "Apples", price=250, on_hand=3, available=False)
    f.variant(shop, "beets", "Beetroot", price=180, on_hand=0)
    f.variant(shop, "gone", "Bread", price=400, on_hand=5)
    tok = _gone_and_four_dozen_ordered(orders, shop)
    path = f"/shops/{shop.shop_id}/products"

    got = orders.api("GET", path, tok["customer"])
    assert got.status_code == 200, got.json
    assert got.json == {"next_cursor": None, "items": [
        {"variant_id": "beets", "product_name": "Beetroot", "variant_name": None, "unit_price": 180,
         "currency": "EUR", "in_stock": False},
        {"variant_id": "eggs-12", "product_name": "Eggs", "variant_name": "dozen", "unit_price": 600,
         "currency": "EUR", "in_stock": False},  # the 4 left went to the order placed
        {"variant_id": "eggs-6", "product_name": "Eggs", "variant_name": "half dozen", "unit_price": 320,
         "currency": "EUR", "in_stock": True}]}
    assert orders.api("GET", path, tok["manager"]).json == got.json  # the managers see what customers see

    page = orders.api("GET", path, tok["customer"], query_string={"limit": 2})
    assert [v["variant_id"] for v in page.json["items"]] == ["beets", "eggs-12"]
    rest = orders.api("GET", path, tok["customer"], query_string={"limit": 2, "cursor": page.json["next_cursor"]})
    assert [v["variant_id"] for v in rest.json["items"]] == ["eggs-6"] and rest.json["next_cursor"] is None
    found = orders.api("GET", path, tok["customer"], query_string={"q": "half EGGS"}).json["items"]
    assert [v["variant_id"] for v in found] == ["eggs-6"]
    assert orders.api("GET", path, tok["customer"], query_string={"q": "Ferme"}).json["items"] == []


def test_the_products_for_sale_are_refused_without_a_token_and_not_found_for_another_shop(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    customer, _ = f.customer(shop)
    other = f.shop()
    f.variant(other, "milk", "Milk", price=120, on_hand=10)
    foreign_customer, _ = f.customer(other)
    tok = _tokens(orders, shop, customer)
    foreign_token, token_id = f.token("customer", [other.shop_id], foreign_customer)
    orders.wait_token(token_id)
    path = f"/shops/{shop.shop_id}/products"

    assert orders.client.get(f"/api/v1{path}").status_code == 401
    assert orders.api("GET", path, tok["stranger"]).status_code == 404
    refused = orders.api("GET", path, foreign_token)
    assert refused.status_code == 404 and "Eggs" not in refused.get_data(as_text=True)
    assert orders.api("GET", f"/shops/{other.shop_id}/products", tok["customer"]).status_code == 404
    assert orders.api("GET", f"/shops/{shop.shop_id}/variants", tok["customer"]).status_code == 403
    bad = orders.api("GET", path, tok["customer"], query_string={"limit": 201, "q": ""})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"query.limit", "query.q"}
    assert orders.api("GET", path, tok["customer"], query_string={"supplier": "x"}).status_code == 400
