"""Applies the events billing-service consumes, exactly once each: ``python -m billing_service.entrypoints.consumer``.

Projectors keep the context billing decides from (tokens, shops, customers' cards and permissions, orders);
one reactor turns PaymentRequested into a Payment and its first attempt (``handlers.open_payment``), in the
same transaction as the inbox row. The Stripe calls are the charger's, after that transaction committed.
CONSUMER_GROUP names another Kafka consumer group (it reads the topics from the start); the inbox stays the
service's, so such a replay applies nothing twice.
"""

from __future__ import annotations

import psycopg

from billing_service import DEFAULT_PORT, SERVICE_NAME
from billing_service.adapters.projections import project
from billing_service.config import ServiceSettings
from billing_service.service_layer import handlers
from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events import Envelope
from shared_events.consumer import Handler

TOPICS = ["identity.events", "orders.events", "customers.events", "shops.events"]


def handle(conn: psycopg.Connection, env: Envelope) -> None:
    project(conn, env)
    if env.event_type == "PaymentRequested":
        handlers.open_payment(conn, env)


def handler(_settings: Settings) -> Handler:
    return handle


if __name__ == "__main__":
    ServiceSettings.from_env()  # the service's own settings: in production, refuses development defaults
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT)
