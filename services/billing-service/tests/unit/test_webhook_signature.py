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


def test_an_unsigned_body_nested_too_deeply_to_parse_is_refused_like_any_other_non_event():
    deep = b"[" * 50_000 + b"]" * 50_000
    with pytest.raises(InvalidWebhook, match="not a Stripe event"):
        verify(deep, "t=1,v1=00", SECRET, 300)
