"""Authentication required (3-D Secure): the emailed link opens the payment's page in the web app; the customer,
signed in there, authorises through this API with their own session (the client secret for Stripe.js, then the
outcome read back from Stripe), even after the cycle closed; a failed authentication is final; localstripe's
signed webhooks are accepted; links emailed before the page moved are sent on to it."""

import time
from datetime import timedelta

import pytest
import requests

from billing_service.domain import links
from devstack.testing import scalar, wait_for

pytestmark = pytest.mark.integration

CARD_3DS_REQUIRED = "4000002760003184"
CARD_3DS_ALWAYS = "4000002500003155"


def authenticate(billing, intent_id: str, client_secret: str, success: bool = True) -> dict:
    """The customer's browser: Stripe.js ``confirmCardPayment`` and the bank's check (localstripe's route)."""
    resp = requests.post(f"{billing.stripe_url}/v1/payment_intents/{intent_id}/_authenticate",
                         data={"client_secret": client_secret, "success": "true" if success else "false",
                               "key": "pk_test_x"}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def waiting(billing, card: str = CARD_3DS_REQUIRED, **shop: object) -> dict:
    billing.start_all()
    shop_id = billing.shop(name="Les Jardins", **shop)
    customer = billing.customer(shop_id, card)
    order = billing.order(shop_id, customer["customer_id"], amount=4210)
    payment = billing.wait_payment(order["order_id"], "requires_action")
    session = billing.token("customer", [shop_id], customer["customer_id"], in_person=True)
    base = f"/api/v1/shops/{shop_id}/payments/{payment['payment_id']}"
    return {"shop": shop_id, "customer": customer, "order": order, "payment": payment, "session": session,
            "base": base}


def test_authentication_required_links_to_the_web_app_and_the_customer_authorises_there_once(billing):
    w = waiting(billing)
    payment, shop = w["payment"], w["shop"]
    (_, asked), = [e for e in billing.events(payment["payment_id"]) if e[0] == "PaymentAuthorizationRequired"]
    assert asked["authorization_url"] == f"{billing.web_url}/shops/{shop}/payments/{payment['payment_id']}/authorize"
    assert payment["final"] is None and payment["next_attempt_at"] is None  # never retried automatically
    assert billing.succeeded_charges(w["customer"]["stripe_customer_id"], w["order"]["order_id"]) == []

    # days after the cycle closed, the customer opens the page: what Stripe.js needs, read from Stripe now
    billing.advance(timedelta(days=3))
    auth = billing.auth(w["session"])
    asked_for = billing.client.get(f"{w['base']}/authorization", headers=auth)
    assert asked_for.status_code == 200, asked_for.json
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    got = asked_for.json
    assert (got["client_secret"], got["amount"], got["currency"], got["attempt"]) == (
        intent.client_secret, 4210, "EUR", 1)
    assert got["publishable_key"].startswith("pk_") and got["payment_method"] == w["customer"]["payment_method_id"]

    # the browser's report before the bank said yes changes nothing; after, the payment is paid, once
    early = billing.client.post(f"{w['base']}/authorization", headers=auth)
    assert early.status_code == 200 and early.json["status"] == "requires_action"
    authenticate(billing, intent.id, intent.client_secret)
    done = billing.client.post(f"{w['base']}/authorization", headers=auth)
    assert done.status_code == 200 and done.json["status"] == "succeeded"
    assert done.json["card"] == {"brand": "visa", "last4": "3184"} and done.json["paid_at"]
    again = billing.client.post(f"{w['base']}/authorization", headers=auth)
    assert again.status_code == 200 and again.json["version"] == done.json["version"]
    assert billing.client.get(f"{w['base']}/authorization", headers=auth).status_code == 409  # nothing waits

    assert billing.event_types(payment["payment_id"])[-2:] == ["PaymentAuthorizationRequired", "PaymentSucceeded"]
    [charge] = billing.succeeded_charges(w["customer"]["stripe_customer_id"], w["order"]["order_id"])
    assert charge["amount"] == 4210 and billing.payment(w["order"]["order_id"])["stripe_charge_id"] == charge["id"]


def test_only_the_customer_in_person_reads_or_reports_an_authorisation(billing):
    w = waiting(billing)
    shop, customer = w["shop"], w["customer"]["customer_id"]
    other = billing.customer(shop, CARD_3DS_REQUIRED)
    for token, status in ((billing.token("manager", [shop]), 403),
                          (billing.token("customer", [shop], customer), 403),  # a token the shop issued
                          (billing.token("customer", [shop], other["customer_id"], in_person=True), 404),
                          (billing.token("manager", [billing.shop()]), 404)):
        for method in ("get", "post"):
            resp = getattr(billing.client, method)(f"{w['base']}/authorization", headers=billing.auth(token))
            assert resp.status_code == status and resp.mimetype == "application/problem+json", (method, resp.json)
    assert billing.client.get(f"{w['base']}/authorization").status_code == 401
    refused = billing.client.post(f"{w['base']}/authorization", json={"decision": "authorize"},
                                  headers=billing.auth(w["session"]))
    assert refused.status_code == 422 and "decision" in refused.json["errors"]
    assert billing.payment(w["order"]["order_id"])["status"] == "requires_action"


def test_a_failed_authentication_is_a_final_failure_never_retried(billing):
    w = waiting(billing, CARD_3DS_ALWAYS, delays_hours=[1], max_attempts=5)
    intent = billing.stripe.payment_intents.retrieve(w["payment"]["stripe_payment_intent_id"])
    authenticate(billing, intent.id, intent.client_secret, success=False)
    refused = billing.client.post(f"{w['base']}/authorization", headers=billing.auth(w["session"]))
    assert refused.status_code == 200 and refused.json["status"] == "failed"
    assert refused.json["failure"]["code"] == "authentication_failed" and refused.json["failure"]["final"] is True
    billing.advance(timedelta(days=10))
    time.sleep(2)  # the charger looks at due retries every half second
    assert len(billing.attempts(w["order"]["order_id"])) == 1
    assert billing.succeeded_charges(w["customer"]["stripe_customer_id"], w["order"]["order_id"]) == []


def test_a_link_emailed_before_the_move_is_sent_on_to_the_web_app_and_a_forged_one_is_refused(billing):
    w = waiting(billing)
    pid = w["payment"]["payment_id"]
    token = links.sign(billing.settings.link_signing_key, pid, 1, billing.advance(timedelta(0)) + timedelta(days=30))
    for method in ("get", "post"):
        moved = getattr(billing.client, method)(f"/pay/{pid}/authorize?t={token}")
        assert moved.status_code == 303 and moved.headers["Referrer-Policy"] == "no-referrer"
        assert moved.headers["Location"] == f"{billing.web_url}/shops/{w['shop']}/payments/{pid}/authorize"
    assert billing.client.get(f"/pay/{pid}/authorize?t={token[:-3]}abc").status_code == 403
    assert billing.client.get(f"/pay/{pid}/authorize").status_code == 403
    other = links.sign(billing.settings.link_signing_key, "another", 1, billing.advance(timedelta(days=1)))
    assert billing.client.get(f"/pay/{pid}/authorize?t={other}").status_code == 403
    billing.advance(timedelta(days=31))
    assert billing.client.get(f"/pay/{pid}/authorize?t={token}").status_code == 403
    assert billing.payment(w["order"]["order_id"])["status"] == "requires_action"


def test_a_payment_authorised_elsewhere_is_recorded_from_localstripes_signed_webhook(billing):
    billing.register_webhook()
    w = waiting(billing)
    # the customer's browser completes 3-D Secure with Stripe directly (Stripe.js); we only hear the webhook
    intent = billing.stripe.payment_intents.retrieve(w["payment"]["stripe_payment_intent_id"])
    assert authenticate(billing, intent.id, intent.client_secret)["status"] == "succeeded"

    billing.wait_payment(w["order"]["order_id"], "succeeded", timeout=30)
    assert scalar(billing.dsn, "SELECT outcome FROM stripe_events WHERE type = 'payment_intent.succeeded' "
                               "AND outcome = 'applied'") == "applied"
    assert len(billing.succeeded_charges(w["customer"]["stripe_customer_id"], w["order"]["order_id"])) == 1
    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM stripe_events") >= 1, what="the webhook row")


def test_marking_a_payment_paid_while_it_waits_for_authorisation_cancels_the_card_payment(billing):
    w = waiting(billing)
    payment = w["payment"]
    manager = billing.token("manager", [w["shop"]])
    resp = billing.client.post(f"{w['base']}/mark-paid", json={"note": "bank transfer"},
                               headers=billing.auth(manager, **{"If-Match": f'"{payment["version"]}"'}))
    assert resp.status_code == 200 and resp.json["status"] == "paid" and resp.json["paid_at"]
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert intent.status == "canceled"  # the page can no longer take the money a second time
    assert billing.client.get(f"{w['base']}/authorization", headers=billing.auth(w["session"])).status_code == 409
    late = billing.client.post(f"{w['base']}/authorization", headers=billing.auth(w["session"]))
    assert late.status_code == 200 and late.json["status"] == "paid"
    assert billing.succeeded_charges(w["customer"]["stripe_customer_id"], w["order"]["order_id"]) == []
    assert [a["status"] for a in billing.attempts(w["order"]["order_id"])] == ["canceled"]
