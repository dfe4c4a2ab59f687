"""Authentication required (3-D Secure): the customer gets a link to our page and authorises there, even after
the cycle closed; a failed authorisation is final; localstripe's signed webhooks are accepted."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests

from devstack.testing import scalar, wait_for

pytestmark = pytest.mark.integration

CARD_3DS_REQUIRED = "4000002760003184"
CARD_3DS_ALWAYS = "4000002500003155"


def page_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_authentication_required_then_authorised_on_our_page_is_charged_once(billing):
    billing.start_all()
    shop = billing.shop(name="Les Jardins")
    customer = billing.customer(shop, CARD_3DS_REQUIRED)
    order = billing.order(shop, customer["customer_id"], amount=4210)

    payment = billing.wait_payment(order["order_id"], "requires_action")
    (_, asked), = [e for e in billing.events(payment["payment_id"]) if e[0] == "PaymentAuthorizationRequired"]
    assert asked["authorization_url"].startswith(f"{billing.url}/pay/{payment['payment_id']}/authorize?t=")
    assert asked["stripe_payment_intent_id"] == payment["stripe_payment_intent_id"]
    assert payment["final"] is None and payment["next_attempt_at"] is None  # never retried automatically
    assert billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"]) == []

    # the customer opens the emailed link days after the cycle closed (over real HTTP, as a browser would)
    billing.advance(timedelta(days=3))
    page = requests.get(asked["authorization_url"], timeout=10)
    assert page.status_code == 200 and "Les Jardins" in page.text and "42.10 EUR" in page.text
    assert 'value="authorize"' in page.text and page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"] and "<script" not in page.text
    done = billing.client.post(page_path(asked["authorization_url"]), data={"decision": "authorize"})
    assert done.status_code == 200 and b"confirmed" in done.data

    payment = billing.wait_payment(order["order_id"], "succeeded")
    assert billing.event_types(payment["payment_id"])[-2:] == ["PaymentAuthorizationRequired", "PaymentSucceeded"]
    [charge] = billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])
    assert charge["amount"] == 4210 and payment["stripe_charge_id"] == charge["id"]
    again = billing.client.get(page_path(asked["authorization_url"]))
    assert again.status_code == 200 and b"already paid" in again.data


def test_a_failed_authorisation_is_a_final_failure_never_retried(billing):
    billing.start_all()
    shop = billing.shop(delays_hours=[1], max_attempts=5)
    customer = billing.customer(shop, CARD_3DS_ALWAYS)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "requires_action")
    url = payment["authorization_url"]

    refused = billing.client.post(page_path(url), data={"decision": "decline"})
    assert refused.status_code == 200 and b"not confirmed" in refused.data
    payment = billing.wait_payment(order["order_id"], "failed")
    assert (payment["failure_code"], payment["retryable"], payment["final"]) == ("authentication_failed", False,
                                                                                 True)
    billing.advance(timedelta(days=10))
    time.sleep(2)  # the charger looks at due retries every half second
    assert len(billing.attempts(order["order_id"])) == 1
    assert billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"]) == []


def test_a_forged_expired_or_foreign_link_is_refused(billing):
    billing.start_all()
    shop = billing.shop()
    first = billing.customer(shop, CARD_3DS_REQUIRED)
    second = billing.customer(shop, CARD_3DS_REQUIRED)
    a = billing.order(shop, first["customer_id"])
    b = billing.order(shop, second["customer_id"])
    pa = billing.wait_payment(a["order_id"], "requires_action")
    pb = billing.wait_payment(b["order_id"], "requires_action")
    url_a = page_path(pa["authorization_url"])
    token_a = url_a.split("t=", 1)[1]

    assert billing.client.get(f"/pay/{pb['payment_id']}/authorize?t={token_a}").status_code == 403
    assert billing.client.post(f"/pay/{pb['payment_id']}/authorize?t={token_a}",
                               data={"decision": "authorize"}).status_code == 403
    assert billing.client.get(f"/pay/{pa['payment_id']}/authorize?t={token_a[:-3]}abc").status_code == 403
    assert billing.client.get(f"/pay/{pa['payment_id']}/authorize").status_code == 403
    billing.advance(timedelta(days=31))
    assert billing.client.get(url_a).status_code == 403
    assert billing.payment(b["order_id"])["status"] == "requires_action"
    assert billing.succeeded_charges(second["stripe_customer_id"], b["order_id"]) == []


def test_a_payment_authorised_elsewhere_is_recorded_from_localstripes_signed_webhook(billing):
    billing.register_webhook()
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_3DS_REQUIRED)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "requires_action")

    # the customer's browser completes 3-D Secure with Stripe directly (Stripe.js); we only hear the webhook
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    resp = requests.post(f"{billing.stripe_url}/v1/payment_intents/{intent.id}/_authenticate",
                         data={"client_secret": intent.client_secret, "success": "true", "key": "pk_test_x"},
                         timeout=10)
    assert resp.status_code == 200 and resp.json()["status"] == "succeeded"

    payment = billing.wait_payment(order["order_id"], "succeeded", timeout=30)
    assert scalar(billing.dsn, "SELECT outcome FROM stripe_events WHERE type = 'payment_intent.succeeded' "
                               "AND outcome = 'applied'") == "applied"
    assert len(billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])) == 1
    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM stripe_events") >= 1, what="the webhook row")


def test_marking_a_payment_paid_while_it_waits_for_authorisation_cancels_the_card_payment(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_3DS_REQUIRED)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "requires_action")
    manager = billing.token("manager", [shop])

    resp = billing.client.post(f"/api/v1/shops/{shop}/payments/{payment['payment_id']}/mark-paid",
                               json={"note": "bank transfer"},
                               headers=billing.auth(manager, **{"If-Match": f'"{payment["version"]}"'}))
    assert resp.status_code == 200 and resp.json["status"] == "paid"
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert intent.status == "canceled"  # the emailed link can no longer take the money a second time
    late = billing.client.post(page_path(payment["authorization_url"]), data={"decision": "authorize"})
    assert late.status_code == 200 and b"already paid" in late.data
    assert billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"]) == []
    assert [a["status"] for a in billing.attempts(order["order_id"])] == ["canceled"]


def test_with_the_real_api_the_page_hands_the_intent_to_stripe_js_and_reads_the_outcome_back(billing):
    """STRIPE_FLAVOUR=stripe: no simulated bank; the page carries what confirmCardPayment needs, and its post-back
    records whatever Stripe then says (here the browser's part is played by localstripe's route)."""
    from dataclasses import replace

    from billing_service.entrypoints.flask_app import create_app

    real = create_app(replace(billing.settings, stripe=replace(billing.settings.stripe, flavour="stripe",
                                                                publishable_key="pk_test_public_key")))
    client = real.test_client()
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_3DS_REQUIRED)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "requires_action")
    path = page_path(payment["authorization_url"])
    try:
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
        # Stripe.js and our script, no inline script; the policy allows Stripe's origins on this page, no framing
        assert re.findall(r"<script[^>]*>\s*</script>", page) == [
            '<script src="https://js.stripe.com/v3/"></script>', '<script src="/pay/static/pay.js" defer></script>']
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self' https://js.stripe.com" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert b"confirmCardPayment" in client.get("/pay/static/pay.js").data
        assert f'data-client-secret="{intent.client_secret}"' in page
        assert 'data-publishable-key="pk_test_public_key"' in page
        assert 'value="authorize"' not in page  # no simulated bank with the real API

        early = client.post(path, data={"decision": "complete"})
        assert b"not confirmed the payment yet" in early.data
        assert billing.payment(order["order_id"])["status"] == "requires_action"

        requests.post(f"{billing.stripe_url}/v1/payment_intents/{intent.id}/_authenticate",  # Stripe.js's part
                      data={"client_secret": intent.client_secret, "success": "true", "key": "pk_test_x"},
                      timeout=10).raise_for_status()
        done = client.post(path, data={"decision": "complete"})
        assert done.status_code == 200 and b"confirmed" in done.data
        assert billing.payment(order["order_id"])["status"] == "succeeded"
    finally:
        real.extensions["pool"].close()
