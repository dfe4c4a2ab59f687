"""Retries beyond the reference: on the shop's schedule (test clock), for soft declines and errors on Stripe's
side only; never for hard failures; a manager can retry at once."""

import time
from datetime import timedelta

import pytest

from devstack.procs import free_port
from shared_events import Envelope
from shared_events.examples import EXAMPLES

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"


def attempts_after_a_while(billing, order_id, seconds=2.0):
    time.sleep(seconds)  # the charger looks at due retries every half second
    return len(billing.attempts(order_id))


def wait_attempts(billing, order_id, n, status="failed"):
    billing.wait_payment(order_id, status)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = billing.attempts(order_id)
        if len(found) == n and found[-1]["status"] not in ("started",):
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {n} attempts, found {billing.attempts(order_id)}")


@pytest.mark.parametrize("named", [True, False], ids=["a new shop's default", "a shop that names no policy"])
def test_a_soft_decline_is_retried_after_24_h_then_72_h_until_the_third_attempt_then_never_again(billing, named):
    """The documented default (billing's README, subscription-service's OpenAPI): what a new shop gets, and what
    billing applies to a shop whose events name no policy."""
    billing.start_all()
    shop = billing.shop(retry_named=named)
    customer = billing.customer(shop, CARD_DECLINED_AT_CHARGE)
    order = billing.order(shop, customer["customer_id"])
    t0 = billing.T0

    first = billing.wait_payment(order["order_id"], "failed")
    assert first["next_attempt_at"] == t0 + timedelta(hours=24) and first["final"] is False
    billing.set_clock(t0 + timedelta(hours=23, minutes=59))
    assert attempts_after_a_while(billing, order["order_id"]) == 1  # not due yet

    billing.set_clock(t0 + timedelta(hours=24))
    second = wait_attempts(billing, order["order_id"], 2)
    assert second[1]["idempotency_key"] == f"order-{order['order_id']}-attempt-2"
    assert billing.payment(order["order_id"])["next_attempt_at"] == t0 + timedelta(hours=24 + 72)

    billing.set_clock(t0 + timedelta(hours=24 + 72))
    wait_attempts(billing, order["order_id"], 3)
    last = billing.payment(order["order_id"])
    assert (last["final"], last["next_attempt_at"], last["attempts"]) == (True, None, 3)

    billing.set_clock(t0 + timedelta(days=60))
    assert attempts_after_a_while(billing, order["order_id"]) == 3
    charges = billing.all_charges(customer["stripe_customer_id"])
    assert [c["status"] for c in charges] == ["failed"] * 3
    failures = [p for t, p in billing.events(last["payment_id"]) if t == "PaymentFailed"]
    assert [(f["attempt"], f["final"]) for f in failures] == [(1, False), (2, False), (3, True)]


def test_a_hard_failure_is_never_retried(billing):
    billing.start_all()
    shop = billing.shop(delays_hours=[1], max_attempts=5)
    customer = billing.customer(shop, None)
    cus = billing.stripe.customers.create({"email": "gone@example.org"})
    billing.publish(Envelope("CustomerCardSet", customer["customer_id"], 2,  # a card Stripe does not know (deleted)
                             {**EXAMPLES["CustomerCardSet"], "customer_id": customer["customer_id"], "shop_id": shop,
                              "stripe_customer_id": cus.id, "payment_method_id": "pm_deleted_long_ago"},
                             "subscription-service", shop_id=shop),
                    Envelope("CustomerChargesAllowed", customer["customer_id"], 3,
                             {**EXAMPLES["CustomerChargesAllowed"], "customer_id": customer["customer_id"],
                              "shop_id": shop, "payment_method_id": "pm_deleted_long_ago"},
                             "subscription-service", shop_id=shop))
    order = billing.order(shop, customer["customer_id"])

    payment = billing.wait_payment(order["order_id"], "failed")
    assert (payment["failure_code"], payment["retryable"], payment["final"]) == ("payment_method_unavailable", False,
                                                                                 True)
    billing.advance(timedelta(days=30))
    assert attempts_after_a_while(billing, order["order_id"]) == 1


def test_an_error_on_stripes_side_is_retried_later_after_checking_what_stripe_holds(billing):
    shop = billing.shop(delays_hours=[2], max_attempts=3)
    customer = billing.customer(shop, CARD_OK)
    billing.start("consumer")
    billing.start("relay")
    nowhere = f"http://127.0.0.1:{free_port()}"  # Stripe unreachable
    billing.start("charger", STRIPE_API_BASE=nowhere, STRIPE_MAX_RETRIES="1")
    order = billing.order(shop, customer["customer_id"])

    down = billing.wait_payment(order["order_id"], "failed")
    assert (down["failure_code"], down["retryable"], down["final"]) == ("stripe_unavailable", True, False)
    assert "will be resent" in billing.log("charger")  # the same request was sent again once, after a pause
    billing.stop("charger")

    billing.start("charger")
    billing.set_clock(billing.T0 + timedelta(hours=2))
    payment = billing.wait_payment(order["order_id"], "succeeded")
    assert payment["attempts"] == 2
    assert "Stripe holds nothing for this attempt" in billing.log("charger")  # attempt 1 was checked first
    assert len(billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])) == 1


def test_a_manager_retries_at_once_once_the_customer_allowed_charges(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK, allow=False)
    order = billing.order(shop, customer["customer_id"])
    refused = billing.wait_payment(order["order_id"], "failed")
    assert refused["failure_code"] == "no_permission"

    manager = billing.token("manager", [shop])
    path = f"/api/v1/shops/{shop}/payments/{refused['payment_id']}/retry"
    stale = billing.client.post(path, headers=billing.auth(manager, **{"If-Match": '"1"'}))
    assert stale.status_code == 412 and stale.headers["ETag"] == f'"{refused["version"]}"'

    billing.publish(Envelope("CustomerChargesAllowed", customer["customer_id"], 3,  # the customer ticks the box
                             {**EXAMPLES["CustomerChargesAllowed"], "customer_id": customer["customer_id"],
                              "shop_id": shop, "payment_method_id": customer["payment_method_id"]},
                             "subscription-service", shop_id=shop))
    time.sleep(1.5)  # projected by the consumer
    retried = billing.client.post(path, headers=billing.auth(manager, **{"If-Match": f'"{refused["version"]}"',
                                                                         "X-Change-Reason": "card allowed"}))
    assert retried.status_code == 202, retried.json
    assert retried.json["status"] in ("processing", "succeeded")
    payment = billing.wait_payment(order["order_id"], "succeeded")
    assert payment["attempts"] == 2
    started = [p for t, p in billing.events(payment["payment_id"]) if t == "PaymentAttemptStarted"]
    assert started[1]["actor"]["type"] == "manager" and started[1]["reason"] == "card allowed"
    again = billing.client.post(path, headers=billing.auth(manager))
    assert again.status_code == 409
