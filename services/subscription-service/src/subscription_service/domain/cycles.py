"""Order cycles: windows [opens_at, closes_at) of a shop, stored in UTC, shown in the shop's time zone.

A cycle that has closed is history and cannot be moved; an open cycle keeps its opening (its orders are placed)
but its close may move; a cycle that belongs to a schedule cannot be deleted (reference rule 9). Every cycle,
made one by one or by the generator, lies between the years 2000 and 2200 (``window_errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from subscription_service.domain.common import By, Decided
from subscription_service.domain.errors import Conflict, Invalid, add_error
from subscription_service.domain.wallclock import TimeNotice, resolve

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
YEARS = "Must be between the years 2000 and 2200."


def within_years(at: datetime) -> bool:
    """Whether an instant is one a cycle may start or end at (the API's time fields check the same)."""
    return EARLIEST <= at <= LATEST


@dataclass(frozen=True)
class OrderCycle:
    order_cycle_id: str
    shop_id: str
    version: int
    name: str
    opens_at: datetime
    closes_at: datetime
    deleted: bool = False

    def status(self, now: datetime) -> str:
        if now >= self.closes_at:
            return "closed"
        return "open" if now >= self.opens_at else "upcoming"


def instants(timezone: str, **times: datetime | None) -> tuple[dict[str, datetime | None], list[TimeNotice]]:
    """Times as instants: an aware one as it is (in UTC), a naive one as a wall-clock time of ``timezone`` (the
    shop's) by domain.wallclock's rule, with a notice when it was moved or ambiguous."""
    out: dict[str, datetime | None] = {}
    notices = []
    for name, at in times.items():
        if at is None or at.tzinfo is not None:
            out[name] = at.astimezone(UTC) if at is not None else None
            continue
        out[name], notice = resolve(at, timezone, name)
        if notice is not None:
            notices.append(notice)
    return out, notices


def window_errors(opens_at: datetime, closes_at: datetime, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, at in (("opens_at", opens_at), ("closes_at", closes_at)):
        if not within_years(at):
            add_error(errors, name, YEARS)
    if errors:
        return errors
    if closes_at <= opens_at:
        add_error(errors, "closes_at", "Must be after opens_at.")
    elif closes_at <= now:
        add_error(errors, "closes_at", "Must be in the future: a closed order cycle would never get orders.")
    return errors


def create_cycle(order_cycle_id: str, shop_id: str, name: str, opens_at: datetime, closes_at: datetime,
                 by: By) -> list[Decided]:
    errors = window_errors(opens_at, closes_at, by.now)
    if not name.strip():
        add_error(errors, "name", "May not be empty.")
    if errors:
        raise Invalid(errors)
    return [Decided("OrderCycleCreated", by.stamp({"order_cycle_id": order_cycle_id, "shop_id": shop_id,
                                                   "name": name.strip(), "opens_at": opens_at,
                                                   "closes_at": closes_at}))]


def move_cycle(c: OrderCycle, by: By, *, name: str | None = None, opens_at: datetime | None = None,
               closes_at: datetime | None = None) -> list[Decided]:
    new_name = c.name if name is None else name.strip()
    new_open = c.opens_at if opens_at is None else opens_at
    new_close = c.closes_at if closes_at is None else closes_at
    if (new_name, new_open, new_close) == (c.name, c.opens_at, c.closes_at):
        return []
    status = c.status(by.now)
    if status == "closed":
        raise Conflict("This order cycle has closed; it can no longer be changed.")
    if status == "open" and new_open != c.opens_at:
        raise Conflict("This order cycle is open: its opening time can no longer change (its close time can).",
                       {"opens_at": ["The cycle is already open."]})
    errors = window_errors(new_open, new_close, by.now) if (new_open, new_close) != (c.opens_at, c.closes_at) else {}
    if not new_name:
        add_error(errors, "name", "May not be empty.")
    if errors:
        raise Invalid(errors)
    return [Decided("OrderCycleMoved", by.stamp({
        "order_cycle_id": c.order_cycle_id, "shop_id": c.shop_id, "name": new_name, "opens_at": new_open,
        "closes_at": new_close, "previous_opens_at": c.opens_at, "previous_closes_at": c.closes_at}))]


def delete_cycle(c: OrderCycle, schedule_names: list[str], by: By) -> list[Decided]:
    if schedule_names:
        raise Conflict("This order cycle is linked to a schedule and cannot be deleted; remove it from "
                       f"{', '.join(sorted(schedule_names))} first.",
                       {"schedules": sorted(schedule_names)})
    return [Decided("OrderCycleDeleted", by.stamp({"order_cycle_id": c.order_cycle_id, "shop_id": c.shop_id}))]
