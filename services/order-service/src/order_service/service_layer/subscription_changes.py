"""Reactions to subscriptions.events on the orders already placed (reference sections 6, 7 and 8).

- SubscriptionUpdated: the change flows into each open order (domain.propagation); every skipped
  propagation is recorded as an update issue (OrderUpdateIssuesRecorded).
- SubscriptionPaused/Cancelled with open_orders=cancel: the open orders are cancelled, their stock
  released; keep leaves them to be confirmed at close.
- SubscriptionUnpaused: dues set aside while paused are placed now if their cycle is still open.
- OccurrenceSkipped: the occurrence's order is cancelled; OccurrenceResumed: it is resumed, or placed
  if it was set aside.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from order_service.adapters import notifications, repository
from order_service.adapters.dues import DuesOf, lock_what_decides, release_set_aside
from order_service.config import ReactionSettings
from order_service.domain import editing, errors, propagation
from order_service.domain.model import Order
from order_service.service_layer.placement import Placing, place_dues
from order_service.service_layer.recording import record
from shared_events import Decided, Envelope


def _variants(*item_lists: object) -> set[str]:
    return {i["variant_id"] for items in item_lists for i in (items or [])}  # type: ignore[attr-defined]


def on_subscription_updated(conn: psycopg.Connection, env: Envelope, _cfg: ReactionSettings) -> None:
    p = env.payload
    _meet_placements(conn, env)
    orders = repository.placed_orders_for_update(conn, p["subscription_id"])
    if not orders:
        return
    wanted = _variants(p["changes"].get("items"), p["previous"].get("items"))
    catalog, stock, fees, _ = repository.catalog_and_fees(conn, p["shop_id"], wanted)
    for order in orders:
        if order.is_closed(env.occurred_at):
            result = propagation.Propagation(issues=[{
                "kind": "order_closed", "variant_id": None,
                "message": "The order cycle has closed: the subscription change was not applied to this order."}])
        else:
            result = propagation.propagate(order, p["changes"], p["previous"], catalog, stock, fees)
        decision = list(result.events)
        if result.issues:
            decision.append(Decided("OrderUpdateIssuesRecorded", {"subscription_event_id": env.event_id,
                                                           "issues": result.issues}))
        if decision:
            record(conn, order, decision, occurred_at=env.occurred_at, actor=p.get("actor"), reason=p.get("reason"),
                   cause=env)


def _meet_placements(conn: psycopg.Connection, env: Envelope) -> None:
    """Before looking for the dues or the orders a change of the subscription acts on: a placement of its dues
    that another consumer process is making at this moment, from the subscription as it was, has committed, or
    waits for this change to commit and reads it (dues.lock_what_decides)."""
    lock_what_decides(conn, env.payload["shop_id"], [env.payload["subscription_id"]])


def cancel_order(conn: psycopg.Connection, order: Order, env: Envelope, cause: str, now: datetime) -> bool:
    """Cancel on the subscription's behalf; an order of a closed cycle is never touched."""
    try:
        decision = editing.cancel(order, editing.MANAGER, now, cause=cause, by="subscription")
    except (errors.OrderClosed, errors.OrderNotEditable):
        return False
    envs = record(conn, order, decision, occurred_at=now, actor=env.payload.get("actor"),
                  reason=env.payload.get("reason"), cause=env)
    notifications.queue(conn, [notifications.Notice("order_cancelled", f"{order.order_id}:{envs[-1].aggregate_version}",
                                                    order.shop_id, order.customer_id, order.order_id,
                                                    envs[-1].event_id)])
    return True


def on_subscription_stopped(cause: str):  # type: ignore[no-untyped-def]
    def react(conn: psycopg.Connection, env: Envelope, _cfg: ReactionSettings) -> None:
        p = env.payload
        if p["open_orders"] != "cancel":
            return
        _meet_placements(conn, env)
        for order in repository.placed_orders_for_update(conn, p["subscription_id"], p.get("open_order_cycle_ids")):
            cancel_order(conn, order, env, cause, env.occurred_at)

    return react


def on_subscription_unpaused(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    _meet_placements(conn, env)
    _place_set_aside(conn, env, cfg, DuesOf(subscription_id=env.payload["subscription_id"]))


def _place_set_aside(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings, set_aside: DuesOf) -> None:
    """Dues set aside (paused, skipped) whose cycle is still open are placed now, one run each."""
    for due in release_set_aside(conn, set_aside, env.occurred_at):
        place_dues(conn, [due], Placing.alone(env), cfg)


def on_occurrence_skipped(conn: psycopg.Connection, env: Envelope, _cfg: ReactionSettings) -> None:
    p = env.payload
    _meet_placements(conn, env)
    for order in repository.placed_orders_for_update(conn, p["subscription_id"], [p["order_cycle_id"]]):
        cancel_order(conn, order, env, "occurrence_skipped", env.occurred_at)


def on_occurrence_resumed(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    p = env.payload
    _meet_placements(conn, env)
    orders = repository.occurrence_orders_for_update(conn, p["subscription_id"], p["order_cycle_id"])
    for order in orders:
        if order.status != "cancelled":
            continue
        _, stock, fees, _ = repository.catalog_and_fees(conn, order.shop_id, {line.variant_id for line in order.lines})
        try:
            decision = editing.resume(order, editing.MANAGER, stock, fees, env.occurred_at, by="subscription")
        except (errors.OrderClosed, errors.OrderNotEditable):
            continue
        record(conn, order, decision, occurred_at=env.occurred_at, actor=p.get("actor"), reason=p.get("reason"),
               cause=env)
    if not orders:
        _place_set_aside(conn, env, cfg, DuesOf(subscription_id=p["subscription_id"],
                                                order_cycle_id=p["order_cycle_id"]))
