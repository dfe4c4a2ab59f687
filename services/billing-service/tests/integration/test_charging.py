"""Charging confirmed orders off-session against localstripe: success, a decline at charge time, no permission,
no card, cash."""

from datetime import timedelta

import pytest

from devstack.testing import scalar, wait_for
from shared_events import decode
from shared_events import kafka as kafka_clients
from shared_events.topics import physical

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"


def published(billing, topic):
    return [decode(r.value) for r in kafka_clients.read_topic(physical(topic, billing.prefix), billing.infra.bootstrap)]


def test_a_confirmed_card_order_is_charged_once_off_session_and_the_outcome_published(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK)
    order = billing.order(shop, customer["customer_id"], amount=3640)

    payment = billing.wait_payment(order["order_id"], "succeeded")
    assert (payment["amount"], payment["collected_amount"], payment["currency"]) == (3640, 3640, "EUR")
    assert billing.event_types(payment["payment_id"]) == ["PaymentPending", "PaymentAttemptStarted",
                                                          "PaymentSucceeded"]
    [attempt] = billing.attempts(order["order_id"])
    assert attempt["idempotency_key"] == f"order-{order['order_id']}-attempt-1"
    assert attempt["stripe_payment_intent_id"] == payment["stripe_payment_intent_id"]

    [charge] = billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])
    assert charge["amount"] == 3640 and charge["id"] == payment["stripe_charge_id"]
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"]).to_dict()
    assert intent["payment_method"] == customer["payment_method_id"] and intent["currency"] == "eur"
    assert intent["metadata"] == {"payment_id": payment["payment_id"], "order_id": order["order_id"],
                                  "order_number": order["number"], "shop_id": shop, "attempt": "1",
                                  "attempt_key": attempt["idempotency_key"]}

    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
             what="the relay to publish")
    on_kafka = [e for e in published(billing, "billing.events") if e.aggregate_id == payment["payment_id"]]
    assert [e.event_type for e in on_kafka] == ["PaymentPending", "PaymentAttemptStarted", "PaymentSucceeded"]
    assert on_kafka[2].payload["stripe_charge_id"] == charge["id"]


def test_a_decline_at_charge_time_is_a_failed_payment_with_a_reason_and_a_retry_on_the_shops_schedule(billing):
    billing.start_all()
    shop = billing.shop(delays_hours=[24, 72], max_attempts=3)
    customer = billing.customer(shop, CARD_DECLINED_AT_CHARGE)
    order = billing.order(shop, customer["customer_id"])

    payment = billing.wait_payment(order["order_id"], "failed")
    (_, failed), = [e for e in billing.events(payment["payment_id"]) if e[0] == "PaymentFailed"]
    assert failed["code"] == "card_declined" and failed["decline_code"] is None
    assert failed["message"] == "Your bank declined the payment."
    assert (failed["retryable"], failed["final"]) == (True, False)
    assert failed["next_attempt_at"] == billing.T0 + timedelta(hours=24)
    assert failed["stripe_payment_intent_id"] and failed["stripe_payment_intent_id"].startswith("pi_")
    assert [c["status"] for c in billing.all_charges(customer["stripe_customer_id"])] == ["failed"]


def test_without_the_customers_permission_nothing_is_sent_to_stripe(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK, allow=False)
    order = billing.order(shop, customer["customer_id"])

    payment = billing.wait_payment(order["order_id"], "failed")
    assert (payment["failure_code"], payment["final"], payment["retryable"]) == ("no_permission", True, False)
    assert "not allowed" in payment["failure_message"]
    assert billing.all_charges(customer["stripe_customer_id"]) == []
    assert scalar(billing.dsn, "SELECT coalesce(sum(calls), 0) FROM charge_calls") == 0


def test_without_a_default_card_nothing_is_sent_to_stripe(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, None)
    order = billing.order(shop, customer["customer_id"])

    payment = billing.wait_payment(order["order_id"], "failed")
    assert (payment["failure_code"], payment["final"]) == ("no_card", True)
    assert scalar(billing.dsn, "SELECT coalesce(sum(calls), 0) FROM charge_calls") == 0


def test_a_revoked_permission_stops_the_charge_even_after_it_was_allowed(billing):
    from shared_events import Envelope
    from shared_events.examples import EXAMPLES

    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK)  # versions 1-3: created, card set, charges allowed
    billing.publish(Envelope("CustomerChargesRevoked", customer["customer_id"], 4,
                             {**EXAMPLES["CustomerChargesRevoked"], "customer_id": customer["customer_id"],
                              "shop_id": shop}, "subscription-service", shop_id=shop))
    billing.start_all()
    order = billing.order(shop, customer["customer_id"])
    assert billing.wait_payment(order["order_id"], "failed")["failure_code"] == "no_permission"
    assert billing.all_charges(customer["stripe_customer_id"]) == []


def test_a_cash_payment_waits_for_a_manager_to_mark_it_paid(billing):
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, None)
    order = billing.order(shop, customer["customer_id"], amount=1800, kind="cash")
    payment = billing.wait_payment(order["order_id"], "pending")
    assert billing.event_types(payment["payment_id"]) == ["PaymentPending"]

    manager = billing.token("manager", [shop])
    path = f"/api/v1/shops/{shop}/payments/{payment['payment_id']}"
    resp = billing.client.post(path + "/mark-paid", json={"note": "cash at pickup"},
                               headers=billing.auth(manager, **{"If-Match": '"1"'}))
    assert resp.status_code == 200, resp.json
    assert (resp.json["status"], resp.json["collected_amount"], resp.json["paid_note"]) == ("paid", 1800,
                                                                                            "cash at pickup")
    assert resp.headers["ETag"] == '"2"'
    again = billing.client.post(path + "/mark-paid", json={}, headers=billing.auth(manager))
    assert again.status_code == 409


def test_a_shop_with_a_connected_account_is_charged_on_it_and_no_secret_reaches_a_log(billing):
    billing.start_all()
    shop = billing.shop(stripe_account_id="acct_1ShopConnected")
    customer = billing.customer(shop, CARD_OK)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "succeeded")
    # localstripe ignores the Stripe-Account header; what matters here is that the charge was sent with it
    assert scalar(billing.dsn, "SELECT stripe_account FROM charge_calls WHERE payment_id = %s",
                  [payment["payment_id"]]) == "acct_1ShopConnected"
    logs = "".join(billing.log(w) for w in ("consumer", "charger", "relay"))
    assert "attempt handled" in logs
    assert "sk_test_billing_integration_tests" not in logs and billing.webhook_secret not in logs
    assert intent_client_secret(billing, payment) not in logs


def intent_client_secret(billing, payment):
    return billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"]).client_secret
