"""The REST API of subscription-service:
``gunicorn -c python:servicekit.gunicorn_conf "subscription_service.entrypoints.flask_app:create_app()"``."""

from __future__ import annotations

from flask import Flask

from servicekit import logs
from servicekit.clock import make_clock
from servicekit.db import make_pool
from servicekit.web.app import create_base_app
from subscription_service.adapters.sign_in_mail import SignInMailer
from subscription_service.adapters.stripe_cards import StripeCards
from subscription_service.config import ServiceSettings
from subscription_service.entrypoints import api as rest

DESCRIPTION = """Shops, customers, schedules and order cycles, subscriptions and their occurrences: the managers'
REST API.

Every route but the sign-in ones needs `Authorization: Bearer <token>`: the platform admin's, a manager's (scoped to
their shops) or a customer's (one customer of one shop: a token a manager issued, or a session the customer opened
with the one-time link emailed to them, `POST /api/v1/sign-in-links` then `POST /api/v1/sessions`; only such a
session saves a card or gives consent to charges). Another shop's resources answer 404. Writes take `If-Match` (the
ETag you read; 412 when stale), creates take `Idempotency-Key`, and `X-Change-Reason` is kept in the history. Errors
are RFC 9457 problem details with field errors. Times: any offset in; UTC and the shop's local time out. Money: integer
minor units."""


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env()
    base = settings.base
    logs.configure(base.service_name, base.log_level)
    pool = make_pool(base.database_url, name=base.service_name)
    app, api = create_base_app(
        base,
        title="Subscriptions API",
        description=DESCRIPTION,
        pool=pool,
        clock=make_clock(base.test_clock_url),
    )
    app.extensions["service_settings"] = settings
    app.extensions["stripe_cards"] = StripeCards(settings.stripe)
    app.extensions["sign_in_mailer"] = SignInMailer(settings.smtp)
    rest.register(app, api)
    return app
