"""Subscriptions: their derived state and lifecycle (reference sections 2.1, 6, 7).

State, in this order: cancelled > paused > pending (begins in the future) > ended (ended in the past) > active.
Pause and cancel ask what to do with the orders already placed in open cycles (keep or cancel: HTTP 409 until the
caller chooses); unpause re-runs every validation; cancel cannot be undone; customer and schedule never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from subscription_service.domain.common import By, Decided
from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.errors import Conflict, Invalid, NotFound
from subscription_service.domain.terms import EDITABLE, Item, Terms, differences
from subscription_service.domain.validation import Context, Draft, estimate, validate
from subscription_service.domain.wallclock import to_utc

OPEN_ORDER_CHOICES = ("keep", "cancel")
MAX_AHEAD_DAYS = 366  # a pause's end or a holiday's last day: at most this many days after today
STATES = ("active", "pending", "paused", "ended", "cancelled")


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    shop_id: str
    customer_id: str
    schedule_id: str
    currency: str
    version: int
    terms: Terms
    created_at: datetime
    paused_at: datetime | None = None
    cancelled_at: datetime | None = None
    skipped: frozenset[str] = field(default_factory=frozenset)  # order cycle ids
    paused_until: datetime | None = None  # a pause until a date: when it resumes by itself

    def draft(self) -> Draft:
        return Draft(self.customer_id, self.schedule_id, self.terms)

    def ids(self) -> dict[str, str]:
        return {"subscription_id": self.subscription_id, "shop_id": self.shop_id}


def state(sub: Subscription, now: datetime) -> str:
    if sub.cancelled_at is not None:
        return "cancelled"
    if sub.paused_at is not None:
        return "paused"
    if sub.terms.begins_at is not None and sub.terms.begins_at > now:
        return "pending"
    if sub.terms.ends_at is not None and sub.terms.ends_at < now:
        return "ended"
    return "active"


class ChoiceNeeded(Conflict):
    """Orders were already placed in open cycles: keep them or cancel them? (reference rule 34)."""

    def __init__(self, action: str, open_cycle_ids: list[str]) -> None:
        super().__init__(
            f"Some orders for this subscription are currently open. The customer has already been told that the "
            f"order will be placed. Send open_orders=cancel to cancel them or open_orders=keep to keep them "
            f"(they are then confirmed and charged at close), then {action} again.",
            {"open_orders": ["Choose keep or cancel."], "open_order_cycle_ids": list(open_cycle_ids)})
        self.open_cycle_ids = list(open_cycle_ids)


def _valid(ctx: Context, draft: Draft, before: tuple[Item, ...] = ()) -> tuple[Terms, list[str]]:
    errors, warns = validate(ctx, draft, before)
    if errors:
        raise Invalid(errors)
    return estimate(ctx, draft.terms), warns


def create_subscription(subscription_id: str, ctx: Context, draft: Draft, by: By,
                        sequence: int | None = None) -> tuple[list[Decided], list[str]]:
    """``sequence``: the subscription's rank of creation in its shop (first come, first served)."""
    terms, warns = _valid(ctx, draft)
    payload = {"subscription_id": subscription_id, "shop_id": ctx.shop.shop_id, "customer_id": draft.customer_id,
               "schedule_id": draft.schedule_id, "currency": ctx.shop.currency, "terms": terms.data(),
               "sequence": sequence}
    return [Decided("SubscriptionCreated", by.stamp(payload))], warns


def update_subscription(sub: Subscription, ctx: Context, changes: dict[str, Any],
                        by: By) -> tuple[list[Decided], list[str]]:
    """Edit items, quantities, addresses, methods and dates; re-estimates prices and fees (reference rule 29)."""
    if sub.cancelled_at is not None:
        raise Conflict("This subscription is cancelled; it can no longer be changed.")
    fixed: dict[str, list[str]] = {n: ["Cannot be changed after creation: create a new subscription instead."]
             for n in ("customer_id", "schedule_id") if n in changes and changes[n] != getattr(sub, n)}
    if fixed:
        raise Invalid(fixed)
    editable = {k: v for k, v in changes.items() if k in EDITABLE}
    draft = Draft(sub.customer_id, sub.schedule_id, sub.terms.merged(editable))
    terms, warns = _valid(ctx, draft, sub.terms.items)
    changed, previous = differences(sub.terms, terms)
    if not changed:
        return [], warns
    return [Decided("SubscriptionUpdated", by.stamp({**sub.ids(), "changes": changed, "previous": previous}))], warns


def _open_orders(action: str, open_cycle_ids: list[str], choice: str | None) -> str:
    """The caller's keep or cancel stands even when no open order is known here: this service learns of an order
    from order-service's events, a moment after it is placed (longer while a consumer restarts), and a pause
    asked with open_orders=cancel right after the open must still cancel that order. order-service applies the
    choice to the orders it has; with no cycle named, to every placed order of the subscription whose cycle is
    still open. Without a choice, it is asked for only when an open order is known."""
    if choice in OPEN_ORDER_CHOICES:
        return choice
    if not open_cycle_ids:
        return "none"
    raise ChoiceNeeded(action, open_cycle_ids)


def today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def start_of(day: date, timezone: str) -> datetime:
    """The first instant of ``day`` in ``timezone`` (a midnight that does not exist moves forward: wallclock)."""
    return to_utc(datetime.combine(day, time()), ZoneInfo(timezone))


def _later_day(name: str, day: date, now: datetime, timezone: str, message: str) -> None:
    first = today(now, timezone)
    if day <= first:
        raise Invalid({name: [message]})
    if day > first + timedelta(days=MAX_AHEAD_DAYS):
        raise Invalid({name: [f"Choose a date at most {MAX_AHEAD_DAYS} days from today."]})


