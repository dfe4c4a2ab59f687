"""A manager (or customer) of shop A gets 404 for every resource of shop B, and lists never leak."""

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def b(other_shop, kit):
    """Shop B with a subscription; returns every kind of path of shop B."""
    sub = kit.ok(other_shop.manager.post(f"/shops/{other_shop.id}/subscriptions",
                                         kit.subscription_body(other_shop)), 201)
    s, cycle = f"/shops/{other_shop.id}", other_shop.cycles[0]["id"]
    return {
        "shop": s, "ship": f"{s}/shipping-methods/{other_shop.ship['id']}",
        "pay": f"{s}/payment-methods/{other_shop.card['id']}",
        "customer": f"{s}/customers/{other_shop.customer['id']}", "cycle": f"{s}/order-cycles/{cycle}",
        "schedule": f"{s}/schedules/{other_shop.schedule['id']}", "sub": f"{s}/subscriptions/{sub['id']}",
        "occurrence": f"{s}/subscriptions/{sub['id']}/occurrences/{cycle}", "sub_id": sub["id"],
    }


def test_every_read_of_another_shop_is_404(shop, b):
    for caller in (shop.manager, shop.customer_api):
        for path in (b["shop"], b["ship"], b["pay"], b["customer"], b["cycle"], b["schedule"], b["sub"],
                     b["occurrence"], f"{b['sub']}/history", f"{b['sub']}/occurrences",
                     f"{b['shop']}/customers", f"{b['shop']}/subscriptions", f"{b['shop']}/schedules",
                     f"{b['shop']}/order-cycles", f"{b['shop']}/shipping-methods", f"{b['shop']}/payment-methods"):
            resp = caller.get(path)
            assert resp.status_code == 404, (path, resp.status_code)
            assert "other" not in resp.get_data(as_text=True).lower()


def test_every_write_to_another_shop_is_404_and_changes_nothing(shop, other_shop, b, kit):
    before = kit.ok(other_shop.manager.get(b["sub"]))
    writes = [
        ("PATCH", b["shop"], {"name": "Hijacked"}), ("PATCH", b["ship"], {"fee_flat": 1}),
        ("DELETE", b["pay"], None), ("POST", f"{b['shop']}/shipping-methods",
                                     {"name": "X", "fee_flat": 0, "fee_percent_bp": 0}),
        ("POST", f"{b['shop']}/customers", {"email": "a@b.example", "first_name": "A", "last_name": "B"}),
        ("PATCH", b["customer"], {"last_name": "X"}), ("DELETE", b["customer"], None),
        ("PUT", f"{b['customer']}/charges-permission", None), ("PUT", f"{b['customer']}/card",
                                                               {"setup_intent_id": "seti_1"}),
        ("POST", f"{b['customer']}/card/setup", None),
        ("POST", f"{b['shop']}/order-cycles", {"name": "X", "opens_at": "2026-05-01T00:00:00Z",
                                              "closes_at": "2026-05-02T00:00:00Z"}),
        ("PATCH", b["cycle"], {"name": "X"}), ("DELETE", b["cycle"], None),
        ("POST", f"{b['shop']}/schedules", {"name": "X", "order_cycle_ids": [other_shop.cycles[0]["id"]]}),
        ("PATCH", b["schedule"], {"name": "X"}), ("DELETE", b["schedule"], None),
        ("POST", f"{b['shop']}/subscriptions", kit.subscription_body(other_shop)),
        ("PATCH", b["sub"], {"ends_at": None}), ("POST", f"{b['sub']}/pause", {}),
        ("POST", f"{b['sub']}/unpause", None), ("POST", f"{b['sub']}/cancel", {}),
        ("POST", f"{b['occurrence']}/skip", None), ("POST", f"{b['occurrence']}/resume", None),
        ("POST", f"{b['shop']}/order-cycles/generate", {
            "opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "monday", "closes_time": "20:00",
            "start_date": "2026-06-01", "count": 1}),
    ]
    for caller in (shop.manager, shop.customer_api, shop.session):
        for method, path, body in writes:
            resp = caller.call(method, path, body)
            assert resp.status_code == 404, (method, path, resp.status_code, resp.get_json())
    assert kit.ok(other_shop.manager.get(b["sub"])) == before
    assert kit.ok(other_shop.manager.get(b["shop"]))["name"] == "Autre boutique"


def test_ids_of_another_shop_used_inside_my_shop_are_not_found(shop, other_shop, b, kit):
    mine = f"/shops/{shop.id}"
    for path in (f"{mine}/customers/{other_shop.customer['id']}", f"{mine}/subscriptions/{b['sub_id']}",
                 f"{mine}/schedules/{other_shop.schedule['id']}", f"{mine}/order-cycles/{other_shop.cycles[0]['id']}",
                 f"{mine}/shipping-methods/{other_shop.ship['id']}", f"{mine}/subscriptions/{b['sub_id']}/history"):
        assert shop.manager.get(path).status_code == 404, path


def test_lists_and_searches_never_leak(shop, other_shop, b, kit):
    mine = f"/shops/{shop.id}"
    subs = kit.ok(shop.manager.get(f"{mine}/subscriptions?q=camille&state=active&state=pending&state=paused"
                                   "&state=ended&state=cancelled"))["items"]
    assert all(s["shop_id"] == shop.id for s in subs) and b["sub_id"] not in {s["id"] for s in subs}
    filtered = kit.ok(shop.manager.get(f"{mine}/subscriptions?customer_id={other_shop.customer['id']}"))["items"]
    assert filtered == []
    by_schedule = kit.ok(shop.manager.get(f"{mine}/subscriptions?schedule_id={other_shop.schedule['id']}"))["items"]
    assert by_schedule == []
    customers = kit.ok(shop.manager.get(f"{mine}/customers?q=camille"))["items"]
    assert {c["id"] for c in customers} == {shop.customer["id"]}
    cycles = kit.ok(shop.manager.get(f"{mine}/order-cycles?schedule_id={other_shop.schedule['id']}"))["items"]
    assert cycles == []
    assert {s["id"] for s in kit.ok(shop.manager.get("/shops?limit=200"))["items"]} == {shop.id}
    tokens = {t["id"] for t in kit.ok(shop.manager.get("/tokens?include_revoked=true&limit=200"))["items"]}
    assert other_shop.manager_token["id"] not in tokens and other_shop.customer_token["id"] not in tokens
