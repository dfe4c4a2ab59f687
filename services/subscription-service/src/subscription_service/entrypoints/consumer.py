"""Applies the events subscription-service consumes, exactly once each:
``python -m subscription_service.entrypoints.consumer``.

identity.events (tokens), catalog.events (variant names, prices, availability), scheduler.events (orders due),
orders.events and billing.events (what became of each occurrence). All are projectors (the same functions rebuild
the projections: entrypoints/rebuild.py) but one reaction, live only: scheduler-service's PauseEnded (a pause
until a date has reached its date) records SubscriptionUnpaused (automatic) if that pause still stands; its
events reach the projections through the same projectors, so a rebuild (which never reacts) replays them.
"""

from __future__ import annotations

import psycopg

from servicekit.auth import Principal
from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events import Envelope
from shared_events.consumer import Handler
from subscription_service import DEFAULT_PORT, SERVICE_NAME
from subscription_service.adapters.projections import CONSUMED_TOPICS, apply
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.subscriptions import resume_automatically

TOPICS = CONSUMED_TOPICS
SYSTEM = Principal(role="system", token_id="scheduler-service")
RESUMED_AUTOMATICALLY = "resumed automatically: the pause was until this date"


def react(conn: psycopg.Connection, env: Envelope) -> None:
    """Apply, then the one reaction: PauseEnded -> SubscriptionUnpaused (automatic), at the event's time, once
    (the subscription's version: a redelivery finds it unpaused and decides nothing)."""
    apply(conn, env)
    if env.event_type == "PauseEnded":
        p = env.payload
        caller = Caller(SYSTEM, env.occurred_at, reason=RESUMED_AUTOMATICALLY, correlation_id=env.correlation_id)
        resume_automatically(conn, caller, p["shop_id"], p["subscription_id"], p["resumes_at"])


def handler(_settings: Settings) -> Handler:
    return react


if __name__ == "__main__":
    # projectors only, none deciding on a row count (as for a rebuild): a batch's rows are written set-based
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT, set_based=True)
