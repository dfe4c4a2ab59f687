"""Applies the events subscription-service consumes, exactly once each:
``python -m subscription_service.entrypoints.consumer``.

identity.events (tokens), catalog.events (variant names, prices, availability), scheduler.events (orders due),
orders.events and billing.events (what became of each occurrence). All are projectors: nothing here decides or
emits; the same functions rebuild the projections (entrypoints/rebuild.py).
"""

from __future__ import annotations

from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events.consumer import Handler
from subscription_service import DEFAULT_PORT, SERVICE_NAME
from subscription_service.adapters.projections import CONSUMED_TOPICS, apply

TOPICS = CONSUMED_TOPICS


def handler(_settings: Settings) -> Handler:
    return apply


if __name__ == "__main__":
    # projectors only, none deciding on a row count (as for a rebuild): a batch's rows are written set-based
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT, set_based=True)
