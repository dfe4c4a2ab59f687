"""A customer sees and changes only what is theirs, only as far as the shop allows; the permission to charge a
card, and the card, are the customer's alone to give, in a session they opened with the link emailed to them (the
admin, the shop's managers and a customer token a manager issued cannot)."""

from __future__ import annotations

import pytest
from security_world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_a_customer_sees_only_their_own_records_in_every_list_of_every_service(world):
    w = world
    me, base = w.c1, w.a.base
    subs = w.api("subscription-service", me.token)
    assert {s["customer_id"] for s in subs.all_pages(f"{base}/subscriptions")} == {me.id}
    assert subs.get(f"{base}/customers/{me.id}")["email"] == me.email
    assert subs.call("GET", f"{base}/customers/{w.c2.id}").status_code == 404
    customers = subs.call("GET", f"{base}/customers")
    assert customers.status_code in (403, 200)
    if customers.status_code == 200:
        assert {c["id"] for c in customers.json()["items"]} == {me.id}
    orders = w.api("order-service", me.token)
    mine = orders.all_pages(f"{base}/orders")
    assert len(mine) == 2 and {o["customer_id"] for o in mine} == {me.id}
    assert orders.all_pages(f"{base}/orders", {"customer_id": w.c2.id}) == []
    assert orders.call("GET", f"{base}/customers/{w.c2.id}/orders").status_code == 404
    assert orders.get(f"{base}/orders/{w.c1_ids['order_id']}")["customer_id"] == me.id
    for path in (f"{base}/orders/{w.ids['order_id']}", f"{base}/orders/{w.ids['order_id']}/history"):
        assert orders.call("GET", path).status_code == 404, path
    billing = w.api("billing-service", me.token)
    pays = billing.all_pages(f"{base}/payments")
    assert [p["payment_id"] for p in pays] == [w.c1_ids["payment_id"]]
    assert billing.call("GET", f"{base}/payments/{w.ids['payment_id']}").status_code == 404
    assert billing.get(f"{base}/payments/{w.c1_ids['payment_id']}")["customer_id"] == me.id


def test_a_customer_changes_their_own_open_order_only_while_the_shop_allows_it(world):
    w = world
    me, base, a = w.c1, w.a.base, w.a
    orders = w.api("order-service", me.token)
    path = f"{base}/orders/{w.c1_ids['order_id']}"
    order = orders.get(path)
    line = next(li for li in order["lines"] if li["variant_id"] == "eggs")
    r = orders.call("PATCH", f"{path}/lines/{line['line_id']}", json={"quantity": 3},
                    headers={"If-Match": f'"{order["version"]}"'})
    assert r.status_code == 200 and next(li for li in r.json()["lines"] if li["variant_id"] == "eggs")["quantity"] == 3
    # C2's order: never
    other = w.admin("order-service").get(f"{base}/orders/{w.ids['order_id']}")
    r = orders.call("PATCH", f"{base}/orders/{w.ids['order_id']}/lines/{w.ids['line_id']}", json={"quantity": 9},
                    headers={"If-Match": f'"{other["version"]}"'})
    assert r.status_code == 404
    assert w.admin("order-service").get(f"{base}/orders/{w.ids['order_id']}")["version"] == other["version"]
    # only managers add lines, change methods or addresses; a customer resumes only an order they cancelled
    order = orders.get(path)
    for method, sub, body in (("POST", "/lines", {"variant_id": "box", "quantity": 1}),
                              ("PATCH", "", {"ship_address": order["ship_address"]})):
        r = orders.call(method, path + sub, json=body, headers={"If-Match": f'"{order["version"]}"',
                                                                "Idempotency-Key": f"k-{method}{sub}"})
        assert r.status_code == 403, (method, sub, r.status_code, r.text[:200])
    r = orders.call("POST", f"{path}/resume", headers={"If-Match": f'"{order["version"]}"',
                                                       "Idempotency-Key": "k-resume-placed"})
    assert r.status_code == 409 and orders.get(path)["version"] == order["version"]  # placed: nothing to resume

    shop = a.subs().get(base)
    a.subs().patch(base, {"allow_order_changes": False}, headers={"If-Match": f'"{shop["version"]}"'})
    try:
        eventually(lambda: orders.get(path)["editable"]["by_customer"] is False, 60,
                   "order-service to know the shop no longer allows changes")
        o = orders.get(path)
        r = orders.call("PATCH", f"{path}/lines/{line['line_id']}", json={"quantity": 4},
                        headers={"If-Match": f'"{o["version"]}"'})
        assert r.status_code in (403, 409), r.text
        assert next(li for li in orders.get(path)["lines"] if li["variant_id"] == "eggs")["quantity"] == 3
        r = orders.call("POST", f"{path}/cancel", headers={"Idempotency-Key": "c1-cancel"})
        assert r.status_code in (403, 409) and orders.get(path)["status"] == "placed"
        # the manager still may
        o = a.orders_api().get(path)
        a.orders_api().patch(f"{path}/lines/{line['line_id']}", {"quantity": 2},
                             headers={"If-Match": f'"{o["version"]}"'})
    finally:
        shop = a.subs().get(base)
        a.subs().patch(base, {"allow_order_changes": True}, headers={"If-Match": f'"{shop["version"]}"'})


def test_only_the_customer_signed_in_by_email_gives_or_takes_back_the_permission_to_charge_their_card(world):
    w = world
    base = w.a.base
    me = w.c1
    path = f"{base}/customers/{me.id}/charges-permission"
    card = f"{base}/customers/{me.id}/card"
    before = w.admin("subscription-service").get(f"{base}/customers/{me.id}")
    assert before["allow_charges"] is True
    for who, token in (("the platform admin", w.p.admin_token), ("the shop's manager", w.a.manager_token),
                       ("a customer token the manager issued", me.token),
                       ("another customer of the shop", w.c2.token), ("another customer, signed in", w.c2.session),
                       ("a manager of another shop", w.b.manager_token)):
        api = w.api("subscription-service", token)
        for method, target, body in (("PUT", path, {}), ("DELETE", path, None), ("POST", f"{card}/setup", None),
                                     ("PUT", card, {"setup_intent_id": "seti_evil"}), ("DELETE", card, None)):
            r = api.call(method, target, json=body)
            assert r.status_code in (403, 404), (who, method, target, r.status_code)
            if r.status_code == 403:
                assert "link emailed to their own address" in r.json()["detail"], (who, r.text)
        r = api.call("PUT", card, json={"stripe_customer_id": "cus_evil", "payment_method_id": "pm_evil"})
        assert r.status_code in (403, 404, 422), (who, "card", r.status_code)
    assert w.admin("subscription-service").get(f"{base}/customers/{me.id}") == before
    mine = w.api("subscription-service", me.session)
    mine.delete(path)
    assert w.admin("subscription-service").get(f"{base}/customers/{me.id}")["allow_charges"] is False
    mine.put(path, {"locale": "fr"})
    assert w.admin("subscription-service").get(f"{base}/customers/{me.id}")["allow_charges"] is True


def test_no_answer_about_a_customer_shows_a_stripe_id_to_anyone(world):
    w = world
    base = w.a.base
    for token in (w.p.admin_token, w.a.manager_token, w.c1.token, w.c1.session):
        subs = w.api("subscription-service", token)
        for text in (subs.call("GET", f"{base}/customers/{w.c1.id}").text,
                     subs.call("GET", f"{base}/customers").text):
            assert "cus_" not in text and "pm_" not in text, text[:500]
