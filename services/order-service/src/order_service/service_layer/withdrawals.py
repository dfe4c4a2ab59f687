"""Reactions to catalog.events on the orders already placed (OFN #6363): a variant deleted or made unavailable
leaves every open order that holds it (the rule: ``domain.withdrawal``), the customer is emailed (``line_withdrawn``),
the order gets an update issue the managers read (projected from the event) and the shop one email per catalog event
(``lines_withdrawn_shop``: the product, how many open orders lost it, which).

Set-based: one catalog event may touch thousands of open orders. The consumer hands each run of consecutive
VariantUpdated and VariantDeleted to ``on_catalog_events`` (its ``bulk``); a single event (a run that failed and is
applied one by one) goes through ``on_catalog_event``, the run of one. Either way the orders are read, locked and
written with a few statements per shop, whatever their number.

What counts is the variant's state once the events at hand are projected: a variant made unavailable and available
again within one run is still sold, and a stale event (an older version, not projected) withdraws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

from order_service.adapters import event_store, notifications, order_projection, repository
from order_service.adapters.projections import project
from order_service.config import ReactionSettings
from order_service.domain.model import SYSTEM_ACTOR, Line, Order
from order_service.domain.withdrawal import Gone, cause_of, substitutes_for, withdraw
from order_service.events import order_envelope
from shared_events import Envelope

CATALOG_TYPES = ("VariantUpdated", "VariantDeleted")


def on_catalog_events(conn: psycopg.Connection, envs: Sequence[Envelope], cfg: ReactionSettings) -> None:
    """A run of VariantUpdated/VariantDeleted: each projected, then the open orders lose the variants gone.

    The open orders that may lose a line are locked first: projecting writes (locks) the variants' rows, and every
    edit of an order locks the order, then its variants; taking them the other way round could deadlock with an
    edit made meanwhile."""
    for shop_id, by_variant in _candidates(envs).items():
        repository.lock_open_orders_holding(conn, shop_id, sorted(by_variant),
                                            max(env.occurred_at for env in by_variant.values()))
    for env in envs:
        project(conn, env)
    withdraw_gone(conn, envs)


def on_catalog_event(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """One catalog event (already projected by the consumer's handler): the run of one. Only a run that failed
    comes this way, one event at a time; its variant's row is locked before the orders then (a deadlock with an
    edit is possible there, and the consumer redelivers the event after it)."""
    withdraw_gone(conn, [env])


def _candidates(envs: Sequence[Envelope]) -> dict[str, dict[str, Envelope]]:
    """By shop, the variants these events may have taken out of the catalog, each with the last such event."""
    found: dict[str, dict[str, Envelope]] = {}
    for env in envs:
        if env.event_type == "VariantDeleted" or (env.event_type == "VariantUpdated" and not env.payload["available"]):
            found.setdefault(env.payload["shop_id"], {})[env.payload["variant_id"]] = env
    return found


def withdraw_gone(conn: psycopg.Connection, envs: Sequence[Envelope]) -> list[Envelope]:
    """Withdraw from the open orders the lines of every variant these (projected) events left unsellable; returns
    the OrderLineWithdrawn events recorded."""
    recorded: list[Envelope] = []
    for shop_id, by_variant in _candidates(envs).items():
        states = repository.catalog_states(conn, shop_id, by_variant)
        gone = {}
        for variant_id, env in by_variant.items():
            state = states.get(variant_id)
            cause = cause_of(available=state["available"], deleted=state["deleted"]) if state else None
            if cause is not None:
                gone[variant_id] = Gone(variant_id, cause, env.event_id)
        if gone:
            recorded += _withdraw_in_shop(conn, shop_id, gone, by_variant)
    return recorded


def _withdraw_in_shop(conn: psycopg.Connection, shop_id: str, gone: dict[str, Gone],
                      causes: dict[str, Envelope]) -> list[Envelope]:
    now = max(env.occurred_at for env in causes.values())
    orders = repository.open_orders_holding_for_update(conn, shop_id, sorted(gone), now)
    if not orders:
        return []
    fees, _ = repository.fees_and_methods(conn, shop_id)
    instead = _substitutes(conn, shop_id, orders, gone, now)
    groups = []
    for order in orders:
        decided = withdraw(order, gone, fees, now, instead)
        if not decided:
            continue
        cause = causes[decided[0].payload["variant_id"]]
        groups.append([order_envelope(event_type, {**order.ids(), **body, "actor": SYSTEM_ACTOR, "reason": None},
                                      order.version + n, occurred_at=cause.occurred_at, cause=cause)
                       for n, (event_type, body) in enumerate(decided, start=1)])
    stored = event_store.store_new(conn, groups).of_type("OrderLineWithdrawn")
    order_projection.apply_withdrawn(conn, stored)
    notifications.queue(conn, [
        notifications.Notice("line_withdrawn", f"{e.aggregate_id}:{e.aggregate_version}", shop_id,
                             e.payload["customer_id"], e.payload["order_id"], e.event_id,
                             payload={k: e.payload.get(k) for k in ("name", "quantity", "unit_price", "cause", "status",
                                                                    "totals", "substitute")})
        for e in stored] + _shop_notices(shop_id, stored, {order.order_id: order.number for order in orders}))
    return stored


def _substitutes(conn: psycopg.Connection, shop_id: str, orders: Sequence[Order], gone: dict[str, Gone],
                 now: datetime) -> dict[tuple[str, str], Line]:
    """The lines placed instead of the withdrawn ones (``domain.withdrawal.substitutes_for``): the subscriptions'
    items, and their substitutes' catalog rows locked after the orders (the order edits take them in)."""
    subs = repository.subscriptions(conn, {order.subscription_id for order in orders})
    items = {sub_id: sub["items"] or [] for sub_id, sub in subs.items()}
    wanted = {v for its in items.values() for item in its for v in item.get("substitutes") or ()}
    if not wanted:
        return {}
    shop = repository.shop(conn, shop_id)
    catalog, stock = repository.catalog_for_update(conn, shop_id, wanted | set(gone))
    return substitutes_for(orders, gone, items, catalog, stock, shop["allocation_policy"] if shop else "first_come",
                           now)


SHOP_LIST_MAX = 50  # order numbers an email to the shop lists; the others are counted


def _shop_notices(shop_id: str, stored: Sequence[Envelope], numbers: dict[str, str]) -> list[notifications.Notice]:
    """One email to the shop per catalog event that withdrew something: the product, why, how many open orders
    lost it and which (once per catalog event: its id is the notification's key)."""
    by_cause: dict[str, list[Envelope]] = {}
    for e in stored:
        by_cause.setdefault(e.payload["catalog_event_id"], []).append(e)
    return [notifications.Notice("lines_withdrawn_shop", catalog_event_id, shop_id, payload={
        "name": events[0].payload["name"], "cause": events[0].payload["cause"], "count": len(events),
        "units": sum(e.payload["quantity"] for e in events), "order_cycle_id": events[0].payload["order_cycle_id"],
        "numbers": sorted(numbers[e.payload["order_id"]] for e in events)[:SHOP_LIST_MAX],
        "emptied": sum(e.payload["status"] == "empty" for e in events)})
        for catalog_event_id, events in by_cause.items()]
