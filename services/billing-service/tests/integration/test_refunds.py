"""Refunds by a manager, full or partial, never more than was charged in total (localstripe would accept an
over-refund: billing refuses it before Stripe is asked)."""

import pytest

from devstack.testing import scalar

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"


def charged(billing, amount=1000):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK)
    order = billing.order(shop, customer["customer_id"], amount=amount)
    payment = billing.wait_payment(order["order_id"], "succeeded")
    manager = billing.token("manager", [shop])
    return shop, customer, order, payment, manager


def stripe_refunded(billing, payment):
    return billing.stripe.charges.retrieve(payment["stripe_charge_id"]).amount_refunded


def test_partial_refunds_up_to_the_amount_charged_and_not_a_cent_more(billing):
    shop, _customer, order, payment, manager = charged(billing, 1000)
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/refunds"

    first = billing.client.post(path, json={"amount": 400}, headers=billing.auth(manager, **{
        "X-Change-Reason": "damaged eggs"}))
    assert first.status_code == 201, first.json
    assert (first.json["amount"], first.json["total_refunded"], first.json["reason"]) == (400, 400, "damaged eggs")
    assert first.json["stripe_refund_id"].startswith("re_")
    assert stripe_refunded(billing, payment) == 400

    too_much = billing.client.post(path, json={"amount": 700}, headers=billing.auth(manager))
    assert too_much.status_code == 422 and too_much.json["errors"]["amount"] == ["At most 600 can still be refunded."]
    assert stripe_refunded(billing, payment) == 400  # Stripe was never asked

    rest = billing.client.post(path, json={}, headers=billing.auth(manager))  # no amount: everything left
    assert rest.status_code == 201 and (rest.json["amount"], rest.json["total_refunded"]) == (600, 1000)
    assert billing.payment(order["order_id"])["status"] == "refunded"

    nothing_left = billing.client.post(path, json={"amount": 1}, headers=billing.auth(manager))
    assert nothing_left.status_code == 422
    assert stripe_refunded(billing, payment) == 1000
    listed = billing.client.get(path, headers=billing.auth(manager))
    assert [r["amount"] for r in listed.json["items"]] == [400, 600]
    events = [p for t, p in billing.events(payment["payment_id"]) if t == "PaymentRefunded"]
    assert [(e["amount"], e["total_refunded"]) for e in events] == [(400, 400), (600, 1000)]


def test_a_retried_refund_request_with_the_same_idempotency_key_refunds_once(billing):
    shop, _customer, _order, payment, manager = charged(billing, 1000)
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/refunds"
    headers = billing.auth(manager, **{"Idempotency-Key": "refund-eggs-1"})

    first = billing.client.post(path, json={"amount": 250}, headers=headers)
    again = billing.client.post(path, json={"amount": 250}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json
    assert stripe_refunded(billing, payment) == 250
    assert scalar(billing.dsn, "SELECT count(*) FROM refunds WHERE payment_id = %s", [payment["payment_id"]]) == 1


def test_only_the_shops_managers_refund_and_only_what_was_collected(billing):
    shop, customer, _order, payment, manager = charged(billing, 1000)
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/refunds"
    customer_token = billing.token("customer", [shop], customer["customer_id"])
    other_manager = billing.token("manager", [billing.shop()])

    assert billing.client.post(path, json={"amount": 1}, headers=billing.auth(customer_token)).status_code == 403
    assert billing.client.post(path, json={"amount": 1}, headers=billing.auth(other_manager)).status_code == 404
    assert billing.client.post(path, json={"amount": 1}).status_code == 401
    assert billing.client.post(path, json={"amount": -5}, headers=billing.auth(manager)).status_code == 422
    assert billing.client.post(path, json={"amount": 1.5}, headers=billing.auth(manager)).status_code == 422
    stale = billing.client.post(path, json={"amount": 1}, headers=billing.auth(manager, **{"If-Match": '"1"'}))
    assert stale.status_code == 412

    cash_customer = billing.customer(shop, None)
    cash = billing.order(shop, cash_customer["customer_id"], amount=900, kind="cash")
    pending = billing.wait_payment(cash["order_id"], "pending")
    cash_path = f"/api/v1/shops/{shop}/payments/{pending['payment_id']}"
    assert billing.client.post(cash_path + "/refunds", json={}, headers=billing.auth(manager)).status_code == 409
    billing.client.post(cash_path + "/mark-paid", json={"note": "cash"}, headers=billing.auth(manager))
    by_hand = billing.client.post(cash_path + "/refunds", json={"amount": 900}, headers=billing.auth(manager))
    assert by_hand.status_code == 201 and by_hand.json["stripe_refund_id"] is None
    assert stripe_refunded(billing, payment) == 0
