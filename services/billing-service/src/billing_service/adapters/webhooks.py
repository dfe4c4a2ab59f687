"""Stripe webhooks: trusted only once the Stripe-Signature is verified with the endpoint secret and its time
tolerance (``stripe.Webhook.construct_event``). Unsigned, forged, stale or malformed requests are refused
before anything is read from them."""

from __future__ import annotations

import json
from typing import Any

import stripe


class InvalidWebhook(Exception):
    """Not a request from Stripe for this endpoint (or too old to trust)."""


def verify(payload: bytes, signature: str | None, secret: str, tolerance_s: int) -> dict[str, Any]:
    """The event as a plain dict, or InvalidWebhook. No secret ever appears in the error."""
    if not signature:
        raise InvalidWebhook("The Stripe-Signature header is missing.")
    try:
        event = json.loads(payload)  # parsed, not trusted: construct_event below checks the signature
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply (unsigned)
        raise InvalidWebhook("The body is not a Stripe event.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidWebhook("The body is not a Stripe event.")
    try:
        stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance_s)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("The Stripe-Signature does not match, or is too old.") from None
    except ValueError:
        raise InvalidWebhook("The body is not a Stripe event.") from None
    return event
