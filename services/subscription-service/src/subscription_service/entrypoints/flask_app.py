"""The REST API of subscription-service: ``gunicorn -c python:servicekit.gunicorn_conf "subscription_service.entrypoints.flask_app:create_app()"``."""

from __future__ import annotations

from flask import Flask

from servicekit import logs
from servicekit.clock import make_clock
from servicekit.db import make_pool
from servicekit.web.app import create_base_app
from subscription_service.config import ServiceSettings


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env()
    base = settings.base
    logs.configure(base.service_name, base.log_level)
    pool = make_pool(base.database_url, name=base.service_name)
    app, _api = create_base_app(
        base,
        title="Subscriptions API",
        description="Shops, customers, schedules, order cycles, subscriptions and their occurrences: the managers' REST API.",
        pool=pool,
        clock=make_clock(base.test_clock_url),
    )
    return app
