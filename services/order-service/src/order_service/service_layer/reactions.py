"""The consumer's reactions (decisions -> new events and emails), by event type. Live only: a rebuild
replays projections, never reactions."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from order_service.config import ReactionSettings
from order_service.service_layer import cycles, notices, payments, placement, subscription_changes, withdrawals
from shared_events import Envelope

Reaction = Callable[[psycopg.Connection, Envelope, ReactionSettings], None]

REACTIONS: dict[str, Reaction] = {
    "OrderDue": cycles.on_order_due,
    "OrderDueMissed": cycles.on_order_due_missed,
    "OrderCycleOpened": cycles.on_cycle_opened,
    "OrderCycleClosed": cycles.on_cycle_closed,
    "SubscriptionUpdated": subscription_changes.on_subscription_updated,
    "SubscriptionPaused": subscription_changes.on_subscription_stopped("subscription_paused"),
    "SubscriptionCancelled": subscription_changes.on_subscription_stopped("subscription_cancelled"),
    "SubscriptionUnpaused": subscription_changes.on_subscription_unpaused,
    "OccurrenceSkipped": subscription_changes.on_occurrence_skipped,
    "OccurrenceResumed": subscription_changes.on_occurrence_resumed,
    **{t: payments.on_payment_event for t in payments.OUTCOMES},
    # a variant gone from the catalog leaves the open orders (the consumer applies runs of them in bulk)
    **{t: withdrawals.on_catalog_event for t in withdrawals.CATALOG_TYPES},
    # what a waiting due lacked has arrived
    "SubscriptionCreated": placement.on_subscription_created,
    **{t: placement.on_shop_data_saved for t in ("ShopCreated", "ShippingMethodSaved", "PaymentMethodSaved")},
}


def react(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    fn = REACTIONS.get(env.event_type)
    if fn is not None:
        fn(conn, env, cfg)
    notices.tell(conn, env)  # the emails that tell of it (service_layer/notices.py)
