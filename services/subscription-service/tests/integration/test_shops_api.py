"""Shops, settings and methods over HTTP against real PostgreSQL."""

import pytest

pytestmark = pytest.mark.integration

SHOP = {"name": "Ferme du Coin", "timezone": "Europe/Paris", "currency": "EUR", "contact_email": "f@coin.example"}


def test_the_admin_creates_a_shop_with_defaults_and_an_etag(admin, kit):
    resp = admin.post("/shops", SHOP)
    body = kit.ok(resp, 201)
    assert resp.headers["ETag"] == '"1"'
    assert body["subscriptions_enabled"] is False and body["locale"] == "en"
    assert body["payment_retry"] == {"delays_hours": [24, 72], "max_attempts": 3}  # billing's README says so
    assert kit.ok(admin.get(f"/shops/{body['id']}"))["name"] == "Ferme du Coin"


def test_only_the_admin_creates_shops(shop, kit):
    assert shop.manager.post("/shops", SHOP).status_code == 403
    assert shop.customer_api.post("/shops", SHOP).status_code == 403


def test_no_token_or_a_bad_token_is_401_as_problem_json(app, kit):
    anonymous = kit.Client(app, None)
    resp = anonymous.get("/shops")
    assert resp.status_code == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert kit.Client(app, "rop_nope").get("/shops").status_code == 401


@pytest.mark.parametrize("body,field", [
    ({**SHOP, "timezone": "Mars/Olympus"}, "timezone"),
    ({**SHOP, "currency": "euro"}, "currency"),
    ({**SHOP, "timezone": "localtime"}, "timezone"),
    ({**SHOP, "timezone": "Factory"}, "timezone"),
    ({**SHOP, "timezone": "posixrules"}, "timezone"),
    ({**SHOP, "timezone": "US/Eastern"}, "timezone"),
    ({**SHOP, "currency": "XXX"}, "currency"),
    ({**SHOP, "currency": "ZZZ"}, "currency"),
    ({**SHOP, "colour": "blue"}, "colour"),
    ({**SHOP, "subscriptions_enabled": "yes"}, "subscriptions_enabled"),
    ({**SHOP, "subscriptions_enabled": 1}, "subscriptions_enabled"),
    ({**SHOP, "payment_retry": {"delays_hours": [24], "max_attempts": 3}}, "payment_retry.delays_hours"),
    ({**SHOP, "payment_retry": {"delays_hours": [24], "max_attempts": 99}}, "payment_retry.max_attempts"),
    ({k: v for k, v in SHOP.items() if k != "name"}, "name"),
    ({**SHOP, "name": "bad\x00name"}, "name"),
])
def test_invalid_shops_are_refused_field_by_field_and_change_nothing(admin, kit, body, field):
    before = kit.ok(admin.get("/shops?limit=200"))["items"]
    resp = admin.post("/shops", body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]
    assert kit.ok(admin.get("/shops?limit=200"))["items"] == before