def pause(sub: Subscription, open_cycle_ids: list[str], choice: str | None, by: By,
          until: date | None = None, timezone: str = "UTC") -> list[Decided]:
    """``until``: a date of the shop's time zone, after today; the subscription resumes by itself at its start."""
    if until is not None:
        _later_day("until", until, by.now, timezone, "Choose a date after today.")
    current = state(sub, by.now)
    if current in ("cancelled", "paused", "ended"):
        raise Conflict(f"This subscription is {current}; it cannot be paused.")
    decided = _open_orders("pause", open_cycle_ids, choice)
    payload: dict[str, Any] = {**sub.ids(), "open_orders": decided, "open_order_cycle_ids": list(open_cycle_ids)}
    if until is not None:
        payload |= {"resumes_at": start_of(until, timezone), "resumes_on": until.isoformat()}
    return [Decided("SubscriptionPaused", by.stamp(payload))]


def resume_automatically(sub: Subscription, resumes_at: datetime, by: By) -> list[Decided]:
    """The end of a pause until a date (scheduler-service's PauseEnded): unpaused if that pause still stands (not
    unpaused, re-paused or cancelled since). Not re-validated: the date was chosen when pausing; what fails at the
    next order is told then."""
    if sub.cancelled_at is not None or sub.paused_at is None or sub.paused_until != resumes_at:
        return []
    return [Decided("SubscriptionUnpaused", by.stamp({**sub.ids(), "automatic": True}))]


def unpause(sub: Subscription, ctx: Context, by: By) -> tuple[list[Decided], list[str]]:
    """Re-validates everything (the card permission may have been revoked meanwhile: reference rule 37)."""
    if sub.cancelled_at is not None:
        raise Conflict("This subscription is cancelled; it cannot be unpaused.")
    if sub.paused_at is None:
        raise Conflict("This subscription is not paused.")
    _, warns = _valid(ctx, sub.draft(), sub.terms.items)
    return [Decided("SubscriptionUnpaused", by.stamp(sub.ids()))], warns


def cancel(sub: Subscription, open_cycle_ids: list[str], choice: str | None, by: By) -> list[Decided]:
    if sub.cancelled_at is not None:
        raise Conflict("This subscription is already cancelled (cancelling cannot be undone).")
    decided = _open_orders("cancel", open_cycle_ids, choice)
    return [Decided("SubscriptionCancelled", by.stamp({
        **sub.ids(), "open_orders": decided, "open_order_cycle_ids": list(open_cycle_ids)}))]


def skip(sub: Subscription, cycle: OrderCycle, is_occurrence: bool, by: By) -> list[Decided]:
    """Skip one occurrence, any time before its cycle closes, future ones too (reference rule 42)."""
    _changeable(sub, cycle, is_occurrence, by, "skip")
    if cycle.order_cycle_id in sub.skipped:
        return []
    return [Decided("OccurrenceSkipped", by.stamp({**sub.ids(), "order_cycle_id": cycle.order_cycle_id}))]


def holidays(sub: Subscription, cycles: list[OrderCycle], first_day: date, last_day: date, timezone: str,
             by: By) -> tuple[list[Decided], list[str]]:
    """Skip, in one step, every occurrence whose cycle closes on a day from ``first_day`` to ``last_day`` (both
    included, in the shop's time zone) and has not closed yet: one OccurrenceSkipped each, carrying the holiday.
    ``cycles``: the subscription's occurrences' cycles. Returns (events, the cycle ids in the holiday); asking
    again changes nothing (those already skipped are not skipped twice)."""
    errors: dict[str, list[str]] = {}
    first = today(by.now, timezone)
    if first_day < first:
        errors["from"] = ["Choose a day from today on."]
    if last_day < first_day:
        errors["to"] = ["Choose a day on or after the first day."]
    elif last_day > first + timedelta(days=MAX_AHEAD_DAYS):
        errors["to"] = [f"Choose a date at most {MAX_AHEAD_DAYS} days from today."]
    if errors:
        raise Invalid(errors)
    if sub.cancelled_at is not None:
        raise Conflict("Could not skip the orders: the subscription is cancelled.")
    zone = ZoneInfo(timezone)
    within = [c for c in cycles if by.now < c.closes_at
              and first_day <= c.closes_at.astimezone(zone).date() <= last_day]
    if not within:
        raise Invalid({"from": ["No delivery of this subscription falls between these dates."]})
    span = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()}
    return ([Decided("OccurrenceSkipped", by.stamp({**sub.ids(), "order_cycle_id": c.order_cycle_id,
                                                    "holiday": span}))
             for c in within if c.order_cycle_id not in sub.skipped],
            [c.order_cycle_id for c in within])


def resume(sub: Subscription, cycle: OrderCycle, is_occurrence: bool, by: By) -> list[Decided]:
    """Bring a skipped occurrence back, until its cycle closes (reference rule 43)."""
    _changeable(sub, cycle, is_occurrence, by, "resume")
    if cycle.order_cycle_id not in sub.skipped:
        return []
    return [Decided("OccurrenceResumed", by.stamp({**sub.ids(), "order_cycle_id": cycle.order_cycle_id}))]


def _changeable(sub: Subscription, cycle: OrderCycle, is_occurrence: bool, by: By, verb: str) -> None:
    if not is_occurrence:
        raise NotFound("This order cycle is not an occurrence of this subscription.")
    if sub.cancelled_at is not None:
        raise Conflict(f"Could not {verb} the order: the subscription is cancelled.")
    if by.now >= cycle.closes_at:
        raise Conflict(f"Could not {verb} the order: its order cycle has closed.")
