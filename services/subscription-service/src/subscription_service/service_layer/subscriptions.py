"""Use cases on subscriptions and their occurrences."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import subscriptions as views
from subscription_service.domain import access, occurrences
from subscription_service.domain import subscriptions as subs
from subscription_service.domain.errors import Forbidden, NotFound
from subscription_service.domain.shops import Shop
from subscription_service.domain.subscriptions import Subscription
from subscription_service.domain.terms import Item, Terms, only_substitutes_differ
from subscription_service.domain.validation import Context, Draft
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import record_decided
from subscription_service.service_layer.shops import load_shop


def context(conn: psycopg.Connection, shop: Shop, customer_id: str | None, schedule_id: str | None,
            variant_ids: list[str], now: datetime) -> Context:
    """What the validation rules look at, in two round trips. The customer and schedule rows are share-locked: a
    concurrent delete of either waits for this transaction, then sees the subscription and refuses."""
    refs = repo.references(conn, shop.shop_id, customer_id, schedule_id, variant_ids)
    if refs is None:
        raise NotFound("No such shop.")
    return _context(conn, refs._replace(shop=shop), now)


def _context(conn: psycopg.Connection, refs: repo.References, now: datetime) -> Context:
    schedule = refs.schedule  # its cycles are read after the lock, by a statement of their own
    cycles = tuple(repo.order_cycles(conn, refs.shop.shop_id, schedule.order_cycle_ids).values()) if schedule else ()
    return Context(refs.shop, refs.customer, schedule, cycles, refs.variants, now)


def _items(raw: list[dict[str, Any]] | None) -> tuple[Item, ...]:
    return tuple(Item(i["variant_id"], i["quantity"], None, tuple(i.get("substitutes") or ())) for i in raw or [])


def _wanted(items: tuple[Item, ...]) -> list[str]:
    """The variants the rules look at: the items' and their substitutes'."""
    return list(dict.fromkeys(v for i in items for v in (i.variant_id, *i.substitutes)))


def load_subscription(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
                      lock: str | None = None) -> Subscription:
    access.see_shop(caller.principal, shop_id)
    sub = repo.subscription(conn, shop_id, subscription_id, lock)
    if sub is None:
        raise NotFound("No such subscription.")
    access.see_subscription(caller.principal, shop_id, sub.customer_id)
    return sub


def _view(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
          warnings: list[str] | None = None, ctx: Context | None = None) -> dict[str, Any]:
    """The view after a change: ``ctx``, the rules' context of that change, already holds the shop and the
    variants of the subscription's items (neither is changed by it)."""
    out = views.subscription(conn, shop_id, subscription_id, caller.now, with_warnings=warnings is None,
                             shop=ctx.shop if ctx else None, variants=ctx.variants if ctx else None)
    if out is None:
        raise NotFound("No such subscription.")
    if warnings is not None:
        out["warnings"] = warnings
    return out


def create_subscription(conn: psycopg.Connection, caller: Caller, shop_id: str, data: dict[str, Any]) -> dict:
    """The rules read the shop, customer, schedule and variants, and take the subscription's creation rank, in one
    statement. The rank (first come, first served) comes from one sequence for every shop, in the order creates
    ask for it, with gaps; it takes no lock, so creates in one shop do not wait for each other (the per-shop count
    under a lock it replaced capped a shop's create rate: bench/README.md, "Measured design choices")."""
    access.manage_shop(caller.principal, shop_id)
    terms = Terms(items=_items(data.get("items")), shipping_method_id=data.get("shipping_method_id"),
                  payment_method_id=data.get("payment_method_id"), payment_kind=None,
                  bill_address=data.get("bill_address"), ship_address=data.get("ship_address"),
                  begins_at=data.get("begins_at"), ends_at=data.get("ends_at"))
    draft = Draft(data.get("customer_id"), data.get("schedule_id"), terms)
    refs = repo.references(conn, shop_id, draft.customer_id, draft.schedule_id, _wanted(terms.items), rank=True)
    if refs is None or refs.rank is None:
        raise NotFound("No such shop.")
    ctx = _context(conn, refs, caller.now)
    subscription_id = str(uuid.uuid4())
    decided, warnings = subs.create_subscription(subscription_id, ctx, draft, caller.by, refs.rank)
    record_decided(conn, caller, subscription_id, shop_id, 0, decided)
    return _view(conn, caller, shop_id, subscription_id, warnings, ctx)


