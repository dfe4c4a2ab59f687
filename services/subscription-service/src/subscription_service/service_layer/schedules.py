"""Use cases on order cycles and schedules, including the weekly generator."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import schedules as views
from subscription_service.domain import cycles, generator, schedules
from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.errors import Invalid, NotFound
from subscription_service.domain.schedules import Schedule
from subscription_service.domain.standards import timezone_error
from subscription_service.domain.wallclock import TimeNotice
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import envelopes, record, record_decided
from subscription_service.service_layer.shops import load_shop


def load_cycle(conn: psycopg.Connection, shop_id: str, cycle_id: str, lock: str | None = None) -> OrderCycle:
    c = repo.order_cycle(conn, shop_id, cycle_id, lock)
    if c is None or c.deleted:
        raise NotFound("No such order cycle.")
    return c


def load_schedule(conn: psycopg.Connection, shop_id: str, schedule_id: str, lock: str | None = None) -> Schedule:
    s = repo.schedule(conn, shop_id, schedule_id, lock)
    if s is None or s.deleted:
        raise NotFound("No such schedule.")
    return s


# -- order cycles --------------------------------------------------------------------------------------------------


def create_cycle(conn: psycopg.Connection, caller: Caller, shop_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A new cycle; a time given without an offset is the shop's local time (``warnings`` say if it moved). With
    ``schedule_id`` it joins that schedule in the same transaction (If-Match: the schedule's version)."""
    shop = load_shop(conn, caller, shop_id)
    at, notices = cycles.instants(shop.timezone, opens_at=data["opens_at"], closes_at=data["closes_at"])
    schedule = _schedule_to_grow(conn, caller, shop_id, data.get("schedule_id"))
    cycle_id = str(uuid.uuid4())
    envs = envelopes(caller, cycle_id, shop_id, 0, cycles.create_cycle(
        cycle_id, shop_id, data["name"], at["opens_at"], at["closes_at"], caller.by))  # type: ignore[arg-type]
    record(conn, envs + _added_to(caller, schedule, [cycle_id]))
    return _with_warnings(views.cycle(conn, shop_id, cycle_id, caller.now), notices)  # type: ignore[arg-type]


def _schedule_to_grow(conn: psycopg.Connection, caller: Caller, shop_id: str,
                      schedule_id: str | None) -> Schedule | None:
    """The schedule new cycles join (locked; the caller's If-Match is its version), or None."""
    if schedule_id is None:
        return None
    schedule = load_schedule(conn, shop_id, schedule_id, "update")
    caller.check_version(schedule.version)
    return schedule


def _added_to(caller: Caller, schedule: Schedule | None, ids: list[str]) -> list[Any]:
    if schedule is None:
        return []
    return envelopes(caller, schedule.schedule_id, schedule.shop_id, schedule.version,
                     schedules.change_cycles(schedule, caller.by, add=ids, known=set(ids)))


def _with_warnings(view: dict[str, Any], notices: list[TimeNotice]) -> dict[str, Any]:
    return {**view, "warnings": [n.data() for n in notices]}


