"""POST /webhooks/stripe: verified signature and tolerance, each event once, never backwards."""

import json
import time
import uuid

import pytest
import requests

from devstack.testing import scalar

pytestmark = pytest.mark.integration

CARD_3DS_REQUIRED = "4000002760003184"


def event(kind: str, intent: dict) -> dict:
    return {"id": "evt_" + uuid.uuid4().hex[:20], "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": intent}}


def authorised_elsewhere(billing):
    """A payment waiting for 3-D Secure, then authorised at localstripe directly; no webhook is registered, so
    billing knows nothing until the test posts one. Returns (order, payment, the succeeded intent)."""
    billing.start_all()
    shop = billing.shop()
    customer = billing.customer(shop, CARD_3DS_REQUIRED)
    order = billing.order(shop, customer["customer_id"])
    payment = billing.wait_payment(order["order_id"], "requires_action")
    intent = billing.stripe.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    requests.post(f"{billing.stripe_url}/v1/payment_intents/{intent.id}/_authenticate",
                  data={"client_secret": intent.client_secret, "success": "true", "key": "pk_test_x"},
                  timeout=10).raise_for_status()
    succeeded = billing.stripe.payment_intents.retrieve(intent.id).to_dict()
    assert succeeded["status"] == "succeeded"
    return order, payment, succeeded


def stored_events(billing, payment_id):
    return scalar(billing.dsn, "SELECT count(*) FROM event_store WHERE aggregate_id = %s", [payment_id])


def test_unsigned_forged_and_stale_webhooks_get_400_and_change_nothing(billing):
    order, payment, intent = authorised_elsewhere(billing)
    before = stored_events(billing, payment["payment_id"])
    good = event("payment_intent.succeeded", intent)

    unsigned = billing.client.post("/webhooks/stripe", json=good)
    forged = billing.post_webhook(good, secret="whsec_" + uuid.uuid4().hex)
    stale = billing.post_webhook(good, at=int(time.time()) - 3600)
    headers = billing.signed(good)
    body = headers.pop("_body")
    tampered = billing.client.post("/webhooks/stripe", data=body.replace("succeeded", "canceled"), headers=headers)

    for resp in (unsigned, forged, stale, tampered):
        assert resp.status_code == 400 and resp.mimetype == "application/problem+json", resp.data
        assert billing.webhook_secret not in resp.get_data(as_text=True)
    assert scalar(billing.dsn, "SELECT count(*) FROM stripe_events") == 0
    assert stored_events(billing, payment["payment_id"]) == before
    assert billing.payment(order["order_id"])["status"] == "requires_action"


def test_a_signed_event_is_applied_once_and_a_replay_of_it_changes_nothing(billing):
    order, payment, intent = authorised_elsewhere(billing)
    succeeded = event("payment_intent.succeeded", intent)

    first = billing.post_webhook(succeeded)
    assert first.status_code == 200 and first.json == {"received": True, "result": "applied"}
    after_first = stored_events(billing, payment["payment_id"])
    paid = billing.payment(order["order_id"])
    assert paid["status"] == "succeeded" and paid["stripe_charge_id"] == intent["latest_charge"]["id"]

    replayed = billing.post_webhook(succeeded)  # Stripe retries, or someone replays a captured request
    assert replayed.status_code == 200 and replayed.json["result"] == "duplicate"
    assert stored_events(billing, payment["payment_id"]) == after_first
    assert scalar(billing.dsn, "SELECT count(*) FROM stripe_events WHERE event_id = %s", [succeeded["id"]]) == 1


