"""POST /webhooks/stripe: Stripe's events about our payment intents (public: the signature is the credential).

Unsigned, forged, stale or future-dated (outside the tolerance either side), or a signed body that is not a
Stripe event (not JSON, not an object, fields missing or of the wrong type) -> 400 and nothing changes. Each
Stripe event id is processed once (a replay answers 200 "duplicate"); an outcome never moves a payment backwards.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from billing_service.adapters.webhooks import InvalidWebhook, verify
from billing_service.config import ServiceSettings
from billing_service.entrypoints.api_schemas import WebhookAckSchema
from billing_service.service_layer import handlers
from servicekit.web.app import now, public, request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.problems import Problem, flatten_errors

blp = Blueprint("webhooks", __name__, description="Stripe webhooks (Stripe-Signature verified)")


@blp.route("/webhooks/stripe", methods=["POST"])
@blp.response(200, WebhookAckSchema)
@blp.doc(parameters=[{"in": "header", "name": "Stripe-Signature", "required": True, "schema": {"type": "string"},
                      "description": "Stripe's signature of the body with the endpoint's secret "
                                     "(STRIPE_WEBHOOK_SECRET): this route's credential; it takes no bearer token."}])
@public
def stripe_webhook() -> Any:
    """Receives payment_intent.succeeded / payment_failed / canceled / requires_action."""
    settings: ServiceSettings = current_app.extensions["billing_settings"]
    try:
        event = verify(request.get_data(), request.headers.get("Stripe-Signature"), settings.stripe.webhook_secret,
                       settings.stripe.webhook_tolerance_s)
    except InvalidWebhook as exc:
        raise Problem(str(exc), status=400, title="Invalid webhook", slug="invalid-webhook",
                      errors=flatten_errors(exc.errors) if exc.errors else None) from None
    result = handlers.handle_stripe_event(request_conn(), event, now=now(), links=current_app.extensions["links"])
    return jsonify({"received": True, "result": result})
