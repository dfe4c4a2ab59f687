"""Stripe webhooks: trusted only once the Stripe-Signature is verified with the endpoint secret and its time
tolerance, then read only once the body has the shape of a Stripe event. Unsigned, forged, stale, future-dated
or malformed requests are refused before anything is recorded.

Time rule: a webhook is accepted when its signed timestamp ``t`` is within the tolerance
(``STRIPE_WEBHOOK_TOLERANCE_S``, default 300 s) of the wall clock on either side: ``now - tolerance <= t <= now +
tolerance``. The past side is ``stripe.WebhookSignature.verify_header``'s own check; the future side (clock skew
between Stripe and us, the same allowance) is ours, since the SDK lets any future timestamp through. The wall
clock, not the service's test clock: Stripe (and localstripe) sign with the real time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import marshmallow as ma
import stripe

# What handle_stripe_event reads of a PaymentIntent, as Stripe documents it. Unknown fields are Stripe's business.
INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing",
                   "requires_capture", "canceled", "succeeded")
INTENT_EVENT_PREFIX = "payment_intent."


class InvalidWebhook(Exception):
    """Not a request from Stripe for this endpoint (or too old, or too far in the future, to trust), or not an
    event. ``errors`` names the fields of a signed body that are missing or of the wrong type."""

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors


class _Tolerant(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


class _IdOrObject(ma.fields.Field):
    """``latest_charge``: an id (the real API) or the expanded Charge (localstripe), or null."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, dict) and isinstance(value.get("id"), str)):
            return value
        raise ma.ValidationError("Must be a charge id or a charge object with an id.")


class _PaymentError(_Tolerant):
    code = ma.fields.String(allow_none=True)
    decline_code = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)


class _PaymentIntent(_Tolerant):
    id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    object = ma.fields.String(validate=ma.validate.Equal("payment_intent"))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(INTENT_STATUSES))
    metadata = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), allow_none=True)
    last_payment_error = ma.fields.Nested(_PaymentError, allow_none=True)
    latest_charge = _IdOrObject(allow_none=True)


class _Data(_Tolerant):
    object = ma.fields.Dict(required=True)


class _Event(_Tolerant):
    id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    object = ma.fields.String(validate=ma.validate.Equal("event"))
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    created = ma.fields.Integer(strict=True)
    data = ma.fields.Nested(_Data, required=True)


_EVENT, _INTENT = _Event(), _PaymentIntent()


def signed_at(signature: str) -> int:
    """The ``t=`` of a Stripe-Signature header that ``verify_header`` accepted (the first one, as it reads it)."""
    return int(next(value for key, _, value in (item.partition("=") for item in signature.split(",")) if key == "t"))


def verify(payload: bytes, signature: str | None, secret: str, tolerance_s: int) -> dict[str, Any]:
    """The event as a plain dict, or InvalidWebhook. No secret ever appears in the error."""
    if not signature:
        raise InvalidWebhook("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance_s)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("The Stripe-Signature does not match, or is too old.") from None
    except UnicodeDecodeError:  # the signature is over the body as text: bytes that are not UTF-8 are no event
        raise InvalidWebhook("The body is not a Stripe event: it is not UTF-8 text.") from None
    if signed_at(signature) > time.time() + tolerance_s:
        raise InvalidWebhook(f"The Stripe-Signature is timestamped more than {tolerance_s} s in the future.")
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise InvalidWebhook("The body is not a Stripe event: it is not JSON.") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("The body is not a Stripe event: it is not a JSON object.")
    errors: dict[str, Any] = _EVENT.validate(event)
    if not errors and event["type"].startswith(INTENT_EVENT_PREFIX):
        intent_errors = _INTENT.validate(event["data"]["object"])
        errors = {"data": {"object": intent_errors}} if intent_errors else {}
    if errors:
        raise InvalidWebhook("The body is not a Stripe event: fields are missing or of the wrong type.", errors)
    return event
