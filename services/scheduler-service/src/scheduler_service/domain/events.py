"""The scheduler.events it decides on (contract: shared_events/contracts/scheduler.py), without I/O.

Each function returns the ``Decided`` event; ``key`` gives its exactly-once key, from the event alone: an
OrderDue (or, for a due processed after its cycle closed in a shop that places nothing late, an OrderDueMissed) is
aggregate "<subscription_id>:<order_cycle_id>" version 1; a cycle's OrderCycleOpened is version 1 and its
OrderCycleClosed version 2 of aggregate "<order_cycle_id>"; its OrderCycleClosingSoon (the shop's cut-off
reminder) version 1 of aggregate "<order_cycle_id>:closing-soon"; a pause's PauseEnded version 1 of
"<subscription_id>:pause:<paused_version>". The outbox's unique (topic, aggregate_id, aggregate_version)
therefore refuses any second copy, whoever tries. The service layer makes the envelopes
(``shared_events.decided.keyed_envelopes``).
"""

from __future__ import annotations

from datetime import datetime

from scheduler_service.domain.model import WHILE_OPEN, Due, Missed, OrderCycle, PauseEnd, Subscription
from scheduler_service.domain.rules import lateness_seconds
from shared_events.contracts.scheduler import closing_soon_id, occurrence_id, pause_end_id
from shared_events.decided import Decided

ORDER_DUE_VERSION = 1
OPENED_VERSION = 1
CLOSED_VERSION = 2
CLOSING_SOON_VERSION = 1  # of aggregate "<order_cycle_id>:closing-soon" (closing_soon_id)
PAUSE_ENDED_VERSION = 1  # of aggregate "<subscription_id>:pause:<paused_version>": one per pause


def order_due(due: Due, now: datetime) -> Decided:
    return Decided("OrderDue", {
        **_occurrence_fields(due.subscription, due.cycle),
        "due_at": due.due_at,
        "reason": due.reason,
        "lateness_seconds": lateness_seconds(now, due.due_at),
        "late": due.late,
    })


def order_due_missed(missed: Missed, now: datetime) -> Decided:
    """The other outcome of a (subscription, cycle) pair: same key as its OrderDue."""
    return Decided("OrderDueMissed", {
        **_occurrence_fields(missed.subscription, missed.cycle),
        "due_at": missed.due_at,
        "due_reason": missed.due_reason,
        "reason": missed.reason,
        "late_placement": WHILE_OPEN,
        "lateness_seconds": lateness_seconds(now, missed.due_at),
    })


def _occurrence_fields(sub: Subscription, cycle: OrderCycle) -> dict:
    """What an OrderDue and an OrderDueMissed both say of the subscription and the cycle."""
    return {
        "subscription_id": sub.subscription_id,
        "order_cycle_id": cycle.order_cycle_id,
        "shop_id": sub.shop_id,
        "customer_id": sub.customer_id,
        "schedule_id": sub.schedule_id,
        "opens_at": cycle.opens_at,
        "closes_at": cycle.closes_at,
    }


def _boundary_payload(cycle: OrderCycle, boundary_at: datetime, now: datetime) -> dict:
    return {
        "order_cycle_id": cycle.order_cycle_id,
        "shop_id": cycle.shop_id,
        "opens_at": cycle.opens_at,
        "closes_at": cycle.closes_at,
        "boundary_at": boundary_at,
        "lateness_seconds": lateness_seconds(now, boundary_at),
    }


def cycle_opened(cycle: OrderCycle, boundary_at: datetime, now: datetime, due_count: int, *,
                 missed_count: int = 0) -> Decided:
    return Decided("OrderCycleOpened", {**_boundary_payload(cycle, boundary_at, now), "due_count": due_count,
                                        "missed_count": missed_count})


def cycle_closed(cycle: OrderCycle, boundary_at: datetime, now: datetime) -> Decided:
    return Decided("OrderCycleClosed", _boundary_payload(cycle, boundary_at, now))


def cycle_closing_soon(cycle: OrderCycle, boundary_at: datetime, now: datetime, hours_before_close: int) -> Decided:
    """The shop's cut-off reminder of this cycle: once per cycle."""
    return Decided("OrderCycleClosingSoon", {**_boundary_payload(cycle, boundary_at, now),
                                             "hours_before_close": hours_before_close})


def pause_ended(end: PauseEnd, now: datetime) -> Decided:
    return Decided("PauseEnded", {"subscription_id": end.subscription_id, "shop_id": end.shop_id,
                                  "paused_version": end.paused_version, "resumes_at": end.resumes_at,
                                  "lateness_seconds": lateness_seconds(now, end.resumes_at)})


def key(decided: Decided) -> tuple[str, int]:
    """The event's exactly-once key: (aggregate_id, aggregate_version)."""
    p = decided.payload
    match decided.event_type:
        case "OrderDue" | "OrderDueMissed":
            return occurrence_id(p["subscription_id"], p["order_cycle_id"]), ORDER_DUE_VERSION
        case "OrderCycleOpened":
            return p["order_cycle_id"], OPENED_VERSION
        case "OrderCycleClosed":
            return p["order_cycle_id"], CLOSED_VERSION
        case "OrderCycleClosingSoon":
            return closing_soon_id(p["order_cycle_id"]), CLOSING_SOON_VERSION
        case "PauseEnded":
            return pause_end_id(p["subscription_id"], p["paused_version"]), PAUSE_ENDED_VERSION
    raise ValueError(f"scheduler-service decides no {decided.event_type}")
