"""Never charged twice: a charger killed between Stripe's answer and its commit, a consumer killed between its
commit and its Kafka offsets, and the whole orders topic replayed. localstripe has no idempotency of its own,
so one successful charge in it for the order is our code's doing."""

import time
import uuid
from dataclasses import replace

import pytest

from devstack.testing import group_lag, scalar, wait_for
from shared_events.topics import physical

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"


def test_a_charger_killed_after_stripe_charged_reconciles_and_a_replay_of_the_orders_topic_charges_nothing(billing):
    once = billing.tmp / "charger-crashed"
    billing.start("consumer")
    billing.start("relay")
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK)
    order = billing.order(shop, customer["customer_id"], amount=2750)

    # 1. Stripe charges, the charger dies like kill -9 before recording it
    crashing = billing.start("charger", CHARGER_FAULT="crash_after_stripe_call", CHARGER_FAULT_ONCE_FILE=str(once))
    assert crashing.wait(timeout=60) == 137, billing.log("charger")
    billing.procs.pop("charger")
    [charge] = billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])
    payment = billing.payment(order["order_id"])
    assert payment["status"] == "processing"  # the outcome is unknown to us
    assert scalar(billing.dsn, "SELECT calls FROM charge_calls WHERE payment_id = %s", [payment["payment_id"]]) == 1

    # 2. a new charger asks Stripe first, finds the charge by the attempt's metadata, and sends nothing
    billing.start("charger", CHARGER_FAULT="crash_after_stripe_call", CHARGER_FAULT_ONCE_FILE=str(once))
    payment = billing.wait_payment(order["order_id"], "succeeded")
    assert payment["stripe_charge_id"] == charge["id"]
    assert scalar(billing.dsn, "SELECT calls FROM charge_calls WHERE payment_id = %s", [payment["payment_id"]]) == 1
    assert "reconciled with Stripe" in billing.log("charger")

    # 3. replay the whole orders topic from offset 0 (a new consumer group: the service's inbox skips what it
    #    applied), plus the request published again and a copy of it under a new event id, which no inbox can
    #    recognise: the payment's unique order id does
    billing.stop("consumer")
    billing.publish(*order["envelopes"])
    billing.publish(replace(order["envelopes"][-1], event_id=str(uuid.uuid4())))
    billing.start("consumer", CONSUMER_GROUP="billing-replay")
    topics = [physical(t, billing.prefix) for t in ("orders.events", "customers.events", "shops.events")]
    wait_for(lambda: group_lag(billing.infra.bootstrap, "billing-replay", topics) == 0, timeout=90,
             what="the replay to reach the end of the topics")
    replayed = scalar(billing.dsn, "SELECT count(*) FROM inbox WHERE consumer = 'billing-service' AND topic = "
                                   "'orders.events' AND outcome = 'applied'")
    assert replayed == 3 + 1  # the order's three events once (every copy dropped by event id) and the new-id copy
    time.sleep(2)  # give the charger every chance to do something wrong

    assert len(billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])) == 1
    assert len(billing.all_charges(customer["stripe_customer_id"])) == 1
    assert scalar(billing.dsn, "SELECT count(*) FROM payments WHERE order_id = %s", [order["order_id"]]) == 1
    assert len(billing.attempts(order["order_id"])) == 1
    assert billing.event_types(payment["payment_id"]) == ["PaymentPending", "PaymentAttemptStarted",
                                                          "PaymentSucceeded"]


def test_a_consumer_killed_between_its_commit_and_its_offsets_opens_one_payment_and_charges_once(billing):
    once = billing.tmp / "consumer-crashed"
    billing.start("relay")
    billing.start("charger")
    shop = billing.shop()
    customer = billing.customer(shop, CARD_OK)
    order = billing.order(shop, customer["customer_id"])

    crashing = billing.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=str(once))
    assert crashing.wait(timeout=60) == 137, billing.log("consumer")
    billing.procs.pop("consumer")
    billing.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=str(once))

    payment = billing.wait_payment(order["order_id"], "succeeded")
    topics = [physical("orders.events", billing.prefix)]
    wait_for(lambda: group_lag(billing.infra.bootstrap, "billing-service", topics) == 0, timeout=60,
             what="the consumer to commit its offsets")
    assert scalar(billing.dsn, "SELECT count(*) FROM inbox WHERE consumer = 'billing-service'") >= 6
    assert len(billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])) == 1
    assert billing.event_types(payment["payment_id"]) == ["PaymentPending", "PaymentAttemptStarted",
                                                          "PaymentSucceeded"]
