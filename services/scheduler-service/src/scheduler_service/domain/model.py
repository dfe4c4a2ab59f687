"""What the scheduler knows: the facts it projects from shops, schedules and subscriptions events.

All instants are UTC-aware datetimes. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OPEN = "open"
CLOSE = "close"
REMINDER = "reminder"  # the shop's cut-off reminder, some hours before the close (OrderCycleClosingSoon)
KINDS = (OPEN, CLOSE, REMINDER)

WHILE_OPEN = "while_open"  # a missed open yields orders only while the cycle is still open
ALWAYS = "always"  # a missed open yields late orders even after the cycle closed


@dataclass(frozen=True)
class ShopPolicy:
    """The shop settings the scheduler obeys (defaults apply while the shop is not known yet)."""

    shop_id: str
    timezone: str = "UTC"
    subscriptions_enabled: bool = True  # the kill switch
    late_placement: str = WHILE_OPEN


@dataclass(frozen=True)
class OrderCycle:
    """A window [opens_at, closes_at) of a shop, in UTC."""

    order_cycle_id: str
    shop_id: str
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class Subscription:
    """The parts of a subscription that decide whether it is due for a cycle."""

    subscription_id: str
    shop_id: str
    customer_id: str
    schedule_id: str
    begins_at: datetime | None
    ends_at: datetime | None
    paused: bool
    cancelled: bool


@dataclass(frozen=True)
class Candidate:
    """A subscription of one of the cycle's schedules, and whether it skipped this occurrence."""

    subscription: Subscription
    skipped: bool


@dataclass(frozen=True)
class OpenCycleCandidate:
    """A subscription considered mid-cycle: the cycle was opened by the scheduler at ``opened_at``;
    ``closed_at`` is when the scheduler closed it (None while it has not)."""

    subscription: Subscription
    skipped: bool
    cycle: OrderCycle
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class PauseEnd:
    """The end of a pause until a date (``resumes_at``), due once per pause (``paused_version``)."""

    subscription_id: str
    shop_id: str
    paused_version: int
    resumes_at: datetime


@dataclass(frozen=True)
class Boundary:
    """One instant at which the scheduler must emit: a cycle's open or close, due at ``fire_at``."""

    order_cycle_id: str
    shop_id: str
    kind: str
    fire_at: datetime

    def sort_key(self) -> tuple[datetime, int, str]:
        # at the same instant a close goes before an open (last week's cycle ends, this week's begins)
        return (self.fire_at, 1 if self.kind == OPEN else 0, self.order_cycle_id)


@dataclass(frozen=True)
class Due:
    """The decision to emit one OrderDue."""

    subscription: Subscription
    cycle: OrderCycle
    due_at: datetime
    reason: str
    late: bool


OPEN_PROCESSED_AFTER_CLOSE = "open_processed_after_close"
CHANGE_PROCESSED_AFTER_CLOSE = "change_processed_after_close"


@dataclass(frozen=True)
class Missed:
    """The decision to place no order for a due because it was processed after its cycle closed and the shop
    places nothing late (an OrderDueMissed: the other outcome of the decision an OrderDue records)."""

    subscription: Subscription
    cycle: OrderCycle
    due_at: datetime
    due_reason: str
    reason: str  # OPEN_PROCESSED_AFTER_CLOSE or CHANGE_PROCESSED_AFTER_CLOSE
