"""The REST API of billing-service:
``gunicorn -c python:servicekit.gunicorn_conf "billing_service.entrypoints.flask_app:create_app()"``.

Routes: /api/v1 (payments, attempts, refunds, manager commands, the customer's payments and authorisation),
POST /webhooks/stripe, and /pay/<payment_id>/authorize (links emailed before the 3-D Secure page moved to the web
app: sent on there).
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from billing_service.adapters.ratelimit import RateLimiter
from billing_service.adapters.stripe_gateway import StripeGateway
from billing_service.config import ServiceSettings
from billing_service.domain.errors import PaymentStateError, RefundRefused
from billing_service.entrypoints import api, pay_pages, webhook
from billing_service.service_layer.handlers import PaymentNotFound, StripeRefused
from servicekit import logs
from servicekit.clock import make_clock
from servicekit.db import make_pool
from servicekit.web.app import create_base_app
from servicekit.web.problems import problem_response
from shared_events.outbox import ConcurrencyError


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env()
    base = settings.base
    logs.configure(base.service_name, base.log_level)
    pool = make_pool(base.database_url, name=base.service_name)
    app, rest = create_base_app(
        base,
        title="Billing API",
        description="Charges confirmed orders off-session through Stripe, never twice; retries, 3-D Secure, "
                    "webhooks, refunds.",
        pool=pool,
        clock=make_clock(base.test_clock_url),
    )
    app.extensions["billing_settings"] = settings
    # the API's own Stripe calls (refunds, cancellations, authorisations) are few: paced like the charger's
    app.extensions["stripe"] = StripeGateway(settings.stripe,
                                             RateLimiter(settings.stripe.rate_limit, settings.stripe.rate_burst))
    app.extensions["links"] = settings.links()
    rest.register_blueprint(api.blp)
    rest.register_blueprint(webhook.blp)
    app.register_blueprint(pay_pages.bp)
    _register_errors(app)
    return app


def _register_errors(app: Flask) -> None:
    def problem(status: int, title: str, slug: str, detail: str, errors: dict | None = None) -> Response:
        return problem_response(status, title, detail=detail, errors=errors, slug=slug, instance=request.path,
                                correlation_id=g.get("correlation_id"))

    app.register_error_handler(PaymentNotFound, lambda e: problem(404, "Not found", "not-found", str(e)))
    app.register_error_handler(PaymentStateError, lambda e: problem(409, "Conflict", "conflict", str(e)))
    app.register_error_handler(ConcurrencyError, lambda e: problem(
        409, "Conflict", "conflict", "A concurrent change won; read the payment again and retry."))
    app.register_error_handler(RefundRefused, lambda e: problem(
        422, "Refund refused", "refund-refused", str(e), {"amount": [str(e)]}))
    app.register_error_handler(StripeRefused, lambda e: problem(
        502, "Stripe refused the request", "stripe-refused", str(e)))
