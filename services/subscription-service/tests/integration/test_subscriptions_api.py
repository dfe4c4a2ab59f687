"""Subscriptions over HTTP: every validation rule, estimates, edits, pause/unpause/cancel, lists and history."""

import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration


def subs(shop, sub_id=None, action=None):
    return f"/shops/{shop.id}/subscriptions" + (f"/{sub_id}" if sub_id else "") + (f"/{action}" if action else "")


def create(shop, kit, **kw):
    return kit.ok(shop.manager.post(subs(shop), kit.subscription_body(shop, **kw)), 201)


def place_order(kit, app, shop, sub, cycle, status="placed", version=1):
    """order-service placed the occurrence's order (applied with the consumer's projector)."""
    order_id = f"ord-{sub['id'][:8]}-{cycle['id'][:8]}"
    kit.project(app.dsn, "OrderPlaced", order_id, version, {
        "order_id": order_id, "shop_id": shop.id, "subscription_id": sub["id"], "order_cycle_id": cycle["id"],
        "customer_id": sub["customer_id"], "number": "R1", "status": status, "currency": "EUR", "lines": [],
        "totals": {"item_total": 3140, "shipping_fee": 500, "payment_fee": 85, "total": 3725},
        "shipping_method_id": shop.ship["id"], "payment_method_id": shop.card["id"], "payment_kind": "stripe",
        "bill_address": kit.ADDRESS | {"address2": None, "state": None, "phone": None},
        "ship_address": kit.ADDRESS | {"address2": None, "state": None, "phone": None},
        "opens_at": cycle["opens_at"], "closes_at": cycle["closes_at"], "late": False,
        "allocation_policy": "first_come", "stock_delta": []})
    return order_id


def test_a_subscription_is_created_with_catalog_prices_and_fee_estimates(shop, kit):
    resp = shop.manager.post(subs(shop), kit.subscription_body(shop))
    sub = kit.ok(resp, 201)
    assert resp.headers["ETag"] == '"1"'
    assert resp.headers["Location"] == f"/api/v1/shops/{shop.id}/subscriptions/{sub['id']}"
    assert sub["state"] == "active" and sub["payment_kind"] == "stripe" and sub["currency"] == "EUR"
    assert [(i["variant_id"], i["price_estimate"], i["name"]) for i in sub["items"]] == [
        ("eggs-6", 320, "Eggs"), ("veg-box", 2500, "Veg box")]
    assert sub["estimate"] == {"item_total": 3140, "shipping_fee": 500, "payment_fee": 85, "shipping_tax": 0,
                               "payment_tax": 0, "tax_total": 0, "total": 3725}
    assert sub["customer"]["email"] == shop.customer["email"] and sub["schedule_name"] == "Weekly"
    assert sub["begins_at_local"] == "2026-03-16T11:00:00+01:00"
    assert sub["warnings"] == []


def test_every_required_field_is_reported_at_once(shop, kit):
    resp = shop.manager.post(subs(shop), {})
    assert resp.status_code == 422
    assert {"customer_id", "schedule_id", "shipping_method_id", "payment_method_id", "bill_address", "ship_address",
            "begins_at", "items"} <= set(resp.get_json()["errors"])


def test_section_9_rules_are_reported_field_by_field_and_nothing_is_created(shop, other_shop, kit):
    body = kit.subscription_body(
        shop, customer_id=other_shop.customer["id"], schedule_id=other_shop.schedule["id"],
        shipping_method_id=other_shop.ship["id"], payment_method_id=other_shop.card["id"],
        ends_at="2026-03-16T09:00:00Z",
        items=[{"variant_id": "unknown", "quantity": 1}, {"variant_id": "eggs-6", "quantity": 1},
               {"variant_id": "eggs-6", "quantity": 1}])
    resp = shop.manager.post(subs(shop), body)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert errors["customer_id"] == ["Does not belong to La Ruche de Lyon."]
    assert errors["schedule_id"] == ["Is not coordinated by La Ruche de Lyon."]
    assert errors["shipping_method_id"] == ["Is not available to La Ruche de Lyon."]
    assert errors["payment_method_id"] == ["Is not available to La Ruche de Lyon."]
    assert errors["ends_at"] == ["Must be after begins at."]
    assert errors["items.0.variant_id"] == ["unknown is not available from La Ruche de Lyon."]
    assert "has already been added" in errors["items.2.variant_id"][0]
    assert kit.ok(shop.manager.get(subs(shop)))["items"] == []


