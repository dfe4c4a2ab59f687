"""The scheduler API: the test clock (admin, test clock mode only), boundaries for operators, metrics."""

import hashlib

import pytest
from scheduler_harness import START, Api, days, hours, new_id

pytestmark = pytest.mark.integration


def manager_token(f, shop_ids):
    token = "rop_manager_" + new_id().replace("-", "")
    token_id = new_id()
    f.emit("TokenIssued", token_id, {"token_id": token_id, "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                                     "role": "manager", "shop_ids": shop_ids, "customer_id": None, "label": "manager",
                                     "expires_at": None, "actor": None, "reason": None}, None)
    return token


@pytest.fixture
def two_shops(harness):
    h, f = harness, harness.feed
    shops = [f.shop(timezone="Europe/Paris"), f.shop(timezone="Australia/Melbourne")]
    cycles = {}
    for shop in shops:
        cycles[shop] = f.cycle(shop, START + hours(1), START + days(1))
        f.subscription(shop, f.schedule(shop, [cycles[shop]]), START)
    token = manager_token(f, [shops[0]])
    h.start("consumer")
    h.start("relay")
    h.wait_applied()
    return h, shops, cycles, token


def test_the_test_clock_is_read_set_and_advanced_by_the_admin_only(two_shops):
    h, _shops, _cycles, token = two_shops
    admin, manager, anonymous = h.api(), Api(h.api().app, token), Api(h.api().app, token="")

    assert anonymous.client.get("/api/v1/test-clock").status_code == 401
    assert manager.get("/api/v1/test-clock").status_code == 403
    assert manager.post("/api/v1/test-clock/advance", {"seconds": 60}).status_code == 403
    clock = admin.get("/api/v1/test-clock").get_json()
    assert clock["mode"] == "test" and clock["now"] == START.isoformat()

    moved = admin.post("/api/v1/test-clock", {"at": (START + hours(0.5)).isoformat()}).get_json()
    assert moved["now"] == (START + hours(0.5)).isoformat() and moved["version"] > clock["version"]
    assert h.outbox() == [], "setting the clock emits nothing by itself"
    back = admin.post("/api/v1/test-clock", {"at": START.isoformat()})
    assert back.status_code == 409 and "forward" in back.get_json()["detail"]

    out = admin.advance(seconds=3600)
    assert out["now"] == (START + hours(1.5)).isoformat()
    assert [(b["kind"], b["due_count"], b["boundary_at"]) for b in out["boundaries"]] == \
        [("open", 1, (START + hours(1)).isoformat())] * 2
    assert admin.post("/api/v1/test-clock/advance", {"to": START.isoformat()}).status_code == 409


@pytest.mark.parametrize("body,field", [
    ({"to": START.isoformat(), "seconds": 5}, "_schema"),
    ({}, "_schema"),
    ({"seconds": -1}, "seconds"),
    ({"seconds": 5, "speed": 2}, "speed"),
    ({"to": "next tuesday"}, "to"),
    ({"to": "2026-03-02T10:00:00"}, "to"),  # no offset: ambiguous
])
def test_an_invalid_advance_is_refused_with_the_field_in_error(harness, body, field):
    resp = harness.api().post("/api/v1/test-clock/advance", body)
    assert resp.status_code == 422 and field in resp.get_json()["errors"], resp.get_json()


def test_outside_test_clock_mode_the_clock_can_be_read_but_never_moved(harness):
    api = harness.api(test_clock=False)
    assert api.get("/api/v1/test-clock").get_json()["mode"] == "system"
    for path, body in (("/api/v1/test-clock", {"at": START.isoformat()}),
                       ("/api/v1/test-clock/advance", {"seconds": 1})):
        resp = api.post(path, body)
        assert resp.status_code == 409 and "TEST_CLOCK_URL" in resp.get_json()["detail"]


def test_operators_list_emitted_and_pending_boundaries_and_managers_only_their_shops(two_shops):
    h, shops, cycles, token = two_shops
    admin, manager = h.api(), Api(h.api().app, token)
    pending = admin.get("/api/v1/boundaries/pending").get_json()["items"]
    assert {(p["order_cycle_id"], p["kind"], p["overdue_seconds"]) for p in pending} == \
        {(cycles[s], "open", 0.0) for s in shops}
    assert {p["fire_at_local"] for p in pending} == {"2026-03-02T10:00:00+01:00", "2026-03-02T20:00:00+11:00"}
    admin.advance(to=START + days(2))

    first = admin.get("/api/v1/boundaries?limit=3").get_json()
    second = admin.get(f"/api/v1/boundaries?limit=3&cursor={first['next_cursor']}").get_json()
    listed = first["items"] + second["items"]
    assert len(first["items"]) == 3 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert [b["kind"] for b in listed] == ["close", "close", "open", "open"]
    opened = [b for b in listed if b["kind"] == "open"]
    assert {b["due_count"] for b in opened} == {1} and {b["worker"] for b in listed} == {"api:api-test"}
    assert all(b["lag_seconds"] >= 0 and b["lateness_seconds"] == 0 for b in listed)

    mine = manager.get(f"/api/v1/shops/{shops[0]}/boundaries").get_json()["items"]
    assert {b["shop_id"] for b in mine} == {shops[0]} and len(mine) == 2
    assert manager.get(f"/api/v1/shops/{shops[1]}/boundaries").status_code == 404
    assert manager.get("/api/v1/boundaries").status_code == 403
    assert admin.get("/api/v1/boundaries?cursor=garbage").status_code == 400
    assert admin.get(f"/api/v1/boundaries?shop_id={shops[0]}&cursor={first['next_cursor']}").status_code == 400
    assert admin.get("/api/v1/boundaries?limit=500").status_code == 422


def test_the_boundary_lag_is_a_metric_on_the_api(two_shops):
    h, *_ = two_shops
    api = h.api()
    api.advance(to=START + days(2))
    body = api.client.get("/metrics").get_data(as_text=True)
    assert "scheduler_boundary_lag_seconds_bucket" in body
    assert 'scheduler_boundaries_total{kind="open",on_time="true"}' in body
    assert 'scheduler_order_due_total{late="false",reason="cycle_opened"}' in body
    openapi = api.client.get("/openapi.json").get_json()
    assert {"/api/v1/test-clock", "/api/v1/test-clock/advance", "/api/v1/boundaries",
            "/api/v1/boundaries/pending", "/api/v1/shops/{shop_id}/boundaries"} <= set(openapi["paths"])
