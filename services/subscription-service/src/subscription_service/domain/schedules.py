"""Schedules: a named set of a shop's order cycles (an order cycle may be in several schedules).

Reference rules 6-8, 12-13: a name and at least one order cycle; only the shop's own cycles; a schedule that any
subscription (even a cancelled one) references cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from subscription_service.domain.common import By, Decided
from subscription_service.domain.errors import Conflict, Invalid, add_error


@dataclass(frozen=True)
class Schedule:
    schedule_id: str
    shop_id: str
    version: int
    name: str
    order_cycle_ids: tuple[str, ...]
    deleted: bool = False


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _cycle_errors(ids: list[str], known: set[str], field: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for cid in ids:
        if cid not in known:
            add_error(errors, field, f"{cid} is not an order cycle of this shop.")
    return errors


def create_schedule(schedule_id: str, shop_id: str, name: str, order_cycle_ids: list[str], known: set[str],
                    by: By) -> list[Decided]:
    ids = _unique(order_cycle_ids)
    errors = _cycle_errors(ids, known, "order_cycle_ids")
    if not name.strip():
        add_error(errors, "name", "May not be empty.")
    if not ids:
        add_error(errors, "order_cycle_ids", "Please select at least one order cycle.")
    if errors:
        raise Invalid(errors)
    return [Decided("ScheduleCreated", by.stamp({"schedule_id": schedule_id, "shop_id": shop_id,
                                                 "name": name.strip(), "order_cycle_ids": ids}))]


def rename_schedule(s: Schedule, name: str, by: By) -> list[Decided]:
    if not name.strip():
        raise Invalid({"name": ["May not be empty."]})
    if name.strip() == s.name:
        return []
    return [Decided("ScheduleRenamed", by.stamp({"schedule_id": s.schedule_id, "shop_id": s.shop_id,
                                                 "name": name.strip()}))]


def change_cycles(s: Schedule, by: By, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                  known: set[str]) -> list[Decided]:
    """Add and/or remove cycles. Removing a cycle keeps the orders already placed for it (reference rule 13)."""
    add_ids, remove_ids = _unique(add), _unique(remove)
    errors = _cycle_errors(add_ids, known, "add")
    for cid in remove_ids:
        if cid not in s.order_cycle_ids:
            add_error(errors, "remove", f"{cid} is not in this schedule.")
    if set(add_ids) & set(remove_ids):
        add_error(errors, "remove", "An order cycle cannot be both added and removed.")
    if errors:
        raise Invalid(errors)
    added = [c for c in add_ids if c not in s.order_cycle_ids]
    after = [c for c in s.order_cycle_ids if c not in remove_ids] + added
    if not after:
        raise Invalid({"remove": ["A schedule needs at least one order cycle."]})
    if not added and not remove_ids:
        return []
    return [Decided("ScheduleOrderCyclesChanged", by.stamp({
        "schedule_id": s.schedule_id, "shop_id": s.shop_id, "added": added, "removed": remove_ids,
        "order_cycle_ids": after}))]


def delete_schedule(s: Schedule, subscriptions: int, by: By) -> list[Decided]:
    if subscriptions:
        raise Conflict("This schedule cannot be deleted because it has associated subscriptions "
                       f"({subscriptions}, cancelled ones included).")
    return [Decided("ScheduleDeleted", by.stamp({"schedule_id": s.schedule_id, "shop_id": s.shop_id}))]