def test_stripe_needs_the_customers_permission(shop, kit):
    kit.ok(shop.session.delete(f"/shops/{shop.id}/customers/{shop.customer['id']}/charges-permission"))
    resp = shop.manager.post(subs(shop), kit.subscription_body(shop))
    assert resp.get_json()["errors"]["payment_method_id"] == ["Credit card charges are not allowed by this customer."]
    cash = create(shop, kit, payment_method_id=shop.cash["id"])
    assert cash["payment_kind"] == "cash" and cash["estimate"]["payment_fee"] == 0


@pytest.mark.parametrize("items", [
    [{"variant_id": "eggs-6", "quantity": -1}],
    [{"variant_id": "eggs-6", "quantity": "2"}],
    [{"variant_id": "eggs-6", "quantity": 2.0}],
    [{"variant_id": "eggs-6", "quantity": 10 ** 12}],
    [{"variant_id": "eggs-6"}],
    [{"variant_id": "eggs-6", "quantity": 1, "price": 1}],
])
def test_wrong_types_and_out_of_range_quantities_are_422(shop, kit, items):
    assert shop.manager.post(subs(shop), kit.subscription_body(shop, items=items)).status_code == 422


def test_a_deleted_or_foreign_currency_variant_cannot_be_subscribed(shop, kit, app):
    kit.variant(app.dsn, shop.id, "dollar-jam", "Jam", 500, currency="USD")
    kit.project(app.dsn, "VariantDeleted", f"{shop.id}:veg-box", 2, {"variant_id": "veg-box", "shop_id": shop.id})
    resp = shop.manager.post(subs(shop), kit.subscription_body(shop, items=[
        {"variant_id": "dollar-jam", "quantity": 1}, {"variant_id": "veg-box", "quantity": 1}]))
    errors = resp.get_json()["errors"]
    assert errors["items.0.variant_id"] == ["Jam is priced in USD, not in the shop's EUR."]
    assert errors["items.1.variant_id"] == ["Veg box is not available from La Ruche de Lyon."]


def test_an_unavailable_variant_is_a_warning(shop, kit, app):
    kit.variant(app.dsn, shop.id, "asparagus", "Asparagus", 900, available=False)
    sub = create(shop, kit, items=[{"variant_id": "asparagus", "quantity": 1}])
    assert any("Asparagus is currently unavailable" in w for w in sub["warnings"])
    assert sub["items"][0]["available"] is False


def test_customers_cannot_create_or_change_subscriptions(shop, kit):
    """Pausing is theirs only when the shop lets them skip deliveries (test_holidays_and_pause_until.py)."""
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"allow_customer_skip": False}))
    assert shop.customer_api.post(subs(shop), kit.subscription_body(shop)).status_code == 403
    sub = create(shop, kit)
    assert kit.ok(shop.customer_api.get(subs(shop, sub["id"])))["id"] == sub["id"]
    assert shop.customer_api.patch(subs(shop, sub["id"]), {"ends_at": None}).status_code == 403
    assert shop.customer_api.post(subs(shop, sub["id"], "pause"), {}).status_code == 403
    assert shop.customer_api.post(subs(shop, sub["id"], "cancel"), {}).status_code == 403


