"""Applies the events subscription-service consumes, exactly once each: ``python -m subscription_service.entrypoints.consumer``."""

from __future__ import annotations

from servicekit.auth import apply_identity_event
from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events.consumer import Handler, dispatch
from subscription_service import DEFAULT_PORT, SERVICE_NAME

TOPICS = ["identity.events", "catalog.events", "orders.events", "billing.events", "scheduler.events"]


def handler(_settings: Settings) -> Handler:
    return dispatch({
        "TokenIssued": apply_identity_event,
        "TokenRevoked": apply_identity_event,
    })


if __name__ == "__main__":
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT)
