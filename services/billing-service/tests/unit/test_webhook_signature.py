"""Stripe-Signature verification of webhooks (no I/O: headers are computed here as Stripe computes them)."""

import hashlib
import hmac
import json
import time

import pytest

from billing_service.adapters.webhooks import InvalidWebhook, verify

SECRET = "whsec_unit_test_secret"
EVENT = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                    "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}}}).encode()


def header(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_a_correctly_signed_fresh_event_is_accepted():
    assert verify(EVENT, header(EVENT), SECRET, 300)["id"] == "evt_1"


def test_an_unsigned_request_is_refused():
    with pytest.raises(InvalidWebhook):
        verify(EVENT, None, SECRET, 300)
    with pytest.raises(InvalidWebhook):
        verify(EVENT, "", SECRET, 300)


def test_a_signature_made_with_another_secret_or_over_another_body_is_refused():
    with pytest.raises(InvalidWebhook):
        verify(EVENT, header(EVENT, "whsec_someone_else"), SECRET, 300)
    tampered = EVENT.replace(b"succeeded", b"failed")
    with pytest.raises(InvalidWebhook):
        verify(tampered, header(EVENT), SECRET, 300)


def test_a_stale_signature_outside_the_tolerance_is_refused():
    with pytest.raises(InvalidWebhook):
        verify(EVENT, header(EVENT, at=int(time.time()) - 3600), SECRET, 300)


def test_the_error_never_contains_the_secret():
    with pytest.raises(InvalidWebhook) as refused:
        verify(EVENT, header(EVENT, "whsec_other"), SECRET, 300)
    assert SECRET not in str(refused.value)


def test_a_signed_body_that_is_not_an_event_is_refused():
    body = b"[1, 2, 3]"
    with pytest.raises(InvalidWebhook):
        verify(body, header(body), SECRET, 300)


def test_an_unsigned_body_nested_too_deeply_to_parse_is_refused_before_it_is_parsed():
    deep = b"[" * 50_000 + b"]" * 50_000
    with pytest.raises(InvalidWebhook, match="does not match"):
        verify(deep, "t=1,v1=00", SECRET, 300)


def test_a_signed_body_nested_too_deeply_to_parse_is_refused_as_not_an_event():
    deep = b"[" * 50_000 + b"]" * 50_000
    with pytest.raises(InvalidWebhook, match="not a Stripe event"):
        verify(deep, header(deep), SECRET, 300)


def test_a_signature_timestamped_beyond_the_tolerance_in_the_future_is_refused():
    with pytest.raises(InvalidWebhook, match="in the future"):
        verify(EVENT, header(EVENT, at=int(time.time()) + 3600), SECRET, 300)
    with pytest.raises(InvalidWebhook, match="in the future"):
        verify(EVENT, header(EVENT, at=int(time.time()) + 330), SECRET, 300)


def test_a_signature_a_little_ahead_of_our_clock_is_accepted_as_skew_like_one_a_little_behind():
    assert verify(EVENT, header(EVENT, at=int(time.time()) + 200), SECRET, 300)["id"] == "evt_1"
    assert verify(EVENT, header(EVENT, at=int(time.time()) - 200), SECRET, 300)["id"] == "evt_1"


def test_the_future_is_judged_on_the_signed_timestamp_not_on_one_added_after_it():
    at = int(time.time()) + 3600
    forged = header(EVENT, at=at) + f",t={int(time.time())}"  # a second t= cannot hide the signed one
    with pytest.raises(InvalidWebhook):
        verify(EVENT, forged, SECRET, 300)


@pytest.mark.parametrize("body", [
    b"not json", b"\xff\xfe not utf-8", b'"a string"', b"null", b"42",
    b'{"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "status": "succeeded"}}}',
    b'{"id": "evt_1", "data": {"object": {}}}',
    b'{"id": "evt_1", "type": "customer.created"}',
    b'{"id": "evt_1", "type": "customer.created", "data": {}}',
    b'{"id": 1, "type": "customer.created", "data": {"object": {}}}',
    b'{"id": "evt_1", "type": 7, "data": {"object": {}}}',
    b'{"id": "evt_1", "type": "customer.created", "data": []}',
    b'{"id": "evt_1", "type": "customer.created", "data": {"object": "cus_1"}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"status": "succeeded"}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "status": true}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "status": "succeeded",'
    b' "metadata": {"payment_id": 5}}}}',
    b'{"id": "evt_1", "type": "payment_intent.payment_failed", "data": {"object": {"id": "pi_1",'
    b' "status": "requires_payment_method", "last_payment_error": {"code": 402}}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "status": "succeeded",'
    b' "latest_charge": {"amount": 5}}}}',
])
def test_a_signed_body_that_is_not_a_well_formed_event_is_refused(body):
    with pytest.raises(InvalidWebhook, match="not a Stripe event"):
        verify(body, header(body), SECRET, 300)


def test_a_refused_body_names_the_fields_that_are_wrong():
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "status": 3}}}'
    with pytest.raises(InvalidWebhook) as refused:
        verify(body, header(body), SECRET, 300)
    assert set(refused.value.errors["data"]["object"]) == {"status"}


def test_fields_stripe_adds_and_this_service_does_not_read_are_tolerated():
    body = json.dumps({**json.loads(EVENT), "livemode": False, "request": {"id": None}, "pending_webhooks": 1,
                       "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded",
                                           "amount": 1250, "metadata": {"payment_id": "p"}, "latest_charge": "ch_1",
                                           "last_payment_error": None}, "previous_attributes": {}}}).encode()
    assert verify(body, header(body), SECRET, 300)["data"]["object"]["latest_charge"] == "ch_1"