def get_cycle(conn: psycopg.Connection, caller: Caller, shop_id: str, cycle_id: str) -> dict[str, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    found = views.cycle(conn, shop_id, cycle_id, caller.now)
    if found is None:
        raise NotFound("No such order cycle.")
    return found


def move_cycle(conn: psycopg.Connection, caller: Caller, shop_id: str, cycle_id: str,
               data: dict[str, Any]) -> dict[str, Any]:
    shop = load_shop(conn, caller, shop_id)
    c = load_cycle(conn, shop_id, cycle_id, "update")
    caller.check_version(c.version)
    at, notices = cycles.instants(shop.timezone, opens_at=data.get("opens_at"), closes_at=data.get("closes_at"))
    decided = cycles.move_cycle(c, caller.by, name=data.get("name"), opens_at=at["opens_at"],
                                closes_at=at["closes_at"])
    record_decided(conn, caller, cycle_id, shop_id, c.version, decided)
    return _with_warnings(views.cycle(conn, shop_id, cycle_id, caller.now), notices)  # type: ignore[arg-type]


def delete_cycle(conn: psycopg.Connection, caller: Caller, shop_id: str, cycle_id: str) -> None:
    load_shop(conn, caller, shop_id)
    c = load_cycle(conn, shop_id, cycle_id, "update")
    caller.check_version(c.version)
    decided = cycles.delete_cycle(c, repo.schedule_names_with_cycle(conn, cycle_id), caller.by)
    record_decided(conn, caller, cycle_id, shop_id, c.version, decided)


def generate_cycles(conn: psycopg.Connection, caller: Caller, shop_id: str, rule: dict[str, Any]) -> dict[str, Any]:
    """Order cycles from a weekly rule in the shop's (or the rule's) time zone; optionally added to a schedule."""
    shop = load_shop(conn, caller, shop_id)
    windows = _windows(rule, shop.timezone)
    schedule = _schedule_to_grow(conn, caller, shop_id, rule.get("schedule_id"))
    envs, ids, warnings = _season(caller, shop_id, windows)
    record(conn, envs + _added_to(caller, schedule, ids))
    return {"order_cycles": views.cycles_in_order(conn, shop_id, ids, caller.now),
            "schedule_id": schedule.schedule_id if schedule else None, "warnings": warnings}


def _windows(rule: dict[str, Any], shop_timezone: str) -> list[generator.Window]:
    tz = rule.get("timezone") or shop_timezone
    if why := timezone_error(tz):
        raise Invalid({"timezone": [why if rule.get("timezone") else f"The shop's time zone: {why} Give one here."]})
    return generator.generate(generator.WeeklyRule(
        opens_weekday=generator.WEEKDAYS.index(rule["opens_weekday"]), opens_time=rule["opens_time"],
        closes_weekday=generator.WEEKDAYS.index(rule["closes_weekday"]), closes_time=rule["closes_time"],
        timezone=tz, start_date=rule["start_date"], count=rule["count"], interval_weeks=rule.get("interval_weeks", 1),
        name_prefix=rule.get("name_prefix") or "Order cycle"))


def _season(caller: Caller, shop_id: str,
            windows: list[generator.Window]) -> tuple[list[Any], list[str], list[dict[str, Any]]]:
    """The generated cycles' events (not yet recorded), their ids, and the warnings of the local times moved."""
    envs, ids, warnings = [], [], []
    for n, w in enumerate(windows):
        cycle_id = str(uuid.uuid4())
        try:
            decided = cycles.create_cycle(cycle_id, shop_id, w.name, w.opens_at, w.closes_at, caller.by)
        except Invalid as exc:
            raise Invalid({f"cycles.{n}.{k}": v for k, v in exc.errors.items()}) from exc
        envs += envelopes(caller, cycle_id, shop_id, 0, decided)
        ids.append(cycle_id)
        warnings += [notice.data(index=n, order_cycle_id=cycle_id, order_cycle_name=w.name) for notice in w.notices]
    return envs, ids, warnings


def list_cycles(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any, **filters: Any) -> tuple[list, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    return views.list_cycles(conn, shop_id, page, caller.now, **filters)


# -- schedules -----------------------------------------------------------------------------------------------------


def _shop_cycles(conn: psycopg.Connection, shop_id: str, ids: list[str]) -> set[str]:
    # FOR SHARE: a cycle being added cannot be deleted by a concurrent request
    return set(repo.order_cycles(conn, shop_id, ids, lock="share"))


def create_schedule(conn: psycopg.Connection, caller: Caller, shop_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A schedule of existing cycles and/or a weekly season generated with it, all in one transaction: a refused
    rule or name leaves no cycle behind."""
    shop = load_shop(conn, caller, shop_id)
    schedule_id = str(uuid.uuid4())
    ids = list(data.get("order_cycle_ids") or [])
    envs: list[Any] = []
    warnings: list[dict[str, Any]] = []
    known = _shop_cycles(conn, shop_id, ids)
    if data.get("generate") is not None:
        try:
            envs, generated, warnings = _season(caller, shop_id, _windows(data["generate"], shop.timezone))
        except Invalid as exc:
            raise Invalid({f"generate.{k}": v for k, v in exc.errors.items()}) from exc
        ids, known = ids + generated, known | set(generated)
    decided = schedules.create_schedule(schedule_id, shop_id, data["name"], ids, known, caller.by)
    record(conn, envs + envelopes(caller, schedule_id, shop_id, 0, decided))
    return {**views.schedule(conn, shop_id, schedule_id, caller.now), "warnings": warnings}  # type: ignore[dict-item]


def get_schedule(conn: psycopg.Connection, caller: Caller, shop_id: str, schedule_id: str) -> dict[str, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    found = views.schedule(conn, shop_id, schedule_id, caller.now)
    if found is None:
        raise NotFound("No such schedule.")
    return found


def update_schedule(conn: psycopg.Connection, caller: Caller, shop_id: str, schedule_id: str,
                    data: dict[str, Any]) -> dict[str, Any]:
    """Rename, and/or add and remove order cycles (``add``/``remove`` or the full ``order_cycle_ids``)."""
    load_shop(conn, caller, shop_id)
    s = load_schedule(conn, shop_id, schedule_id, "update")
    caller.check_version(s.version)
    add, remove = list(data.get("add") or []), list(data.get("remove") or [])
    if data.get("order_cycle_ids") is not None:
        if add or remove:
            raise Invalid({"order_cycle_ids": ["Send either order_cycle_ids or add/remove, not both."]})
        wanted = list(dict.fromkeys(data["order_cycle_ids"]))
        add = [c for c in wanted if c not in s.order_cycle_ids]
        remove = [c for c in s.order_cycle_ids if c not in wanted]
    decided = schedules.rename_schedule(s, data["name"], caller.by) if data.get("name") is not None else []
    decided += schedules.change_cycles(s, caller.by, add=add, remove=remove, known=_shop_cycles(conn, shop_id, add))
    record_decided(conn, caller, schedule_id, shop_id, s.version, decided)
    return views.schedule(conn, shop_id, schedule_id, caller.now)  # type: ignore[return-value]


def delete_schedule(conn: psycopg.Connection, caller: Caller, shop_id: str, schedule_id: str) -> None:
    load_shop(conn, caller, shop_id)
    s = load_schedule(conn, shop_id, schedule_id, "update")
    caller.check_version(s.version)
    decided = schedules.delete_schedule(s, repo.subscriptions_of_schedule(conn, schedule_id), caller.by)
    record_decided(conn, caller, schedule_id, shop_id, s.version, decided)


def list_schedules(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any, q: str | None) -> tuple:
    load_shop(conn, caller, shop_id, manage=False)
    return views.list_schedules(conn, shop_id, page, caller.now, q)

