"""The manager's commands on a payment repeated as a browser repeats them (a double click, a form sent again, a
connection lost before the answer): retry now and mark paid act once per request, and the list of a shop's
payments names each customer's address, against real localstripe."""

import time

import pytest

pytestmark = pytest.mark.integration

CARD_DECLINED_AT_CHARGE = "4000000000000341"


def declined(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_DECLINED_AT_CHARGE)
    order = billing.order(shop, customer["customer_id"], amount=1840)
    payment = billing.wait_payment(order["order_id"], "failed")
    manager = billing.token("manager", [shop])
    return shop, customer, order, payment, manager


def settled_attempts(billing, order_id, n):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = billing.attempts(order_id)
        if len(found) == n and found[-1]["status"] not in ("started",):
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {n} settled attempts, found {billing.attempts(order_id)}")


def test_a_retry_now_sent_twice_with_its_idempotency_key_charges_the_card_once_more_and_no_more(billing):
    shop, customer, order, payment, manager = declined(billing)
    assert payment["failure_code"] == "card_declined"
    assert len(billing.all_charges(customer["stripe_customer_id"])) == 1
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/retry"
    headers = billing.auth(manager, **{"If-Match": f'"{payment["version"]}"', "Idempotency-Key": "retry-7f3a"})

    first = billing.client.post(path, headers=headers)
    assert first.status_code == 202, first.json
    settled_attempts(billing, order["order_id"], 2)
    billing.wait_payment(order["order_id"], "failed")  # the same card, declined again

    again = billing.client.post(path, headers=headers)
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
    stale = billing.client.post(path, headers=billing.auth(manager, **{"If-Match": f'"{payment["version"]}"'}))
    assert stale.status_code == 412  # the same form without its key: the payment changed since it was shown
    time.sleep(1.5)  # the charger would have picked up a third attempt by now
    assert len(billing.attempts(order["order_id"])) == 2
    assert len(billing.all_charges(customer["stripe_customer_id"])) == 2
    assert billing.event_types(payment["payment_id"]).count("PaymentAttemptStarted") == 2


def test_a_mark_paid_sent_twice_with_its_idempotency_key_marks_the_payment_paid_once(billing):
    shop, _customer, order, payment, manager = declined(billing)
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/mark-paid"
    headers = billing.auth(manager, **{"If-Match": f'"{payment["version"]}"', "Idempotency-Key": "paid-19c2"})

    first = billing.client.post(path, json={"note": "cash at pickup"}, headers=headers)
    assert first.status_code == 200, first.json
    assert (first.json["status"], first.json["paid_note"]) == ("paid", "cash at pickup")
    again = billing.client.post(path, json={"note": "cash at pickup"}, headers=headers)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json

    other = billing.client.post(path, json={"note": "cash"}, headers=billing.auth(manager, **{
        "Idempotency-Key": "paid-other"}))
    assert other.status_code == 409  # a new request: refused, the payment is already paid
    assert billing.event_types(payment["payment_id"]).count("PaymentMarkedPaid") == 1
    assert billing.payment(order["order_id"])["status"] == "paid"


def test_the_shops_payments_needing_attention_name_the_customers_address(billing):
    shop, customer, _order, payment, manager = declined(billing)
    listed = billing.client.get(f"/api/v1/shops/{shop}/payments?status=failed&status=requires_action",
                                headers=billing.auth(manager))
    assert listed.status_code == 200
    (item,) = listed.json["items"]
    assert item["payment_id"] == payment["payment_id"]
    assert item["customer_email"] == f"{customer['customer_id'][:8]}@example.org"
    assert item["failure"]["code"] == "card_declined"