def test_an_out_of_order_failure_never_moves_a_succeeded_payment_backwards(billing):
    order, payment, intent = authorised_elsewhere(billing)
    failed_intent = {**intent, "status": "requires_payment_method", "latest_charge": None,
                     "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    assert billing.post_webhook(event("payment_intent.succeeded", intent)).json["result"] == "applied"
    count = stored_events(billing, payment["payment_id"])

    late = billing.post_webhook(event("payment_intent.payment_failed", failed_intent))
    assert late.status_code == 200 and late.json["result"] == "no_change"
    assert billing.payment(order["order_id"])["status"] == "succeeded"
    assert stored_events(billing, payment["payment_id"]) == count
    assert "PaymentFailed" not in billing.event_types(payment["payment_id"])


def test_events_about_intents_billing_does_not_know_are_acknowledged_and_ignored(billing):
    billing.start_all()
    unknown = billing.post_webhook(event("payment_intent.succeeded", {"id": "pi_not_ours", "status": "succeeded",
                                                                      "metadata": {}}))
    other = billing.post_webhook(event("customer.created", {"id": "cus_x"}))
    assert (unknown.json["result"], other.json["result"]) == ("unknown_payment", "ignored")


def malformed_but_signed_bodies(intent: dict) -> dict[str, str]:
    """Bodies Stripe would never send, each signed with the endpoint's secret (so only their shape is wrong)."""
    good = event("payment_intent.succeeded", intent)
    data = good["data"]
    return {
        "not JSON": "this is not json {",
        "truncated JSON": json.dumps(good)[:-5],
        "a JSON array": json.dumps([good]),
        "a JSON string": json.dumps("payment_intent.succeeded"),
        "JSON null": "null",
        "no id": json.dumps({k: v for k, v in good.items() if k != "id"}),
        "no type": json.dumps({k: v for k, v in good.items() if k != "type"}),
        "no data": json.dumps({k: v for k, v in good.items() if k != "data"}),
        "no data.object": json.dumps({**good, "data": {}}),
        "id a number": json.dumps({**good, "id": 42}),
        "type a list": json.dumps({**good, "type": ["payment_intent.succeeded"]}),
        "data a string": json.dumps({**good, "data": "succeeded"}),
        "data.object a list": json.dumps({**good, "data": {"object": [intent]}}),
        "data.object null": json.dumps({**good, "data": {"object": None}}),
        "intent without id": json.dumps({**good, "data": {"object": {**intent, "id": None}}}),
        "intent status a number": json.dumps({**good, "data": {**data, "object": {**intent, "status": 1}}}),
        "intent status unknown": json.dumps({**good, "data": {**data, "object": {**intent, "status": "paid"}}}),
        "metadata a list": json.dumps({**good, "data": {**data, "object": {**intent, "metadata": ["x"]}}}),
        "last_payment_error a string": json.dumps(
            {**good, "data": {**data, "object": {**intent, "last_payment_error": "card_declined"}}}),
        "latest_charge a number": json.dumps({**good, "data": {**data, "object": {**intent, "latest_charge": 7}}}),
    }


def test_signed_webhooks_with_malformed_bodies_or_from_the_future_get_400_and_change_nothing(billing):
    order, payment, intent = authorised_elsewhere(billing)
    before = stored_events(billing, payment["payment_id"])
    answers = {name: billing.post_webhook(body) for name, body in malformed_but_signed_bodies(intent).items()}
    good = event("payment_intent.succeeded", intent)
    tolerance = billing.settings.stripe.webhook_tolerance_s
    answers["an hour in the future"] = billing.post_webhook(good, at=int(time.time()) + 3600)
    answers["just beyond the tolerance ahead"] = billing.post_webhook(good, at=int(time.time()) + tolerance + 30)

    for name, resp in answers.items():
        assert (resp.status_code, resp.mimetype) == (400, "application/problem+json"), (name, resp.data)
        assert resp.json["type"].endswith("/invalid-webhook"), (name, resp.json)
    assert "future" in answers["an hour in the future"].json["detail"]
    assert "data.object.status" in answers["intent status unknown"].json["errors"]
    assert scalar(billing.dsn, "SELECT count(*) FROM stripe_events") == 0
    assert stored_events(billing, payment["payment_id"]) == before
    assert billing.payment(order["order_id"])["status"] == "requires_action"

    # a clock a little behind Stripe's (inside the tolerance) is not a reason to refuse
    skewed = billing.post_webhook(good, at=int(time.time()) + tolerance // 2)
    assert skewed.status_code == 200 and skewed.json["result"] == "applied"
    assert billing.payment(order["order_id"])["status"] == "succeeded"
