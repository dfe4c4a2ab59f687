"""Occurrences ("proxy orders"): one per order cycle of the subscription's schedule whose close time is within
[begins_at, ends_at] (reference 5.1), plus any cycle that already has an order for it (placed orders are never
dropped when a cycle leaves the schedule, reference rule 13). Their state follows scheduler.events (an order is
due, or was due but missed: OrderDueMissed), orders.events (placed, empty, cancelled, confirmed) and billing.events
(paid, failed, authorisation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.subscriptions import Subscription

OCCURRENCE_STATES = ("pending", "due", "paused", "skipped", "cancelled", "not_placed", "missed", "placed", "empty",
                     "confirmed", "paid", "payment_failed", "authorization_required", "refunded")
PAYMENT_STATES = {"paid": "paid", "failed": "payment_failed", "authorization_required": "authorization_required",
                  "refunded": "refunded"}


@dataclass(frozen=True)
class MissedFact:
    """What scheduler.events told us when an occurrence was due but gets no order (OrderDueMissed): the due was
    processed only after the cycle closed, and the shop places nothing late."""

    reason: str  # why no order: open_processed_after_close | change_processed_after_close
    due_reason: str  # why it was due (as OrderDue's reason)
    due_at: datetime


@dataclass(frozen=True)
class OrderFact:
    """What orders.events told us about the order of one occurrence."""

    order_id: str
    number: str | None
    status: str  # placed | empty | cancelled | confirmed
    totals: dict[str, int]
    cancel_cause: str | None = None
    update_issues: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PaymentFact:
    """What billing.events told us about the payment of that order."""

    payment_id: str
    status: str  # pending | processing | paid | failed | authorization_required | refunded
    amount: int | None = None
    message: str | None = None
    authorization_url: str | None = None
    final: bool | None = None


@dataclass(frozen=True)
class Occurrence:
    cycle: OrderCycle
    state: str
    skipped: bool
    in_range: bool
    order: OrderFact | None
    payment: PaymentFact | None
    total: int | None
    total_is_estimate: bool
    can_skip: bool
    can_resume: bool
    missed: MissedFact | None = None


def in_range(sub: Subscription, cycle: OrderCycle) -> bool:
    begins, ends = sub.terms.begins_at, sub.terms.ends_at
    return begins is not None and cycle.closes_at >= begins and (ends is None or cycle.closes_at <= ends)


def occurrence_cycles(sub: Subscription, schedule_cycles: Iterable[OrderCycle],
                      cycles_with_orders: Iterable[OrderCycle]) -> list[OrderCycle]:
    """The cycles of this subscription's occurrences, in close-time order."""
    chosen = {c.order_cycle_id: c for c in schedule_cycles if not c.deleted and in_range(sub, c)}
    for c in cycles_with_orders:
        chosen.setdefault(c.order_cycle_id, c)
    return sorted(chosen.values(), key=lambda c: (c.closes_at, c.opens_at, c.order_cycle_id))


def occurrence_state(sub: Subscription, cycle: OrderCycle, order: OrderFact | None, payment: PaymentFact | None,
                     due: bool, now: datetime, missed: MissedFact | None = None) -> str:
    """An order's state wins; then ``missed`` (the scheduler decided this occurrence would get no order because it
    was late, which ``not_placed`` would hide); then what the subscription says."""
    skipped = cycle.order_cycle_id in sub.skipped
    if order is not None:
        if skipped and order.status in ("placed", "cancelled"):
            return "skipped"
        if order.status == "cancelled":
            return "cancelled"
        if order.status == "empty":
            return "empty"
        if order.status == "confirmed":
            return PAYMENT_STATES.get(payment.status, "confirmed") if payment is not None else "confirmed"
        return "placed"
    if missed is not None:
        return "missed"
    if skipped:
        return "skipped"
    if sub.cancelled_at is not None:
        return "cancelled"
    if now >= cycle.closes_at:
        return "not_placed"
    if sub.paused_at is not None:
        return "paused"
    return "due" if due else "pending"


def build(sub: Subscription, cycles: list[OrderCycle], orders: dict[str, OrderFact],
          payments: dict[str, PaymentFact], dues: set[str], now: datetime,
          missed: dict[str, MissedFact] | None = None) -> list[Occurrence]:
    """``orders``, ``dues`` and ``missed`` are keyed by order cycle id, ``payments`` by order id."""
    out = []
    estimate = sub.terms.estimated_total()
    for c in cycles:
        order = orders.get(c.order_cycle_id)
        payment = payments.get(order.order_id) if order else None
        missed_fact = (missed or {}).get(c.order_cycle_id)
        st = occurrence_state(sub, c, order, payment, c.order_cycle_id in dues, now, missed_fact)
        skipped = c.order_cycle_id in sub.skipped
        changeable = sub.cancelled_at is None and now < c.closes_at
        out.append(Occurrence(
            cycle=c, state=st, skipped=skipped, in_range=in_range(sub, c), order=order, payment=payment,
            total=order.totals.get("total") if order else estimate, total_is_estimate=order is None,
            can_skip=changeable and not skipped and st not in ("cancelled", "empty"),
            can_resume=changeable and skipped, missed=missed_fact))
    return out


def open_order_cycle_ids(occurrences: Iterable[Occurrence], now: datetime) -> list[str]:
    """Cycles still open whose order is placed, or due and about to be placed: pause and cancel must ask about
    them (keep or cancel)."""
    return [o.cycle.order_cycle_id for o in occurrences
            if now < o.cycle.closes_at and not o.skipped and o.state in ("placed", "due")]


def unpause_notices(occurrences: Iterable[Occurrence], now: datetime) -> list[str]:
    """What a manager should know when unpausing (reference rule 36): an open cycle gets its order now; skipped or
    cancelled orders of open cycles are not resumed by themselves."""
    open_now = [o for o in occurrences if o.cycle.opens_at <= now < o.cycle.closes_at]
    notices = []
    if any(o.order is None and not o.skipped for o in open_now):
        notices.append("An order cycle of this subscription is open: an order will be placed for this customer now.")
    if any(o.skipped or (o.order is not None and o.order.status == "cancelled") for o in open_now):
        notices.append("Some orders for this subscription can be resumed right now: resume them from its "
                       "occurrences.")
    return notices
