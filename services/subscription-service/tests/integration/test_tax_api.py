"""A shop's tax settings over HTTP against real PostgreSQL: read and written by its managers, refused field by field,
recorded as events, and the subscriptions' estimates taxed with them."""

import pytest

pytestmark = pytest.mark.integration

FRANCE = [{"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]


def _events(kit, app, shop_id, event_type):
    import psycopg

    with psycopg.connect(app.dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' FROM event_store WHERE aggregate_id = %s "
            "AND event_type = %s ORDER BY position", [shop_id, event_type])]


def test_a_shop_from_before_tax_reads_as_prices_excluding_tax_with_no_rates(shop, kit):
    body = kit.ok(shop.manager.get(f"/shops/{shop.id}"))
    assert body["prices_include_tax"] is False and body["tax_rates"] == []
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}/shipping-methods/{shop.ship['id']}"))["tax_category"] is None


def test_the_shops_managers_set_its_tax_settings_and_its_methods_categories(shop, kit, app):
    etag = shop.manager.get(f"/shops/{shop.id}").headers["ETag"]
    resp = shop.manager.patch(f"/shops/{shop.id}", {"prices_include_tax": True, "tax_rates": FRANCE},
                              headers={"If-Match": etag})
    body = kit.ok(resp)
    assert body["prices_include_tax"] is True and body["tax_rates"] == FRANCE
    [updated] = _events(kit, app, shop.id, "ShopUpdated")
    assert updated["changes"] == {"prices_include_tax": True, "tax_rates": FRANCE}
    assert updated["previous"] == {"prices_include_tax": False, "tax_rates": []}

    method = f"/shops/{shop.id}/shipping-methods/{shop.ship['id']}"
    etag = shop.manager.get(method).headers["ETag"]
    assert kit.ok(shop.manager.patch(method, {"tax_category": "standard"},
                                     headers={"If-Match": etag}))["tax_category"] == "standard"
    saved = _events(kit, app, shop.id, "ShippingMethodSaved")[-1]
    assert saved["tax_category"] == "standard"
    assert kit.ok(shop.manager.get(method))["tax_category"] == "standard"


@pytest.mark.parametrize("body,field", [
    ({"tax_rates": [{"category": "standard", "rate_bp": -1}]}, "tax_rates.0.rate_bp"),
    ({"tax_rates": [{"category": "standard", "rate_bp": 10_001}]}, "tax_rates.0.rate_bp"),
    ({"tax_rates": [*FRANCE, {"category": "standard", "rate_bp": 1000}]}, "tax_rates.2.category"),
    ({"tax_rates": [{"category": "Standard Rate", "rate_bp": 2000}]}, "tax_rates.0.category"),
    ({"tax_rates": [{"category": "standard"}]}, "tax_rates.0.rate_bp"),
    ({"prices_include_tax": "yes"}, "prices_include_tax"),
])
def test_bad_tax_settings_are_refused_field_by_field_and_change_nothing(shop, kit, app, body, field):
    before = kit.ok(shop.manager.get(f"/shops/{shop.id}"))
    resp = shop.manager.patch(f"/shops/{shop.id}", body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert field in resp.get_json()["errors"], resp.get_json()
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}")) == before
    assert _events(kit, app, shop.id, "ShopUpdated") == []


def test_a_method_naming_a_category_without_a_rate_is_refused_and_a_used_rate_cannot_be_removed(shop, kit):
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"tax_rates": FRANCE}))
    resp = shop.manager.post(f"/shops/{shop.id}/payment-methods", {"name": "Cheque", "fee_flat": 0,
                                                                   "fee_percent_bp": 0, "kind": "cash",
                                                                   "tax_category": "luxury"})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["tax_category"]
    method = f"/shops/{shop.id}/shipping-methods/{shop.ship['id']}"
    kit.ok(shop.manager.patch(method, {"tax_category": "standard"}))
    resp = shop.manager.patch(f"/shops/{shop.id}", {"tax_rates": FRANCE[:1]})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["tax_rates"]
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}"))["tax_rates"] == FRANCE


def test_another_shops_manager_and_a_customer_cannot_change_the_tax_settings(shop, other_shop, kit):
    assert other_shop.manager.patch(f"/shops/{shop.id}", {"tax_rates": FRANCE}).status_code in (403, 404)
    assert shop.customer_api.patch(f"/shops/{shop.id}", {"tax_rates": FRANCE}).status_code == 403
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}"))["tax_rates"] == []


def test_estimates_carry_the_tax_of_the_order_they_foresee(shop, kit, app):
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"prices_include_tax": False, "tax_rates": FRANCE}))
    kit.ok(shop.manager.patch(f"/shops/{shop.id}/shipping-methods/{shop.ship['id']}", {"tax_category": "standard"}))
    kit.variant(app.dsn, shop.id, "eggs-6", "Eggs", 320, version=2, tax_category="reduced")
    kit.variant(app.dsn, shop.id, "veg-box", "Veg box", 2500, version=2, tax_category="standard")
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    # eggs 2 x 3.20 at 5.5 %: 0.35; box 25.00 at 20 %: 5.00; delivery 5.00 at 20 %: 1.00; card fee untaxed
    assert sub["estimate"]["tax_total"] == 35 + 500 + 100
    assert (sub["estimate"]["shipping_tax"], sub["estimate"]["payment_tax"]) == (100, 0)
    assert sub["estimate"]["total"] == 3140 + 500 + 85 + 635
    draft = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions/estimate", {
        "items": [{"variant_id": "eggs-6", "quantity": 2}, {"variant_id": "veg-box", "quantity": 1}],
        "shipping_method_id": shop.ship["id"], "payment_method_id": shop.card["id"]}))
    assert draft["estimate"] == sub["estimate"]