def test_an_update_re_estimates_and_customer_and_schedule_never_change(shop, other_shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    resp = shop.manager.patch(url, {"items": [{"variant_id": "veg-box", "quantity": 2}],
                                    "schedule_id": shop.schedule["id"], "ends_at": "2026-06-30T00:00:00+02:00"},
                              headers={"If-Match": '"1"'})
    updated = kit.ok(resp)
    assert resp.headers["ETag"] == '"2"'
    assert updated["estimate"]["item_total"] == 5000 and updated["ends_at"] == "2026-06-29T22:00:00+00:00"
    moved = shop.manager.patch(url, {"customer_id": other_shop.customer["id"]})
    assert moved.status_code == 422 and "customer_id" in moved.get_json()["errors"]
    assert shop.manager.patch(url, {"ends_at": "2026-03-01T00:00:00Z"}).status_code == 422
    assert shop.manager.patch(url, {"items": []}).status_code == 422
    assert shop.manager.patch(url, {"ends_at": None}, headers={"If-Match": '"1"'}).status_code == 412
    assert kit.ok(shop.manager.get(url))["version"] == 2


def test_a_later_catalog_price_is_shown_at_once_in_the_estimates_and_saved_by_the_next_edit(shop, kit, app):
    sub = create(shop, kit)
    before = sub["estimate"]
    kit.variant(app.dsn, shop.id, "eggs-6", "Eggs", 350, version=2)
    shown = kit.ok(shop.manager.get(subs(shop, sub["id"])))
    assert shown["items"][0]["price_estimate"] == 350 and shown["items"][0]["total_estimate"] == 350 * 2
    assert shown["estimate"]["item_total"] == before["item_total"] + 2 * 30
    assert shown["estimate"]["total"] > before["total"]
    [listed] = [s for s in kit.ok(shop.manager.get(f"/shops/{shop.id}/subscriptions"))["items"] if s["id"] == sub["id"]]
    assert listed["estimate"] == shown["estimate"]
    occurrence = kit.ok(shop.manager.get(subs(shop, sub["id"]) + "/occurrences"))["items"][0]
    assert occurrence["total"] == shown["estimate"]["total"] and occurrence["total_is_estimate"] is True
    one = kit.ok(shop.manager.get(subs(shop, sub["id"]) + f"/occurrences/{occurrence['order_cycle_id']}"))
    assert one["total"] == shown["estimate"]["total"]
    edited = kit.ok(shop.manager.patch(subs(shop, sub["id"]), {"bill_address": {**kit.ADDRESS, "city": "Paris"}}))
    assert edited["items"][0]["price_estimate"] == 350 and edited["bill_address"]["city"] == "Paris"
    saved = kit.ok(shop.manager.get(subs(shop, sub["id"]) + "/history"))["items"][-1]["data"]["changes"]["items"]
    assert saved[0]["price_estimate"] == 350


def test_pause_unpause_and_cancel_with_no_open_orders(shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    paused = kit.ok(shop.manager.post(f"{url}/pause", {}, headers={"X-Change-Reason": "holidays"}))
    assert paused["state"] == "paused" and paused["paused_at"] is not None
    assert shop.manager.post(f"{url}/pause", {}).status_code == 409
    assert kit.ok(shop.manager.post(f"{url}/unpause"))["state"] == "active"
    assert shop.manager.post(f"{url}/unpause").status_code == 409
    cancelled = kit.ok(shop.manager.post(f"{url}/cancel", {"open_orders": "cancel"}))
    assert cancelled["state"] == "cancelled"
    for action, body in (("cancel", {}), ("pause", {}), ("unpause", None)):
        assert shop.manager.post(f"{url}/{action}", body).status_code == 409
    assert shop.manager.patch(url, {"ends_at": None}).status_code == 409
    history = kit.ok(shop.manager.get(f"{url}/history"))["items"]
    assert [h["event_type"] for h in history] == ["SubscriptionCreated", "SubscriptionPaused",
                                                  "SubscriptionUnpaused", "SubscriptionCancelled"]
    assert history[1]["reason"] == "holidays" and history[1]["data"]["open_orders"] == "none"
    assert history[3]["data"]["open_orders"] == "cancel"  # the choice given stands (no open order was known)


def test_unpause_re_validates_everything(shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    kit.ok(shop.manager.post(f"{url}/pause", {}))
    kit.ok(shop.session.delete(f"/shops/{shop.id}/customers/{shop.customer['id']}/charges-permission"))
    refused = shop.manager.post(f"{url}/unpause")
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["payment_method_id"] == [
        "Credit card charges are not allowed by this customer."]
    assert kit.ok(shop.manager.get(url))["state"] == "paused"


def test_pause_and_cancel_ask_keep_or_cancel_when_an_order_is_placed_in_an_open_cycle(shop, kit, app, clock):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    clock(datetime(2026, 3, 18, 12, tzinfo=UTC))  # the first cycle is open
    place_order(kit, app, shop, sub, shop.cycles[0])
    asked = shop.manager.post(f"{url}/pause", {})
    assert asked.status_code == 409
    problem = asked.get_json()
    assert problem["errors"]["open_order_cycle_ids"] == [shop.cycles[0]["id"]]
    assert "keep" in problem["detail"] and "cancel" in problem["detail"]
    assert shop.manager.post(f"{url}/pause", {"open_orders": "maybe"}).status_code == 422
    kept = kit.ok(shop.manager.post(f"{url}/pause", {"open_orders": "keep"}))
    assert kept["state"] == "paused"
    unpaused = kit.ok(shop.manager.post(f"{url}/unpause"))
    assert unpaused["state"] == "active" and unpaused["warnings"] == []  # the open cycle has its (kept) order
    kit.ok(shop.manager.post(f"{url}/pause", {"open_orders": "keep"}))
    assert shop.manager.post(f"{url}/cancel", {}).status_code == 409
    kit.ok(shop.manager.post(f"{url}/cancel", {"open_orders": "cancel"}))
    history = kit.ok(shop.manager.get(f"{url}/history"))["items"]
    assert history[1]["data"] == {"open_orders": "keep", "open_order_cycle_ids": [shop.cycles[0]["id"]],
                                  "resumes_at": None, "resumes_on": None}  # paused until unpaused
    assert history[4]["data"] == {"open_orders": "cancel", "open_order_cycle_ids": [shop.cycles[0]["id"]]}


def test_an_order_due_but_not_yet_placed_also_asks_for_the_choice(shop, kit, app, clock):
    sub = create(shop, kit)
    clock(datetime(2026, 3, 18, 12, tzinfo=UTC))
    c = shop.cycles[0]
    kit.project(app.dsn, "OrderDue", f"{sub['id']}:{c['id']}", 1, {
        "subscription_id": sub["id"], "order_cycle_id": c["id"], "shop_id": shop.id,
        "customer_id": shop.customer["id"], "schedule_id": shop.schedule["id"], "opens_at": c["opens_at"],
        "closes_at": c["closes_at"], "due_at": c["opens_at"], "reason": "cycle_opened", "lateness_seconds": 0.0,
        "late": False})
    assert shop.manager.post(subs(shop, sub["id"], "pause"), {}).status_code == 409


def test_states_pending_and_ended_follow_the_clock(shop, kit, clock):
    sub = create(shop, kit, begins_at="2026-04-01T00:00:00+02:00", ends_at="2026-04-20T00:00:00+02:00")
    assert sub["state"] == "pending"
    clock(datetime(2026, 4, 10, tzinfo=UTC))
    assert kit.ok(shop.manager.get(subs(shop, sub["id"])))["state"] == "active"
    clock(datetime(2026, 4, 25, tzinfo=UTC))
    assert kit.ok(shop.manager.get(subs(shop, sub["id"])))["state"] == "ended"
    assert shop.manager.post(subs(shop, sub["id"], "pause"), {}).status_code == 409


def test_lists_filter_by_state_customer_schedule_and_text_and_paginate(shop, kit):
    second = kit.ok(shop.manager.post(f"/shops/{shop.id}/customers", {
        "email": "marc@example.org", "first_name": "Marc", "last_name": "Blanc"}), 201)
    a = create(shop, kit)
    b = create(shop, kit, customer_id=second["id"], payment_method_id=shop.cash["id"])
    c = create(shop, kit, begins_at="2026-05-01T00:00:00Z")
    d = create(shop, kit)
    kit.ok(shop.manager.post(subs(shop, d["id"], "cancel"), {}))
    kit.ok(shop.manager.post(subs(shop, a["id"], "pause"), {}))

    def ids(query=""):
        return {s["id"] for s in kit.ok(shop.manager.get(subs(shop) + query))["items"]}

    assert ids() == {a["id"], b["id"], c["id"]}  # cancelled ones only when asked for
    assert ids("?state=cancelled") == {d["id"]}
    assert ids("?state=paused&state=pending") == {a["id"], c["id"]}
    assert ids("?state=active") == {b["id"]}
    assert ids(f"?customer_id={second['id']}") == {b["id"]}
    assert ids("?q=blanc") == {b["id"]}
    assert ids("?q=MARC%40example") == {b["id"]}
    assert ids(f"?schedule_id={shop.schedule['id']}&state=active&state=paused&state=pending&state=cancelled") == \
        {a["id"], b["id"], c["id"], d["id"]}
    assert shop.manager.get(subs(shop) + "?state=sleeping").status_code == 422
    first = kit.ok(shop.manager.get(subs(shop) + "?limit=2&sort=-customer_email"))
    assert first["items"][0]["customer"]["email"] == "marc@example.org" and first["next_cursor"]
    rest = kit.ok(shop.manager.get(subs(shop) + f"?limit=2&sort=-customer_email&cursor={first['next_cursor']}"))
    assert len(first["items"]) + len(rest["items"]) == 3 and rest["next_cursor"] is None
    mine = kit.ok(shop.customer_api.get(subs(shop) + "?state=active&state=paused&state=pending"))["items"]
    assert {s["id"] for s in mine} == {a["id"], c["id"]}
    assert kit.ok(shop.customer_api.get(subs(shop) + f"?customer_id={second['id']}"))["items"] == []


def test_history_tells_who_when_what_and_why(shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    kit.ok(shop.manager.patch(url, {"items": [{"variant_id": "eggs-6", "quantity": 6}]},
                              headers={"X-Change-Reason": "asked by phone"}))
    history = kit.ok(shop.customer_api.get(f"{url}/history"))["items"]
    created, updated = history
    assert created["version"] == 1 and created["actor"]["type"] == "manager"
    assert created["actor"]["id"] == shop.manager_token["id"]
    assert updated["reason"] == "asked by phone" and updated["occurred_at"].startswith("2026-03-16T10:00:00")
    assert updated["data"]["changes"]["items"] == [{"variant_id": "eggs-6", "quantity": 6, "price_estimate": 320,
                                                    "substitutes": []}]
    assert updated["data"]["previous"]["items"][0]["quantity"] == 2
    page = kit.ok(shop.manager.get(f"{url}/history?limit=1"))
    assert len(page["items"]) == 1
    rest = kit.ok(shop.manager.get(f"{url}/history?limit=1&cursor={page['next_cursor']}"))
    assert rest["items"][0]["version"] == 2 and rest["next_cursor"] is None
    too_long = shop.manager.patch(url, {"ends_at": None}, headers={"X-Change-Reason": "x" * 501})
    assert too_long.status_code == 422 and "X-Change-Reason" in too_long.get_json()["errors"]


def test_unpausing_during_an_open_cycle_says_an_order_will_be_placed(shop, kit, clock):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    kit.ok(shop.manager.post(f"{url}/pause", {}))
    clock(datetime(2026, 3, 18, 12, tzinfo=UTC))
    unpaused = kit.ok(shop.manager.post(f"{url}/unpause"))
    assert unpaused["warnings"] == [
        "An order cycle of this subscription is open: an order will be placed for this customer now."]


def test_the_shops_kill_switch_shows_on_its_subscriptions(shop, kit):
    sub = create(shop, kit)
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"subscriptions_enabled": False},
                              headers={"X-Change-Reason": "winter break"}))
    shown = kit.ok(shop.manager.get(subs(shop, sub["id"])))
    assert shown["warnings"] == ["Subscriptions are disabled for La Ruche de Lyon: no order is placed until they "
                                 "are enabled."]
    assert shown["state"] == "active"  # the subscription itself is unchanged


def test_a_live_estimate_prices_a_draft_as_the_saved_subscription_is_priced_and_saves_nothing(shop, kit):
    draft = {"items": [{"variant_id": "eggs-6", "quantity": 2}, {"variant_id": "veg-box", "quantity": 1}],
             "shipping_method_id": shop.ship["id"], "payment_method_id": shop.card["id"]}
    estimated = kit.ok(shop.manager.post(subs(shop, "estimate"), draft))
    saved = create(shop, kit)
    assert estimated == {"currency": "EUR", "items": saved["items"], "estimate": saved["estimate"]}
    assert estimated["estimate"] == {"item_total": 3140, "shipping_fee": 500, "payment_fee": 85, "shipping_tax": 0,
                                     "payment_tax": 0, "tax_total": 0, "total": 3725}
    assert [s["id"] for s in kit.ok(shop.manager.get(subs(shop)))["items"]] == [saved["id"]]


def test_a_live_estimate_without_methods_or_with_an_unknown_product_has_no_total(shop, kit):
    items_only = kit.ok(shop.manager.post(subs(shop, "estimate"), {"items": [{"variant_id": "eggs-6",
                                                                               "quantity": 3}]}))
    assert items_only["items"] == [{"variant_id": "eggs-6", "quantity": 3, "price_estimate": 320,
                                    "total_estimate": 960, "name": "Eggs", "available": True,
                                    "substitutes": [], "substitute_names": []}]
    assert items_only["estimate"] == {"item_total": 960, "shipping_fee": None, "payment_fee": None,
                                      "shipping_tax": None, "payment_tax": None, "tax_total": None, "total": None}
    unknown = kit.ok(shop.manager.post(subs(shop, "estimate"), {
        "items": [{"variant_id": "eggs-6", "quantity": 1}, {"variant_id": "no-such", "quantity": 1}],
        "shipping_method_id": shop.ship["id"], "payment_method_id": shop.cash["id"]}))
    assert unknown["items"][1] == {"variant_id": "no-such", "quantity": 1, "price_estimate": None,
                                   "total_estimate": None, "name": None, "available": False,
                                   "substitutes": [], "substitute_names": []}
    assert unknown["estimate"]["total"] is None


def test_a_live_estimate_is_for_the_shops_managers_and_refuses_bad_shapes_by_field(shop, other_shop, kit):
    body = {"items": [{"variant_id": "eggs-6", "quantity": 1}]}
    assert shop.customer_api.post(subs(shop, "estimate"), body).status_code == 403
    assert other_shop.manager.post(subs(shop, "estimate"), body).status_code == 404
    bad = shop.manager.post(subs(shop, "estimate"), {"items": [{"variant_id": "eggs-6", "quantity": -1}],
                                                     "colour": "red"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"items.0.quantity", "colour"}
    assert shop.manager.post(subs(shop, "estimate"), {}).get_json()["errors"] == {
        "items": ["Missing data for required field."]}


def test_history_says_who_in_words_to_the_shops_managers_only(shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    kit.ok(shop.customer_api.post(f"{url}/pause", {}))
    kit.ok(shop.session.post(f"{url}/unpause"))  # the customer's own session, opened by the emailed link
    first, second, third = kit.ok(shop.manager.get(f"{url}/history"))["items"]
    assert first["who"] == {"name": "manager", "email": None}
    assert second["who"] == third["who"] == {"name": "Camille Durand", "email": shop.customer["email"]}
    assert all(e["who"] is None for e in kit.ok(shop.customer_api.get(f"{url}/history"))["items"])


def test_history_names_a_manager_who_signed_in_by_the_emailed_link_by_that_address(shop, kit, admin, app):
    from devstack.testing import emailed_sign_in_token, last_message_id

    address = f"alex-{uuid.uuid4().hex[:6]}@example.org"
    kit.ok(admin.post(f"/shops/{shop.id}/managers", {"email": address}), 201)
    before = last_message_id(app.infra.smtp_api)
    kit.ok(kit.Client(app, None).post("/api/v1/manager-sign-in-links", {"email": address}), 202)
    token = emailed_sign_in_token(app.infra.smtp_api, address, before)
    alex = kit.Client(app, kit.ok(kit.Client(app, None).post("/api/v1/sessions", {"token": token}), 201)["token"])
    sub = create(shop, kit)
    kit.ok(alex.post(subs(shop, sub["id"], "pause"), {}))
    entries = kit.ok(alex.get(subs(shop, sub["id"], "history")))["items"]
    assert [e["who"] for e in entries] == [{"name": "manager", "email": None}, {"name": None, "email": address}]


def test_an_item_names_its_substitutes_in_order_of_preference_shown_by_name_and_in_the_history(shop, kit):
    sub = create(shop, kit, items=[{"variant_id": "eggs-6", "quantity": 2, "substitutes": ["veg-box"]}])
    assert sub["items"][0]["substitutes"] == ["veg-box"] and sub["items"][0]["substitute_names"] == ["Veg box"]
    url = subs(shop, sub["id"])
    kit.ok(shop.manager.patch(url, {"items": [{"variant_id": "eggs-6", "quantity": 2, "substitutes": []},
                                              {"variant_id": "veg-box", "quantity": 1, "substitutes": ["eggs-6"]}]},
                              headers={"If-Match": '"1"'}))
    shown = kit.ok(shop.manager.get(url))
    assert [(i["variant_id"], i["substitutes"]) for i in shown["items"]] == [("eggs-6", []), ("veg-box", ["eggs-6"])]
    [_, updated] = kit.ok(shop.manager.get(f"{url}/history"))["items"]
    assert updated["data"]["previous"]["items"][0]["substitutes"] == ["veg-box"]
    assert updated["data"]["changes"]["items"][1]["substitutes"] == ["eggs-6"]


def test_a_list_of_subscriptions_names_each_items_substitutes_as_the_subscription_does(shop, kit):
    sub = create(shop, kit, items=[{"variant_id": "eggs-6", "quantity": 2, "substitutes": ["veg-box"]}])
    for who in (shop.manager, shop.customer_api):
        listed = kit.ok(who.get(subs(shop)))["items"]
        [item] = next(s for s in listed if s["id"] == sub["id"])["items"]
        assert item["substitutes"] == ["veg-box"] and item["substitute_names"] == ["Veg box"]


def test_substitutes_and_quantities_are_refused_field_by_field_and_nothing_is_saved(shop, kit, app):
    kit.variant(app.dsn, shop.id, "honey", "Honey", 900)
    kit.project(app.dsn, "VariantDeleted", f"{shop.id}:veg-box", 2, {"variant_id": "veg-box", "shop_id": shop.id})
    zero = shop.manager.post(subs(shop), kit.subscription_body(shop, items=[{"variant_id": "eggs-6", "quantity": 0}]))
    assert zero.status_code == 422 and set(zero.get_json()["errors"]) == {"items.0.quantity"}
    too_many = shop.manager.post(subs(shop), kit.subscription_body(shop, items=[
        {"variant_id": "eggs-6", "quantity": 1, "substitutes": ["a", "b", "c", "d"]}]))
    assert too_many.status_code == 422 and set(too_many.get_json()["errors"]) == {"items.0.substitutes"}
    bad = shop.manager.post(subs(shop), kit.subscription_body(shop, items=[
        {"variant_id": "eggs-6", "quantity": 1, "substitutes": ["eggs-6", "unknown", "unknown"]},
        {"variant_id": "honey", "quantity": 1, "substitutes": ["veg-box"]}]))
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert errors["items.0.substitutes.0"] == ["A product cannot be its own substitute."]
    assert errors["items.0.substitutes.1"] == ["unknown is not available from La Ruche de Lyon."]
    assert errors["items.0.substitutes.2"] == ["unknown is already a substitute of this product."]
    assert errors["items.1.substitutes.0"] == ["Veg box is not available from La Ruche de Lyon."]
    assert kit.ok(shop.manager.get(subs(shop)))["items"] == []
    sub = create(shop, kit, items=[{"variant_id": "eggs-6", "quantity": 1}])
    refused = shop.manager.patch(subs(shop, sub["id"]), {"items": [{"variant_id": "eggs-6", "quantity": 0}]})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"items.0.quantity"}
    assert kit.ok(shop.manager.get(subs(shop, sub["id"])))["version"] == 1


def test_a_subscription_saved_earlier_with_a_quantity_of_0_is_shown_with_a_warning_and_left_as_it_is(shop, kit, app):
    sub = create(shop, kit)
    items = [{"variant_id": "eggs-6", "quantity": 0, "price_estimate": 320}, sub["items"][1] | {}]
    items[1] = {k: items[1][k] for k in ("variant_id", "quantity", "price_estimate")}
    kit.project(app.dsn, "SubscriptionUpdated", sub["id"], 2, {  # as an event from before 0 was refused
        "subscription_id": sub["id"], "shop_id": shop.id, "changes": {"items": items},
        "previous": {"items": []}, "actor": {"type": "manager", "id": "m"}, "reason": None})
    url = subs(shop, sub["id"])
    shown = kit.ok(shop.manager.get(url))
    assert shown["version"] == 2 and [i["quantity"] for i in shown["items"]] == [0, 1]
    assert any(w.startswith("Eggs") and "quantity of 0" in w for w in shown["warnings"])
    # another change leaves the line as it is, and says so again
    kept = kit.ok(shop.manager.patch(url, {"ends_at": "2026-12-31T00:00:00Z"}, headers={"If-Match": '"2"'}))
    assert [i["quantity"] for i in kept["items"]] == [0, 1] and any("quantity of 0" in w for w in kept["warnings"])


def test_a_customer_changes_substitutes_beside_a_line_kept_at_0_and_a_new_or_changed_0_is_still_refused(shop, kit,
                                                                                                          app):
    sub = create(shop, kit)
    kit.project(app.dsn, "SubscriptionUpdated", sub["id"], 2, {  # as an event from before 0 was refused
        "subscription_id": sub["id"], "shop_id": shop.id, "changes": {"items": [
            {"variant_id": "eggs-6", "quantity": 0, "price_estimate": 320},
            {"variant_id": "veg-box", "quantity": 1, "price_estimate": 2500}]},
        "previous": {"items": []}, "actor": {"type": "manager", "id": "m"}, "reason": None})
    url = subs(shop, sub["id"])
    mine = [{"variant_id": "eggs-6", "quantity": 0}, {"variant_id": "veg-box", "quantity": 1,
                                                       "substitutes": ["eggs-6"]}]
    changed = kit.ok(shop.customer_api.patch(url, {"items": mine}, headers={"If-Match": '"2"'}))
    assert [(i["quantity"], i["substitutes"]) for i in changed["items"]] == [(0, []), (1, ["eggs-6"])]
    assert changed["version"] == 3 and any("quantity of 0" in w for w in changed["warnings"])
    assert shop.customer_api.patch(url, {"items": [mine[0] | {"quantity": 1}, mine[1]]}).status_code == 403
    kit.variant(app.dsn, shop.id, "honey", "Honey", 900)
    for items, field in (([mine[0], mine[1] | {"quantity": 0}], "items.1.quantity"),  # a quantity changed to 0
                         ([*mine, {"variant_id": "honey", "quantity": 0}], "items.2.quantity")):  # a new line of 0
        refused = shop.manager.patch(url, {"items": items})
        assert refused.status_code == 422 and refused.get_json()["errors"] == {field: ["Must be at least 1."]}
    assert kit.ok(shop.manager.get(url))["version"] == 3


def test_a_customer_changes_only_the_substitutes_of_their_own_subscriptions_products(shop, kit):
    sub = create(shop, kit)
    url = subs(shop, sub["id"])
    mine = [{"variant_id": "eggs-6", "quantity": 2, "substitutes": ["veg-box"]},
            {"variant_id": "veg-box", "quantity": 1}]
    changed = kit.ok(shop.customer_api.patch(url, {"items": mine}, headers={"If-Match": '"1"'}))
    assert [i["substitutes"] for i in changed["items"]] == [["veg-box"], []] and changed["version"] == 2
    [_, updated] = kit.ok(shop.manager.get(f"{url}/history"))["items"]
    assert updated["actor"]["type"] == "customer"
    more = [{"variant_id": "eggs-6", "quantity": 3, "substitutes": ["veg-box"]}, {"variant_id": "veg-box",
                                                                                  "quantity": 1}]
    assert shop.customer_api.patch(url, {"items": more}).status_code == 403
    assert shop.customer_api.patch(url, {"items": mine, "ends_at": None}).status_code == 403
    assert shop.customer_api.patch(url, {"items": mine[:1]}).status_code == 403
    assert shop.customer_api.patch(url, {"items": mine}, headers={"If-Match": '"1"'}).status_code == 412
    assert kit.ok(shop.manager.get(url))["version"] == 2
