"""The REST API: payments of a shop (filters, pagination), of an order, attempts with their Stripe references;
who sees what; problem details; OpenAPI."""

from datetime import timedelta

import pytest

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"


@pytest.fixture
def shop_with_payments(billing):
    billing.start_all()
    shop = billing.shop()
    week_14, week_15 = "cycle-week-14", "cycle-week-15"
    alice = billing.customer(shop, CARD_OK)
    bob = billing.customer(shop, CARD_DECLINED_AT_CHARGE)
    orders = {
        "alice14": billing.order(shop, alice["customer_id"], 1000, cycle_id=week_14),
        "bob14": billing.order(shop, bob["customer_id"], 2000, cycle_id=week_14),
        "alice15": billing.order(shop, alice["customer_id"], 3000, cycle_id=week_15,
                                  at=billing.T0 + timedelta(days=7)),  # a week later: newest
    }
    payments = {
        "alice14": billing.wait_payment(orders["alice14"]["order_id"], "succeeded"),
        "bob14": billing.wait_payment(orders["bob14"]["order_id"], "failed"),
        "alice15": billing.wait_payment(orders["alice15"]["order_id"], "succeeded"),
    }
    return {"shop": shop, "alice": alice, "bob": bob, "orders": orders, "payments": payments,
            "manager": billing.token("manager", [shop]),
            "alice_token": billing.token("customer", [shop], alice["customer_id"])}


