"""Applies the events order-service consumes, exactly once each: ``python -m order_service.entrypoints.consumer``.

Each event is first projected (facts -> rows, the same functions a rebuild replays), then reacted to
(orders placed, changed, confirmed; emails queued), in one savepoint of the batch's transaction.
"""

from __future__ import annotations

import psycopg

from order_service.adapters.projections import project
from order_service.config import ReactionSettings, ServiceSettings
from order_service.service_layer.reactions import react
from servicekit import logs
from servicekit.config import Settings
from servicekit.runners import make_consumer
from servicekit.worker import run_worker
from shared_events import Envelope
from shared_events.consumer import Handler

TOPICS = ["identity.events", "scheduler.events", "subscriptions.events", "customers.events", "shops.events",
          "schedules.events", "catalog.events", "billing.events"]


def handler(_settings: Settings | None = None, reactions: ReactionSettings | None = None) -> Handler:
    cfg = reactions or ReactionSettings.from_env()

    def handle(conn: psycopg.Connection, env: Envelope) -> None:
        project(conn, env)
        react(conn, env, cfg)

    return handle


def main() -> None:
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    consumer = make_consumer(settings.base, TOPICS, handler(settings.base, settings.reactions),
                             group=settings.consumer_group)
    run_worker(consumer, name=f"{settings.base.service_name}.consumer")


if __name__ == "__main__":
    main()
