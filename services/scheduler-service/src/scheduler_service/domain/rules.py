"""The scheduler's rules, as pure functions (reference: ofn-subscriptions.md sections 5, 6 and 10).

- In range: a cycle is in a subscription's range when its close time is within [begins_at, ends_at],
  both inclusive; no ends_at = open-ended. begins_at may be after the cycle opens: only the close counts.
- Due: in range, not paused, not cancelled, this occurrence not skipped, the shop's kill switch on.
- Fire times: a cycle opens at ``opens_at`` and closes at ``closes_at``, but never before the platform knew
  those times (``defined_at``, when they were set): a cycle created or moved so that it is already open
  opens at that moment, and one whose whole window was already over when it was defined never opens.
- Placement: at its open a cycle's subscriptions get their orders while it is still open; when the open
  was missed (downtime) and the cycle has closed since, only a shop whose policy is "always" still gets
  them, marked late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler_service.domain.model import ALWAYS, OrderCycle, ShopPolicy, Subscription


def in_range(closes_at: datetime, begins_at: datetime | None, ends_at: datetime | None) -> bool:
    """The cycle's close time within [begins_at, ends_at], inclusive; a subscription without begins_at has none."""
    if begins_at is None:
        return False
    return begins_at <= closes_at and (ends_at is None or closes_at <= ends_at)


def is_due(sub: Subscription, cycle: OrderCycle, shop: ShopPolicy, skipped: bool) -> bool:
    """Whether ``sub`` should get an order for ``cycle`` (ignoring time: see ``placement``)."""
    return (
        shop.subscriptions_enabled
        and not sub.cancelled
        and not sub.paused
        and not skipped
        and in_range(cycle.closes_at, sub.begins_at, sub.ends_at)
    )


def fire_times(opens_at: datetime, closes_at: datetime, defined_at: datetime) -> tuple[datetime | None, datetime]:
    """(when the open fires or None if the cycle never opens, when the close fires once it has opened)."""
    close_fires_at = max(closes_at, defined_at)
    if closes_at <= opens_at or closes_at <= defined_at:
        return None, close_fires_at
    return max(opens_at, defined_at), close_fires_at


def reminder_fires_at(opened_at: datetime, closes_at: datetime, hours_before_close: int | None) -> datetime | None:
    """When a cycle's cut-off reminder fires: ``hours_before_close`` hours before its close. None when the shop
    asks for none, or when that instant is not after the cycle's open (its orders were just placed: the placement
    email already says until when they can be changed). The SQL of ``repository.pending_boundaries`` is this rule."""
    if hours_before_close is None:
        return None
    fires_at = closes_at - timedelta(hours=hours_before_close)
    return fires_at if fires_at > opened_at else None


def is_still_open(now: datetime, cycle: OrderCycle, closed_at: datetime | None) -> bool:
    """Open now: the scheduler has not closed it and its close time is not reached."""
    return closed_at is None and now < cycle.closes_at


def placement(now: datetime, cycle: OrderCycle, shop: ShopPolicy, closed_at: datetime | None = None) -> bool | None:
    """None = no order (the cycle is over and the shop does not place late); else the OrderDue's ``late`` flag."""
    if is_still_open(now, cycle, closed_at):
        return False
    return True if shop.late_placement == ALWAYS else None


def lateness_seconds(now: datetime, at: datetime) -> float:
    """How long after ``at`` something happens at ``now`` (never negative), in real elapsed seconds."""
    return max(0.0, (now - at).total_seconds())


def changed_while_open(changed_at: datetime, cycle: OrderCycle, closed_at: datetime | None) -> bool:
    """A change at ``changed_at`` can make a cycle due only if it happened before the cycle closed."""
    return changed_at < cycle.closes_at and (closed_at is None or changed_at < closed_at)