def test_a_manager_lists_the_shops_payments_by_status_and_cycle_one_page_at_a_time(billing, shop_with_payments):
    w = shop_with_payments
    base = f"/api/v1/shops/{w['shop']}/payments"
    auth = billing.auth(w["manager"])

    everything = billing.client.get(base, headers=auth)
    assert everything.status_code == 200 and len(everything.json["items"]) == 3
    failed = billing.client.get(base + "?status=failed", headers=auth).json["items"]
    assert [p["order_id"] for p in failed] == [w["orders"]["bob14"]["order_id"]]
    assert failed[0]["failure"]["code"] == "card_declined" and failed[0]["failure"]["final"] is False
    assert failed[0]["next_attempt_at_local"].endswith("+02:00")  # Europe/Paris, summer time
    week = billing.client.get(base + "?cycle=cycle-week-15", headers=auth).json["items"]
    assert [p["amount"] for p in week] == [3000] and week[0]["order_cycle_id"] == "cycle-week-15"

    seen, cursor = [], None
    while True:
        page = billing.client.get(base + "?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=auth).json
        seen += [p["payment_id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(p["payment_id"] for p in w["payments"].values()) and len(seen) == 3

    assert billing.client.get(base + "?status=lost", headers=auth).status_code == 422
    unknown = billing.client.get(base + "?colour=red", headers=auth)
    assert unknown.status_code == 400 and unknown.json["errors"] == {"colour": ["Unknown query parameter."]}
    assert billing.client.get(base + "?cursor=garbage!", headers=auth).status_code == 400
    either = billing.client.get(base + "?status=failed&status=succeeded", headers=auth).json["items"]
    statuses = [p["status"] for p in everything.json["items"]]
    assert "failed" in {p["status"] for p in either} and {p["status"] for p in either} <= {"failed", "succeeded"}
    assert len(either) == sum(s in ("failed", "succeeded") for s in statuses)


def test_a_payment_shows_its_attempts_with_their_stripe_references_and_an_etag(billing, shop_with_payments):
    w = shop_with_payments
    paid = w["payments"]["alice14"]
    path = f"/api/v1/shops/{w['shop']}/payments/{paid['payment_id']}"
    one = billing.client.get(path, headers=billing.auth(w["manager"]))
    assert one.status_code == 200 and one.headers["ETag"] == f'"{paid["version"]}"'
    assert (one.json["status"], one.json["stripe_charge_id"]) == ("succeeded", paid["stripe_charge_id"])
    [attempt] = billing.client.get(path + "/attempts", headers=billing.auth(w["manager"])).json["items"]
    assert attempt["idempotency_key"] == f"order-{paid['order_id']}-attempt-1"
    assert (attempt["stripe_payment_intent_id"], attempt["stripe_charge_id"]) == (paid["stripe_payment_intent_id"],
                                                                                  paid["stripe_charge_id"])
    order = billing.client.get(f"/api/v1/shops/{w['shop']}/orders/{paid['order_id']}/payments",
                               headers=billing.auth(w["manager"])).json["items"]
    assert [p["payment_id"] for p in order] == [paid["payment_id"]]


def test_a_customer_sees_only_their_own_payments_and_cannot_command(billing, shop_with_payments):
    w = shop_with_payments
    auth = billing.auth(w["alice_token"])
    base = f"/api/v1/shops/{w['shop']}/payments"
    mine = billing.client.get(base, headers=auth).json["items"]
    assert {p["customer_id"] for p in mine} == {w["alice"]["customer_id"]} and len(mine) == 2
    bobs = w["payments"]["bob14"]["payment_id"]
    assert billing.client.get(f"{base}/{bobs}", headers=auth).status_code == 404
    assert billing.client.get(f"{base}/{bobs}/attempts", headers=auth).status_code == 404
    # another customer's order is not found, as its payment is (it was an empty list)
    assert billing.client.get(f"/api/v1/shops/{w['shop']}/orders/{w['orders']['bob14']['order_id']}/payments",
                              headers=auth).status_code == 404
    own = w["payments"]["alice14"]["payment_id"]
    assert billing.client.get(f"{base}/{own}", headers=auth).status_code == 200
    assert billing.client.post(f"{base}/{bobs}/retry", headers=auth).status_code == 403
    assert billing.client.post(f"{base}/{own}/mark-paid", json={}, headers=auth).status_code == 403


def test_a_customer_lists_their_own_payments_newest_first_with_what_a_receipt_shows(billing, shop_with_payments):
    w = shop_with_payments
    alice, bob = w["alice"]["customer_id"], w["bob"]["customer_id"]
    mine = f"/api/v1/shops/{w['shop']}/customers/{alice}/payments"
    auth = billing.auth(w["alice_token"])
    first = billing.client.get(mine, query_string={"limit": 1}, headers=auth)
    assert first.status_code == 200 and first.json["next_cursor"]
    rest = billing.client.get(mine, query_string={"limit": 1, "cursor": first.json["next_cursor"]}, headers=auth)
    items = first.json["items"] + rest.json["items"]
    assert [p["payment_id"] for p in items] == [w["payments"]["alice15"]["payment_id"],
                                                w["payments"]["alice14"]["payment_id"]]  # newest first
    newest = items[0]
    assert (newest["status"], newest["amount"], newest["card"]) == ("succeeded", 3000,
                                                                   {"brand": "visa", "last4": "4242"})
    assert newest["paid_at"] and newest["paid_at_local"].endswith("+02:00")  # Europe/Paris in April
    # another customer's list, and a customer this service never heard of, are not found; the manager sees both
    assert billing.client.get(f"/api/v1/shops/{w['shop']}/customers/{bob}/payments",
                              headers=auth).status_code == 404
    assert billing.client.get(f"/api/v1/shops/{w['shop']}/customers/nobody/payments",
                              headers=billing.auth(w["manager"])).status_code == 404
    bobs = billing.client.get(f"/api/v1/shops/{w['shop']}/customers/{bob}/payments",
                              headers=billing.auth(w["manager"])).json["items"]
    assert [(p["status"], p["paid_at"], p["card"]) for p in bobs] == [("failed", None, None)]
    assert bobs[0]["failure"]["message"]


def test_strangers_get_401_and_other_shops_get_404_as_problem_details(billing, shop_with_payments):
    w = shop_with_payments
    base = f"/api/v1/shops/{w['shop']}/payments"
    anonymous = billing.client.get(base)
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    other = billing.token("manager", [billing.shop()])
    hidden = billing.client.get(base, headers=billing.auth(other))
    assert hidden.status_code == 404 and hidden.json["status"] == 404
    paid = w["payments"]["alice14"]["payment_id"]
    assert billing.client.post(f"{base}/{paid}/retry", headers=billing.auth(other)).status_code == 404
    admin = billing.client.get(base, headers=billing.auth(billing.admin_token))
    assert admin.status_code == 200 and len(admin.json["items"]) == 3
    conflict = billing.client.post(f"{base}/{paid}/retry", headers=billing.auth(w["manager"]))
    assert conflict.status_code == 409 and "only a failed payment" in conflict.json["detail"]


def test_the_openapi_document_describes_the_routes(billing):
    spec = billing.client.get("/openapi.json").json
    for path in ("/api/v1/shops/{shop_id}/payments", "/api/v1/shops/{shop_id}/payments/{payment_id}/refunds",
                 "/api/v1/shops/{shop_id}/payments/{payment_id}/attempts", "/webhooks/stripe",
                 "/api/v1/shops/{shop_id}/customers/{customer_id}/payments",
                 "/api/v1/shops/{shop_id}/payments/{payment_id}/authorization"):
        assert path in spec["paths"], path