def test_bad_json_is_400_and_a_non_object_is_422(admin):
    resp = admin.post("/shops", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.get_json()["status"] == 400
    assert admin.post("/shops", [1, 2]).status_code == 422


def test_a_manager_changes_settings_with_if_match_and_a_stale_etag_gets_412(shop, kit):
    path = f"/shops/{shop.id}"
    version = kit.ok(shop.manager.get(path))["version"]
    resp = shop.manager.patch(path, {"allow_order_changes": True}, headers={"If-Match": f'"{version}"'})
    assert kit.ok(resp)["allow_order_changes"] is True
    assert resp.headers["ETag"] == f'"{version + 1}"'
    stale = shop.manager.patch(path, {"allow_order_changes": False}, headers={"If-Match": f'"{version}"'})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == f'"{version + 1}"'
    assert kit.ok(shop.manager.get(path))["allow_order_changes"] is True


def test_a_customer_reads_their_shop_but_cannot_change_it(shop, kit):
    assert kit.ok(shop.customer_api.get(f"/shops/{shop.id}"))["id"] == shop.id
    assert shop.customer_api.patch(f"/shops/{shop.id}", {"name": "Mine"}).status_code == 403


def test_the_currency_is_fixed_once_the_shop_has_subscriptions(shop, kit):
    kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    resp = shop.manager.patch(f"/shops/{shop.id}", {"currency": "GBP"})
    assert resp.status_code == 409
    assert "currency" in resp.get_json()["errors"]


def test_shops_list_shows_a_manager_only_their_shops(shop, other_shop, admin, kit):
    mine = kit.ok(shop.manager.get("/shops"))["items"]
    assert [s["id"] for s in mine] == [shop.id]
    everything = {s["id"] for s in kit.ok(admin.get("/shops?limit=200"))["items"]}
    assert {shop.id, other_shop.id} <= everything
    named = kit.ok(admin.get("/shops?q=autre"))["items"]
    assert [s["id"] for s in named] == [other_shop.id]


def test_methods_are_added_changed_listed_and_removed(shop, kit):
    base = f"/shops/{shop.id}/shipping-methods"
    m = kit.ok(shop.manager.post(base, {"name": "Pickup", "fee_flat": 0, "fee_percent_bp": 0, "pickup": True}), 201)
    assert m["pickup"] is True and m["active"] is True
    changed = shop.manager.patch(f"{base}/{m['id']}", {"fee_flat": 150}, headers={"If-Match": f'"{m["version"]}"'})
    assert kit.ok(changed)["fee_flat"] == 150
    assert shop.manager.patch(f"{base}/{m['id']}", {"fee_flat": 9}, headers={"If-Match": f'"{m["version"]}"'}) \
        .status_code == 412
    names = [x["name"] for x in kit.ok(shop.manager.get(base + "?sort=name"))["items"]]
    assert names == ["Delivery", "Pickup"]
    assert shop.manager.delete(f"{base}/{m['id']}").status_code == 204
    assert shop.manager.get(f"{base}/{m['id']}").status_code == 404
    assert [x["name"] for x in kit.ok(shop.manager.get(base))["items"]] == ["Delivery"]


def test_a_payment_method_must_be_cash_or_stripe_with_fees_in_range(shop, kit):
    base = f"/shops/{shop.id}/payment-methods"
    assert shop.manager.post(base, {"name": "Gold", "fee_flat": 0, "fee_percent_bp": 0, "kind": "gold"}) \
        .status_code == 422
    resp = shop.manager.post(base, {"name": "Card", "fee_flat": -1, "fee_percent_bp": 10_001, "kind": "stripe"})
    assert set(resp.get_json()["errors"]) == {"fee_flat", "fee_percent_bp"}
    assert shop.manager.post(base, {"name": "Card", "fee_flat": 1.5, "fee_percent_bp": 0, "kind": "stripe"}) \
        .status_code == 422
    assert shop.customer_api.post(base, {"name": "Mine", "fee_flat": 0, "fee_percent_bp": 0, "kind": "cash"}) \
        .status_code == 403


def test_health_readiness_metrics_and_docs_answer(app, kit):
    anonymous = kit.Client(app, None)
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200
    assert anonymous.get("/metrics").status_code == 200
    assert anonymous.get("/docs").status_code == 200
    spec = anonymous.get("/openapi.json").get_json()
    assert "/api/v1/shops/{shop_id}/subscriptions/{subscription_id}/pause" in spec["paths"]


def test_a_zone_that_is_no_place_and_a_currency_nobody_uses_are_refused_together_field_by_field(shop, kit):
    resp = shop.manager.patch(f"/shops/{shop.id}", {"timezone": "Factory", "currency": "XXX"})
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"timezone", "currency"}
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}"))["timezone"] == "Europe/Paris"


