"""Applies the events order-service consumes, exactly once each: ``python -m order_service.entrypoints.consumer``."""

from __future__ import annotations

from servicekit.auth import apply_identity_event
from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events.consumer import Handler, dispatch
from order_service import DEFAULT_PORT, SERVICE_NAME

TOPICS = ["identity.events", "scheduler.events", "subscriptions.events", "customers.events", "shops.events", "schedules.events", "catalog.events", "billing.events"]


def handler(_settings: Settings) -> Handler:
    return dispatch({
        "TokenIssued": apply_identity_event,
        "TokenRevoked": apply_identity_event,
    })


if __name__ == "__main__":
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT)