def get_subscription(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str) -> dict:
    """The view, read once: who may see it is decided from the view's own customer (load_subscription's checks,
    in the same order, without reading the subscription a second time)."""
    access.see_shop(caller.principal, shop_id)
    out = _view(conn, caller, shop_id, subscription_id)
    access.see_subscription(caller.principal, shop_id, out["customer_id"])
    return out


def list_subscriptions(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any, **filters: Any) -> tuple:
    load_shop(conn, caller, shop_id, manage=False)
    p = caller.principal
    if p.is_customer:  # a customer lists only their own subscriptions
        if filters.get("customer_id") not in (None, p.customer_id):
            return [], None
        filters["customer_id"] = p.customer_id
    return views.list_subscriptions(conn, shop_id, page, caller.now, **filters)


def _for_change(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str) -> tuple[
        Shop, Subscription]:
    shop = load_shop(conn, caller, shop_id)
    sub = load_subscription(conn, caller, shop_id, subscription_id, "update")
    caller.check_version(sub.version)
    return shop, sub


def update_subscription(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
                        changes: dict[str, Any]) -> dict:
    """A manager changes any term; a customer only the substitutes of their own subscription's products (the
    same products and quantities sent back with other substitutes, a line's old quantity of 0 too), which is theirs
    to prefer."""
    items = _items(changes["items"]) if changes.get("items") is not None else None
    if caller.principal.is_customer and set(changes) == {"items"}:
        shop = load_shop(conn, caller, shop_id, manage=False)
        sub = load_subscription(conn, caller, shop_id, subscription_id, "update")
        caller.check_version(sub.version)
        if items is None or not only_substitutes_differ(sub.terms.items, items):
            raise Forbidden("Customers may change only the substitutes of their subscription's products.")
    else:
        shop, sub = _for_change(conn, caller, shop_id, subscription_id)
    if items is not None:
        changes = {**changes, "items": [i.data() for i in items]}
    wanted = _wanted(items if items is not None else sub.terms.items)
    ctx = context(conn, shop, sub.customer_id, sub.schedule_id, wanted, caller.now)
    decided, warnings = subs.update_subscription(sub, ctx, changes, caller.by)
    record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    return _view(conn, caller, shop_id, subscription_id, warnings, ctx)


def _open_cycles(conn: psycopg.Connection, sub: Subscription, now: datetime) -> list[str]:
    return occurrences.open_order_cycle_ids(views.occurrences_of(conn, sub, now), now)


def _for_time_off(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str) -> tuple[
        Shop, Subscription]:
    """Managers, or the customer themself when the shop allows it (access.take_time_off)."""
    shop = load_shop(conn, caller, shop_id, manage=False)
    sub = load_subscription(conn, caller, shop_id, subscription_id, "update")
    access.take_time_off(caller.principal, shop_id, sub.customer_id, bool(shop.settings.get("allow_customer_skip")))
    caller.check_version(sub.version)
    return shop, sub


def pause(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
          open_orders: str | None, until: date | None = None) -> dict:
    """``until``: resumes by itself at the start of that day (shop's time zone): scheduler-service's PauseEnded,
    then ``resume_automatically``."""
    shop, sub = _for_time_off(conn, caller, shop_id, subscription_id)
    decided = subs.pause(sub, _open_cycles(conn, sub, caller.now), open_orders, caller.by, until, shop.timezone)
    record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    return _view(conn, caller, shop_id, subscription_id)


def resume_automatically(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
                         resumes_at: datetime) -> None:
    """The consumer's reaction to PauseEnded (``caller``: the system, at the event's time)."""
    sub = repo.subscription(conn, shop_id, subscription_id, "update")
    if sub is None:
        return
    record_decided(conn, caller, subscription_id, shop_id, sub.version,
                   subs.resume_automatically(sub, resumes_at, caller.by))


def take_holidays(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str, first_day: date,
                  last_day: date) -> tuple[dict[str, Any], int]:
    """Skip every occurrence closing from ``first_day`` to ``last_day`` (shop's time zone) in one step."""
    shop, sub = _for_time_off(conn, caller, shop_id, subscription_id)
    found = views.occurrences_of(conn, sub, caller.now, shop)
    decided, cycle_ids = subs.holidays(sub, [o.cycle for o in found], first_day, last_day, shop.timezone,
                                       caller.by)
    version = record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    fresh = load_subscription(conn, caller, shop_id, subscription_id)
    wanted = set(cycle_ids)
    items = [views.occurrence_view(o, shop.timezone, caller.now) for o in views.occurrences_of(conn, fresh,
                                                                                                caller.now, shop)
             if o.cycle.order_cycle_id in wanted]
    return {"first_day": first_day, "last_day": last_day, "skipped_now": len(decided), "occurrences": items}, version


