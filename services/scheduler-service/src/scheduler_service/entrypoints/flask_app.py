"""The REST API of scheduler-service:
``gunicorn -c python:servicekit.gunicorn_conf "scheduler_service.entrypoints.flask_app:create_app()"``."""

from __future__ import annotations

from flask import Flask

from scheduler_service import bootstrap
from scheduler_service.config import ServiceSettings
from scheduler_service.entrypoints.api.routes import boundaries_blp, clock_blp
from servicekit import logs
from servicekit.db import make_pool
from servicekit.web.app import create_base_app


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env()
    base = settings.base
    logs.configure(base.service_name, base.log_level)
    pool = make_pool(base.database_url, name=base.service_name)
    clock = bootstrap.clock(settings)
    app, api = create_base_app(
        base,
        title="Scheduler API",
        description="Turns order-cycle boundaries into events exactly once (OrderDue, OrderCycleOpened/Closed); "
                    "owns the test clock.",
        pool=pool,
        clock=clock,
    )
    app.extensions["scheduler_clock"] = clock
    app.extensions["scheduler_worker"] = f"api:{settings.worker_id}"
    api.register_blueprint(clock_blp)
    api.register_blueprint(boundaries_blp)
    return app
