"""The REST API of order-service:
``gunicorn -c python:servicekit.gunicorn_conf "order_service.entrypoints.flask_app:create_app()"``."""

from __future__ import annotations

from flask import Flask, Response, g, request

from order_service.config import ServiceSettings
from order_service.domain import errors
from order_service.entrypoints.api import blp
from order_service.entrypoints.reports_api import blp as reports_blp
from servicekit import logs
from servicekit.clock import make_clock
from servicekit.db import make_pool
from servicekit.web.app import create_base_app
from servicekit.web.problems import problem_response
from shared_events.outbox import ConcurrencyError

# domain error -> (status, title, slug)
ERRORS: list[tuple[type[errors.DomainError], int, str, str]] = [
    (errors.OrderClosed, 409, "Order cycle closed", "order-closed"),
    (errors.OrderNotEditable, 409, "Order not editable", "order-not-editable"),
    (errors.ChangeNotAllowed, 403, "Not allowed", "forbidden"),
    (errors.LineNotFound, 404, "Not found", "not-found"),
    (errors.InvalidChange, 422, "Validation failed", "validation"),
]


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env()
    base = settings.base
    logs.configure(base.service_name, base.log_level)
    pool = make_pool(base.database_url, name=base.service_name)
    app, api = create_base_app(
        base,
        title="Orders API",
        description="Orders placed for each due occurrence, editable until the cycle closes, confirmed at close; "
                    "emails.",
        pool=pool,
        clock=make_clock(base.test_clock_url),
        consumer_group=settings.consumer_group,  # namespaced like the topics (order_service.config)
    )
    api.register_blueprint(blp)
    api.register_blueprint(reports_blp)

    @app.errorhandler(errors.DomainError)
    def _domain_error(exc: errors.DomainError) -> Response:
        status, title, slug = next((s, t, sl) for cls, s, t, sl in ERRORS if isinstance(exc, cls))
        return problem_response(status, title, detail=exc.message, errors=exc.errors, slug=slug,
                                instance=request.path, correlation_id=g.get("correlation_id"))

    @app.errorhandler(ConcurrencyError)
    def _concurrent(_exc: ConcurrencyError) -> Response:
        return problem_response(409, "Conflict", detail="A concurrent change won; read the order and try again.",
                                slug="conflict", instance=request.path, correlation_id=g.get("correlation_id"))

    return app
