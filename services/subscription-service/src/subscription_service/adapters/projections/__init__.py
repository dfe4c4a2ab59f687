"""Projectors: events -> rows. The write path applies its own events with these functions in the request's
transaction, the consumer applies the events of other services with them, and a rebuild replays every topic with
them into a scratch schema: the same code, so the live rows and the rebuilt rows are the same.
"""

from __future__ import annotations

import psycopg

from servicekit.auth import apply_identity_event
from shared_events import Envelope
from subscription_service.adapters.projections import catalog, customers, orders, schedules, shops, subscriptions

OWN_TOPICS = ["identity.events", "shops.events", "customers.events", "schedules.events", "subscriptions.events"]
CONSUMED_TOPICS = ["identity.events", "catalog.events", "orders.events", "billing.events", "scheduler.events"]
ALL_TOPICS = list(dict.fromkeys(OWN_TOPICS + CONSUMED_TOPICS))

PROJECTION_TABLES = ["api_tokens", "shops", "shop_methods", "shop_managers", "customers", "order_cycles", "schedules",
                     "subscriptions", "occurrence_skips", "variants", "order_dues", "missed_dues",
                     "occurrence_orders", "order_payments"]

PROJECTORS = {
    "TokenIssued": apply_identity_event,
    "TokenRevoked": apply_identity_event,
    **shops.PROJECTORS,
    **customers.PROJECTORS,
    **schedules.PROJECTORS,
    **subscriptions.PROJECTORS,
    **catalog.PROJECTORS,
    **orders.PROJECTORS,
}


def apply(conn: psycopg.Connection, env: Envelope) -> None:
    """Apply one event to the projections (types this service does not project are ignored)."""
    fn = PROJECTORS.get(env.event_type)
    if fn is not None:
        fn(conn, env)