def unpause(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str) -> dict:
    shop, sub = _for_time_off(conn, caller, shop_id, subscription_id)
    ctx = context(conn, shop, sub.customer_id, sub.schedule_id, _wanted(sub.terms.items), caller.now)
    decided, warnings = subs.unpause(sub, ctx, caller.by)
    notices = occurrences.unpause_notices(views.occurrences_of(conn, sub, caller.now), caller.now)
    record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    return _view(conn, caller, shop_id, subscription_id, warnings + notices)


def cancel(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
           open_orders: str | None) -> dict:
    _, sub = _for_change(conn, caller, shop_id, subscription_id)
    decided = subs.cancel(sub, _open_cycles(conn, sub, caller.now), open_orders, caller.by)
    record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    return _view(conn, caller, shop_id, subscription_id)


# -- occurrences ---------------------------------------------------------------------------------------------------


def list_occurrences(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str, *,
                     limit: int, cursor: list[Any] | None, states: list[str] | None,
                     closes_after: datetime | None) -> tuple[list, Any, int]:
    sub = load_subscription(conn, caller, shop_id, subscription_id)
    items, nxt = views.list_occurrences(conn, sub, caller.now, states=states, closes_after=closes_after, limit=limit,
                                        cursor=cursor)
    return items, nxt, sub.version


def _occurrence(conn: psycopg.Connection, caller: Caller, sub: Subscription, cycle_id: str) -> dict[str, Any]:
    shop = repo.shop(conn, sub.shop_id)
    for o in views.occurrences_of(conn, sub, caller.now, shop):
        if o.cycle.order_cycle_id == cycle_id:
            return views.occurrence_view(o, shop.timezone if shop is not None else "UTC", caller.now)
    raise NotFound("This order cycle is not an occurrence of this subscription.")


def get_occurrence(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str,
                   cycle_id: str) -> tuple[dict[str, Any], int]:
    sub = load_subscription(conn, caller, shop_id, subscription_id)
    return _occurrence(conn, caller, sub, cycle_id), sub.version


def change_occurrence(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str, cycle_id: str,
                      skip: bool) -> tuple[dict[str, Any], int]:
    """Skip or resume one occurrence (managers; the customer too when the shop allows it)."""
    access.see_shop(caller.principal, shop_id)
    shop = repo.shop(conn, shop_id)
    if shop is None:
        raise NotFound("No such shop.")
    sub = load_subscription(conn, caller, shop_id, subscription_id, "update")
    access.change_occurrence(caller.principal, shop_id, sub.customer_id,
                             bool(shop.settings.get("allow_customer_skip")))
    caller.check_version(sub.version)
    found = [o for o in views.occurrences_of(conn, sub, caller.now) if o.cycle.order_cycle_id == cycle_id]
    cycle = found[0].cycle if found else repo.order_cycle(conn, shop_id, cycle_id)
    if cycle is None:
        raise NotFound("No such order cycle.")
    decided = (subs.skip if skip else subs.resume)(sub, cycle, bool(found), caller.by)
    version = record_decided(conn, caller, subscription_id, shop_id, sub.version, decided)
    fresh = load_subscription(conn, caller, shop_id, subscription_id)
    return _occurrence(conn, caller, fresh, cycle_id), version


def history(conn: psycopg.Connection, caller: Caller, shop_id: str, subscription_id: str, *, limit: int,
            cursor: list[Any] | None) -> tuple[list, Any]:
    load_subscription(conn, caller, shop_id, subscription_id)
    return views.history(conn, subscription_id, limit, cursor[0] if cursor else 0,
                         names=caller.principal.manages(shop_id))


def estimate(conn: psycopg.Connection, caller: Caller, shop_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A draft's live estimate (managers, while filling in a subscription's form): what an order with these items
    and methods would cost if placed now, by the rule a saved subscription's estimate follows. Nothing is
    checked but the shop: an unknown product has no price (and no total), a method not of the shop no fee."""
    shop = load_shop(conn, caller, shop_id)
    items = _items(data["items"])
    terms = Terms(items=items, shipping_method_id=data.get("shipping_method_id"),
                  payment_method_id=data.get("payment_method_id"), payment_kind=None, bill_address=None,
                  ship_address=None, begins_at=None)
    return views.draft_estimate(shop, repo.variants(conn, shop_id, [i.variant_id for i in items]), terms)