@pytest.mark.parametrize("hours", [0, -1, 169, 1.5, "24", True, [24]])
def test_a_cut_off_reminder_outside_one_to_168_hours_is_a_422_naming_it_and_changes_nothing(shop, kit, hours):
    path = f"/shops/{shop.id}"
    before = kit.ok(shop.manager.get(path))
    resp = shop.manager.patch(path, {"order_reminder_hours_before_close": hours})
    assert resp.status_code == 422, resp.get_json()
    assert "order_reminder_hours_before_close" in resp.get_json()["errors"]
    assert kit.ok(shop.manager.get(path)) == before


def test_the_cut_off_reminder_is_off_by_default_and_a_manager_sets_and_clears_it(shop, admin, kit):
    created = kit.ok(admin.post("/shops", SHOP), 201)
    assert created["order_reminder_hours_before_close"] is None
    path = f"/shops/{shop.id}"
    assert kit.ok(shop.manager.get(path))["order_reminder_hours_before_close"] is None
    assert kit.ok(shop.manager.patch(path, {"order_reminder_hours_before_close": 24}))[
        "order_reminder_hours_before_close"] == 24
    assert kit.ok(shop.manager.get(path))["order_reminder_hours_before_close"] == 24
    assert kit.ok(shop.manager.patch(path, {"order_reminder_hours_before_close": None}))[
        "order_reminder_hours_before_close"] is None


@pytest.mark.parametrize("account", ["acct 1", "\U0005b457", "cus_123", "acct_", "acct_1\n"])
def test_a_stripe_account_id_that_is_not_one_is_a_422_naming_it_and_changes_nothing(shop, kit, account):
    # it travels to Stripe as a request header (Stripe-Account): anything else fails there, far from its cause
    path = f"/shops/{shop.id}"
    before = kit.ok(shop.manager.get(path))
    resp = shop.manager.patch(path, {"stripe_account_id": account})
    assert resp.status_code == 422, resp.get_json()
    assert "stripe_account_id" in resp.get_json()["errors"]
    assert kit.ok(shop.manager.get(path)) == before
    assert kit.ok(shop.manager.patch(path, {"stripe_account_id": "acct_1ShopConnected"}))[
        "stripe_account_id"] == "acct_1ShopConnected"


def test_the_time_zones_a_shop_may_have_are_listed_and_each_is_accepted_and_nothing_else(shop, app, kit):
    names = [z["name"] for z in kit.ok(shop.customer_api.get("/api/v1/time-zones"))["items"]]
    assert names == sorted(names) and len(names) == len(set(names)) > 300
    assert {"Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Europe/Amsterdam"} <= set(names)
    assert not {"US/Eastern", "Asia/Calcutta", "localtime", "Factory", "posixrules"} & set(names)
    path = f"/shops/{shop.id}"
    for name in names:  # the list and the shop's check are one rule: every name listed is one a shop may take
        assert shop.manager.patch(path, {"timezone": name}).status_code == 200, name
    assert kit.ok(shop.manager.get(path))["timezone"] == names[-1]
    assert kit.Client(app, None).get("/api/v1/time-zones").status_code == 401


def test_invoices_and_their_email_attachment_are_off_by_default_and_a_manager_turns_them_on(shop, admin, kit):
    created = kit.ok(admin.post("/shops", SHOP), 201)
    assert (created["invoices_enabled"], created["attach_invoice_to_email"]) == (False, False)
    path = f"/shops/{shop.id}"
    changed = kit.ok(shop.manager.patch(path, {"invoices_enabled": True, "attach_invoice_to_email": True}))
    assert (changed["invoices_enabled"], changed["attach_invoice_to_email"]) == (True, True)
    before = kit.ok(shop.manager.get(path))
    resp = shop.manager.patch(path, {"invoices_enabled": "yes", "attach_invoice_to_email": 1})
    assert resp.status_code == 422 and set(resp.get_json()["errors"]) == {"invoices_enabled",
                                                                          "attach_invoice_to_email"}
    assert kit.ok(shop.manager.get(path)) == before
