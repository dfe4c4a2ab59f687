"""Confirming orders at the close of their cycle (reference 10.2; DEVELOPING "At close"), set-based.

Each placed, non-cancelled order is confirmed once: OrderConfirmed is the order's next version, so
a second confirmation of the same order cannot be stored. PaymentRequested follows when there is
something to pay (billing-service: cash -> pending until marked paid, stripe -> charged). One
order that cannot be confirmed is reported in the shop's summary and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg

from order_service.adapters import event_store, notifications, order_projection, repository, runs
from order_service.config import ReactionSettings
from order_service.domain import placement
from order_service.domain.model import SYSTEM_ACTOR, TOTAL_KEYS
from order_service.events import order_envelope
from shared_events import Envelope

log = logging.getLogger("order_service.confirmation")

IDS = ("order_id", "shop_id", "subscription_id", "order_cycle_id", "customer_id")


def confirmation_events(order: dict[str, Any], trigger: Envelope) -> list[Envelope]:
    """OrderConfirmed (+ PaymentRequested for the outstanding balance) of one placed order."""
    ids = {k: order[k] for k in IDS}
    required, amount = placement.confirmation(order["total"], order["status"])
    totals = {k: order[k] for k in TOTAL_KEYS}
    at = trigger.occurred_at
    events = [order_envelope("OrderConfirmed", {
        **ids, "number": order["number"], "currency": order["currency"], "totals": totals,
        "payment_kind": order["payment_kind"], "payment_required": required, "confirmed_at": at,
        "actor": SYSTEM_ACTOR, "reason": None}, order["version"] + 1, occurred_at=at, cause=trigger)]
    if required:
        events.append(order_envelope("PaymentRequested", {
            **ids, "number": order["number"], "amount": amount, "currency": order["currency"],
            "payment_kind": order["payment_kind"], "payment_method_id": order["payment_method_id"],
            "actor": SYSTEM_ACTOR, "reason": None}, order["version"] + 2, occurred_at=at, cause=trigger))
    return events


def confirm_cycle(conn: psycopg.Connection, order_cycle_id: str, shop_id: str, trigger: Envelope,
                  cfg: ReactionSettings) -> list[str]:
    """At the close, every order of the cycle still placed is confirmed, as one batch run with its summary."""
    return _confirm(conn, repository.OrdersOfCycle(order_cycle_id), trigger, cfg, batch=True, shop_id=shop_id,
                    order_cycle_id=order_cycle_id)


def confirm_late_orders(conn: psycopg.Connection, order_ids: Sequence[str], shop_id: str, order_cycle_id: str,
                        trigger: Envelope, cfg: ReactionSettings) -> list[str]:
    """Orders placed after their cycle closed are confirmed at once; they join the shop's open run."""
    return _confirm(conn, repository.OrdersWithIds(order_ids), trigger, cfg, batch=False, shop_id=shop_id,
                    order_cycle_id=order_cycle_id)


def _confirm(conn: psycopg.Connection, orders: repository.OrdersOfCycle | repository.OrdersWithIds,
             trigger: Envelope, cfg: ReactionSettings, *, batch: bool, shop_id: str, order_cycle_id: str) -> list[str]:
    """Confirm those of ``orders`` still placed, ``cfg.placement_slice`` at a time in order id order, in the
    caller's transaction; returns the ids confirmed."""
    done: list[str] = []
    run_id, after = None, ""
    while placed := repository.placed_orders_to_confirm(conn, orders, after=after, limit=cfg.placement_slice):
        after = placed[-1]["order_id"]
        run_id, confirmed = _confirm_slice(conn, placed, trigger, cfg, batch=batch, shop_id=shop_id,
                                           order_cycle_id=order_cycle_id)
        done += confirmed
        if len(placed) < cfg.placement_slice:
            break
    if batch and run_id is not None:
        runs.summarise_if_complete(conn, run_id)
    return done


def _confirm_slice(conn: psycopg.Connection, orders: list[dict[str, Any]], trigger: Envelope, cfg: ReactionSettings,
                   *, batch: bool, shop_id: str, order_cycle_id: str) -> tuple[str, list[str]]:
    """Confirm these orders (locked rows); return the run they were added to and the ids confirmed."""
    groups: list[list[Envelope]] = []
    errors: list[dict[str, Any]] = []
    for order in orders:
        try:
            groups.append(confirmation_events(order, trigger))
        except Exception as exc:
            log.exception("an order could not be confirmed", extra={"order_id": order["order_id"]})
            errors.append({"order_id": order["order_id"], "number": order["number"], "message": str(exc)})
    stored = event_store.store_new(conn, groups)
    errors += [{"order_id": g[0].payload["order_id"], "number": g[0].payload["number"], "message": why}
               for g, why in stored.failures]
    confirmed = stored.of_type("OrderConfirmed")
    order_projection.apply_confirmed(conn, confirmed)
    order_projection.apply_versions(conn, stored.of_type("PaymentRequested"))

    # cash and nothing-to-pay orders are told now; card orders when billing reports the outcome
    notifications.queue(conn, [
        notifications.Notice("order_confirmed", e.payload["order_id"], shop_id, e.payload["customer_id"],
                             e.payload["order_id"], e.event_id, {"paid": False})
        for e in confirmed if not e.payload["payment_required"] or e.payload["payment_kind"] != "stripe"])
    run_id = runs.open_run(conn, kind="confirmation", shop_id=shop_id, order_cycle_id=order_cycle_id, batch=batch,
                           trigger=trigger, window_s=cfg.run_window_s, deadline_s=cfg.summary_wait_s)
    runs.add_orders(conn, run_id, [e.payload["order_id"] for e in confirmed],
                    awaiting=[e.payload["order_id"] for e in confirmed
                              if e.payload["payment_required"] and e.payload["payment_kind"] == "stripe"])
    runs.add_problems(conn, run_id, errors=errors)
    return run_id, [e.payload["order_id"] for e in confirmed]
