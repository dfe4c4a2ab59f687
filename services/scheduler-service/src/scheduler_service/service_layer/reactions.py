"""Mid-cycle OrderDue: a change that makes a subscription due in a cycle the scheduler has already opened
gets its OrderDue at once, from the consumer (live only: a rebuild never reacts).

Runs in the consumer's transaction, after the projector wrote the change, under the shop's claim (see
``repository``), so it and the cycle's opening batch never both miss nor both emit a subscription. Changes
that make something *not* due (pause, cancel, skip, removal) emit nothing: what was emitted stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from scheduler_service.adapters import metrics, repository
from scheduler_service.adapters.repository import Scope
from scheduler_service.domain import events
from scheduler_service.domain.planning import plan_mid_cycle
from scheduler_service.service_layer.boundaries import stamp
from shared_events import Envelope, outbox


@dataclass(frozen=True)
class Trigger:
    scope: Scope
    reason: str  # one of shared_events.contracts.scheduler.DUE_REASONS


def trigger_for(env: Envelope) -> Trigger | None:
    """Which pairs an event may have made due, and why; None for events that cannot make anything due."""
    p, kind = env.payload, env.event_type
    if kind == "SubscriptionCreated":
        return Trigger(Scope(subscription_id=p["subscription_id"]), "subscription_created")
    if kind == "SubscriptionUpdated" and {"begins_at", "ends_at"} & set(p["changes"]):
        return Trigger(Scope(subscription_id=p["subscription_id"]), "subscription_updated")
    if kind == "SubscriptionUnpaused":
        return Trigger(Scope(subscription_id=p["subscription_id"]), "subscription_unpaused")
    if kind == "OccurrenceResumed":
        return Trigger(Scope(subscription_id=p["subscription_id"], order_cycle_ids=(p["order_cycle_id"],)),
                       "occurrence_resumed")
    if kind == "ScheduleCreated" and p["order_cycle_ids"]:
        return Trigger(Scope(schedule_id=p["schedule_id"]), "cycle_added")
    if kind == "ScheduleOrderCyclesChanged" and p["added"]:
        return Trigger(Scope(schedule_id=p["schedule_id"], order_cycle_ids=tuple(p["added"])), "cycle_added")
    if kind == "OrderCycleMoved":
        return Trigger(Scope(order_cycle_ids=(p["order_cycle_id"],)), "cycle_moved")
    if kind == "ShopUpdated" and p["changes"].get("subscriptions_enabled") is True:
        return Trigger(Scope(shop_id=p["shop_id"]), "subscriptions_enabled")
    return None


def react(conn: psycopg.Connection, env: Envelope, now: Callable[[], datetime]) -> list[Envelope]:
    """Store the OrderDue events ``env`` makes due now (and the OrderDueMissed of those it made due in a cycle
    that has closed since, in a shop that places nothing late); returns those stored."""
    trigger = trigger_for(env)
    if trigger is None:
        return []
    repository.lock_shop(conn, env.payload["shop_id"])
    candidates = repository.mid_cycle_candidates(conn, trigger.scope, env.occurred_at)
    if not candidates:
        return []
    at = now()
    shops = repository.shops(conn, {c.subscription.shop_id for c in candidates})
    plan = plan_mid_cycle(candidates, shops, at, env.occurred_at, trigger.reason)
    stored = outbox.append_new(conn, stamp([events.order_due(d, at) for d in plan.dues]
                                           + [events.order_due_missed(m, at) for m in plan.missed], at,
                                           **env.caused()))
    for envelope in stored:
        if envelope.event_type == "OrderDue":
            metrics.ORDER_DUE.labels(trigger.reason, str(envelope.payload["late"]).lower()).inc()
        else:
            metrics.ORDER_DUE_MISSED.labels(envelope.payload["reason"]).inc()
    return stored
