"""The scheduler.events it produces (contract: shared_events/contracts/scheduler.py), built without I/O.

Exactly-once keys: an OrderDue (or, for a due processed after its cycle closed in a shop that places nothing
late, an OrderDueMissed) is aggregate "<subscription_id>:<order_cycle_id>" version 1; a cycle's
OrderCycleOpened is version 1 and its OrderCycleClosed version 2 of aggregate "<order_cycle_id>"; its
OrderCycleClosingSoon (the shop's cut-off reminder) version 1 of aggregate "<order_cycle_id>:closing-soon". The outbox's
unique (topic, aggregate_id, aggregate_version) therefore refuses any second copy, whoever tries.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from scheduler_service import SERVICE_NAME
from scheduler_service.domain.model import WHILE_OPEN, Due, Missed, OrderCycle, PauseEnd, Subscription
from scheduler_service.domain.rules import lateness_seconds
from shared_events import REGISTRY, Envelope, new_envelope
from shared_events.contracts.scheduler import closing_soon_id, occurrence_id, pause_end_id

ORDER_DUE_VERSION = 1
OPENED_VERSION = 1
CLOSED_VERSION = 2
CLOSING_SOON_VERSION = 1  # of aggregate "<order_cycle_id>:closing-soon" (closing_soon_id)
PAUSE_ENDED_VERSION = 1  # of aggregate "<subscription_id>:pause:<paused_version>": one per pause


def order_due(due: Due, now: datetime, *, correlation_id: str | None = None,
              causation_id: str | None = None) -> Envelope:
    payload = {
        **_occurrence_fields(due.subscription, due.cycle),
        "due_at": due.due_at,
        "reason": due.reason,
        "lateness_seconds": lateness_seconds(now, due.due_at),
        "late": due.late,
    }
    return _occurrence_event("OrderDue", due.subscription, due.cycle, payload, now, correlation_id, causation_id)


def order_due_missed(missed: Missed, now: datetime, *, correlation_id: str | None = None,
                     causation_id: str | None = None) -> Envelope:
    """The other outcome of a (subscription, cycle) pair: same aggregate and version as its OrderDue."""
    payload = {
        **_occurrence_fields(missed.subscription, missed.cycle),
        "due_at": missed.due_at,
        "due_reason": missed.due_reason,
        "reason": missed.reason,
        "late_placement": WHILE_OPEN,
        "lateness_seconds": lateness_seconds(now, missed.due_at),
    }
    return _occurrence_event("OrderDueMissed", missed.subscription, missed.cycle, payload, now, correlation_id,
                             causation_id)


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


def _occurrence_event(event_type: str, sub: Subscription, cycle: OrderCycle, payload: dict, now: datetime,
                      correlation_id: str | None, causation_id: str | None) -> Envelope:
    # built directly (not new_envelope) with the schema version looked up once: an open emits one per subscription
    return Envelope(event_type=event_type, schema_version=_latest(event_type),
                    aggregate_id=occurrence_id(sub.subscription_id, cycle.order_cycle_id),
                    aggregate_version=ORDER_DUE_VERSION, payload=payload, producer=SERVICE_NAME, shop_id=sub.shop_id,
                    occurred_at=now, correlation_id=correlation_id or str(uuid.uuid4()), causation_id=causation_id)


@cache
def _latest(event_type: str) -> int:
    return REGISTRY.latest_version(event_type)


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
                 missed_count: int = 0, correlation_id: str | None = None) -> Envelope:
    payload = {**_boundary_payload(cycle, boundary_at, now), "due_count": due_count, "missed_count": missed_count}
    return new_envelope("OrderCycleOpened", cycle.order_cycle_id, OPENED_VERSION, payload, producer=SERVICE_NAME,
                        shop_id=cycle.shop_id, occurred_at=now, correlation_id=correlation_id)


def cycle_closed(cycle: OrderCycle, boundary_at: datetime, now: datetime, *,
                 correlation_id: str | None = None) -> Envelope:
    return new_envelope("OrderCycleClosed", cycle.order_cycle_id, CLOSED_VERSION,
                        _boundary_payload(cycle, boundary_at, now), producer=SERVICE_NAME, shop_id=cycle.shop_id,
                        occurred_at=now, correlation_id=correlation_id)


def cycle_closing_soon(cycle: OrderCycle, boundary_at: datetime, now: datetime, hours_before_close: int, *,
                       correlation_id: str | None = None) -> Envelope:
    """The shop's cut-off reminder of this cycle: once per cycle (its own aggregate, version 1)."""
    payload = {**_boundary_payload(cycle, boundary_at, now), "hours_before_close": hours_before_close}
    return new_envelope("OrderCycleClosingSoon", closing_soon_id(cycle.order_cycle_id), CLOSING_SOON_VERSION,
                        payload, producer=SERVICE_NAME, shop_id=cycle.shop_id, occurred_at=now,
                        correlation_id=correlation_id)


def pause_ended(end: PauseEnd, now: datetime, *, correlation_id: str | None = None) -> Envelope:
    payload = {"subscription_id": end.subscription_id, "shop_id": end.shop_id, "paused_version": end.paused_version,
               "resumes_at": end.resumes_at, "lateness_seconds": lateness_seconds(now, end.resumes_at)}
    return new_envelope("PauseEnded", pause_end_id(end.subscription_id, end.paused_version), PAUSE_ENDED_VERSION,
                        payload, producer=SERVICE_NAME, shop_id=end.shop_id, occurred_at=now,
                        correlation_id=correlation_id)
