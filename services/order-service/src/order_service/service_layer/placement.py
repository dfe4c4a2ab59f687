"""Placing orders for due occurrences, set-based (reference 10.1; DEVELOPING "Scheduler -> orders").

``place_dues`` places any number of dues of one shop in one go: one query per kind of state it
reads, the plan decided in memory (domain.placement), then one statement each for the events, the
orders, their lines, the stock, the notifications and the run. An order's id is derived from its
occurrence (subscription, order cycle), and its OrderPlaced is version 1 of that id: a redelivered,
replayed or concurrent trigger can never store a second one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from order_service.adapters import bulk, event_store, notifications, order_projection, repository, runs
from order_service.adapters.db import all_rows, one_row
from order_service.adapters.dues import DuesOf, release_waiting
from order_service.config import ReactionSettings
from order_service.domain import placement
from order_service.domain.model import SYSTEM_ACTOR
from order_service.events import order_envelope
from shared_events import Envelope
from shared_events.consumer import RetryLater

log = logging.getLogger("order_service.placement")

ORDER_NAMESPACE = uuid.UUID("b7a4c1e2-3d5f-4a6b-8c9d-0e1f2a3b4c5d")

# trigger event id -> when this process first found its batch lacking data (monotonic seconds)
BLOCKED_SINCE: dict[str, float] = {}


def _lacks(shop: dict[str, Any] | None, sub: dict[str, Any] | None,
           methods: dict[tuple[str, str], Any]) -> str | None:
    """What a due still lacks to be placed, or None."""
    if shop is None:
        return "shop"
    if sub is None:
        return "subscription"
    for kind in ("shipping", "payment"):
        if (kind, sub[f"{kind}_method_id"]) not in methods:
            return f"{kind}_method"
    return None


def _keep_waiting(trigger: Envelope, cfg: ReactionSettings) -> bool:
    first = BLOCKED_SINCE.setdefault(trigger.event_id, time.monotonic())
    if time.monotonic() - first < cfg.batch_wait_s:
        return True
    log.warning("placing a batch without the dues that still lack data", extra={"event_id": trigger.event_id})
    return False


def order_id_for(subscription_id: str, order_cycle_id: str) -> str:
    """The one order id an occurrence can ever have."""
    return str(uuid.uuid5(ORDER_NAMESPACE, f"{subscription_id}:{order_cycle_id}"))


def next_numbers(conn: psycopg.Connection, n: int) -> list[str]:
    if n == 0:
        return []
    return [r["number"] for r in all_rows(
        conn, "SELECT 'R' || lpad(nextval('order_numbers')::text, 8, '0') AS number FROM generate_series(1, %s)",
        [n])]


def place_dues(conn: psycopg.Connection, dues: Sequence[dict[str, Any]], trigger: Envelope, cfg: ReactionSettings,
               *, batch: bool, late: bool, confirm: bool | None = None,
               causes: dict[tuple[str, str], Envelope] | None = None,
               allocation: dict[str, list[int]] | None = None, slice_of_batch: bool = False) -> list[str]:
    """Place an order for each due (all of one shop). Dues of paused or cancelled subscriptions and of
    skipped occurrences are set aside (state skipped). ``late``: the cycle has closed, so the orders are
    confirmed at once (unless ``confirm`` is False: the caller confirms them). Returns the ids placed.
    ``causes``: the event that made each (subscription, cycle) due, when they are not all ``trigger``.

    A due whose shop, subscription or methods are not projected yet waits (state waiting) and is placed
    when they arrive (``place_waiting``). A batch first waits for them itself (RetryLater, up to
    ``cfg.batch_wait_s``) so that its allocation order is complete.

    ``slice_of_batch``: these dues are one slice of an opening batch (``place_opening_batch``), which has
    already waited for missing data, decided the ``allocation`` when it is not first-come, and summarises
    the run once every slice is placed.
    """
    if not dues:
        return []
    shop_id = dues[0]["shop_id"]
    shop = repository.shop(conn, shop_id)
    subs = repository.subscriptions(conn, {d["subscription_id"] for d in dues})
    fees, methods = repository.fees_and_methods(conn, shop_id)
    lacking = {}
    for d in dues:
        why = _lacks(shop, subs.get(d["subscription_id"]), methods)
        if why:
            lacking[(d["subscription_id"], d["order_cycle_id"])] = why
    if lacking:
        if batch and not slice_of_batch and _keep_waiting(trigger, cfg):
            raise RetryLater(f"{len(lacking)} due(s) lack data, e.g. {next(iter(lacking.values()))}")
        _mark_dues(conn, list(lacking), "waiting", list(lacking.values()))
        dues = [d for d in dues if (d["subscription_id"], d["order_cycle_id"]) not in lacking]
        if not dues:
            return []
    BLOCKED_SINCE.pop(trigger.event_id, None)
    assert shop is not None

    requests, already, skipped, ids = _sort_out(conn, dues, subs, late)
    _mark_dues(conn, already, "placed")
    _mark_dues(conn, [(s, c) for s, c, _ in skipped], "skipped", [why for _, _, why in skipped])
    if not requests and not (batch and skipped):
        return []

    policy = shop["allocation_policy"]
    catalog, stock = repository.catalog_for_update(
        conn, shop_id, {item["variant_id"] for _, terms in requests for item in terms.items})
    planned = placement.plan(requests, catalog, stock, policy, allocation)
    groups: list[list[Envelope]] = []
    errors: list[dict[str, Any]] = []
    for order, number in zip(planned, next_numbers(conn, len(planned)), strict=True):
        try:
            payload = placement.placed_payload(
                order, order_id=ids[(order.terms.subscription_id, order.due.order_cycle_id)], number=number,
                shop_id=shop_id, currency=shop["currency"], fees=fees, policy=policy, late=late, actor=SYSTEM_ACTOR)
            cause = (causes or {}).get((order.terms.subscription_id, order.due.order_cycle_id), trigger)
            groups.append([order_envelope("OrderPlaced", payload, 1, occurred_at=trigger.occurred_at, cause=cause)])
        except Exception as exc:  # one bad subscription never stops the others
            log.exception("an order could not be placed", extra={"subscription_id": order.terms.subscription_id})
            errors.append({"subscription_id": order.terms.subscription_id, "message": str(exc)})
    stored = event_store.store_new(conn, groups)
    errors += [{"subscription_id": g[0].payload["subscription_id"], "message": why} for g, why in stored.failures]
    placed_envs = stored.of_type("OrderPlaced")
    new_ids = set(order_projection.apply_placed(conn, placed_envs))
    placed_envs = [e for e in placed_envs if e.payload["order_id"] in new_ids]
    _mark_dues(conn, [(e.payload["subscription_id"], e.payload["order_cycle_id"]) for e in placed_envs], "placed")

    notices = [notifications.Notice("order_empty" if e.payload["status"] == "empty" else "order_placed",
                                    e.payload["order_id"], shop_id, e.payload["customer_id"], e.payload["order_id"],
                                    e.event_id)
               for e in placed_envs if not late or e.payload["status"] == "empty"]
    notifications.queue(conn, notices)
    cycle_id = dues[0]["order_cycle_id"]
    run_id = runs.open_run(conn, kind="placement", shop_id=shop_id, order_cycle_id=cycle_id, batch=batch,
                           trigger=trigger, window_s=cfg.run_window_s, deadline_s=cfg.run_window_s)
    runs.add_orders(conn, run_id, [e.payload["order_id"] for e in placed_envs])
    runs.add_problems(conn, run_id, errors=errors, skipped=len(skipped))
    if batch and not slice_of_batch:
        runs.summarise(conn, run_id)
    if late if confirm is None else confirm:
        from order_service.service_layer.confirmation import confirm_late_orders

        confirm_late_orders(conn, [e.payload["order_id"] for e in placed_envs], shop_id, cycle_id, trigger, cfg)
    return [e.payload["order_id"] for e in placed_envs]


def _sort_out(conn: psycopg.Connection, dues: Sequence[dict[str, Any]], subs: dict[str, dict[str, Any]], late: bool
              ) -> tuple[list[tuple[placement.Due, placement.Terms]], list[tuple[str, str]],
                         list[tuple[str, str, str]], dict[tuple[str, str], str]]:
    """The dues to place now (with their subscription's terms), those already placed, and those set aside with
    why; and the order id of every due."""
    pairs = [(d["subscription_id"], d["order_cycle_id"]) for d in dues]
    skipped_occurrences = {(r["subscription_id"], r["order_cycle_id"]) for r in all_rows(
        conn, "SELECT subscription_id, order_cycle_id FROM occurrences WHERE skipped AND "
              "(subscription_id, order_cycle_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        [[p[0] for p in pairs], [p[1] for p in pairs]], binary=True)}
    ids = {pair: order_id_for(*pair) for pair in pairs}
    existing = {r["order_id"] for r in all_rows(conn, "SELECT order_id FROM orders WHERE order_id = ANY(%s)",
                                                [list(ids.values())], binary=True)}
    requests: list[tuple[placement.Due, placement.Terms]] = []
    already: list[tuple[str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    for d in dues:
        sub = subs[d["subscription_id"]]
        pair = (d["subscription_id"], d["order_cycle_id"])
        if ids[pair] in existing:
            already.append(pair)
        elif sub["state"] != "active":
            skipped.append((*pair, f"subscription_{sub['state']}"))
        elif pair in skipped_occurrences:
            skipped.append((*pair, "occurrence_skipped"))
        else:
            requests.append((placement.Due(d["subscription_id"], d["order_cycle_id"], d["opens_at"], d["closes_at"],
                                           late), repository.terms_of(sub)))
    return requests, already, skipped, ids


def place_opening_batch(conn: psycopg.Connection, order_cycle_id: str, trigger: Envelope, cfg: ReactionSettings
                        ) -> None:
    """The cycle's opening batch: every recorded cycle_opened due, stock shared by the shop's policy, with the
    outcome of placing them all at once, but placed in slices of ``cfg.placement_slice`` dues in first-come
    order, so that memory does not grow with the cycle (bench's `memory` row). Stock carries from
    slice to slice in the transaction, which is exactly first-come allocation; a fair share needs the whole
    run's demand, so it is decided first from every slice's terms (``placement.allocation_for``)."""
    shop_row = one_row(conn, "SELECT shop_id FROM order_dues WHERE order_cycle_id = %s LIMIT 1", [order_cycle_id])
    if shop_row is None:
        return
    shop_id = shop_row["shop_id"]
    shop = repository.shop(conn, shop_id)
    _, methods = repository.fees_and_methods(conn, shop_id)
    # Every due in first-come order (Terms.first_come_key, computed here: unranked subscriptions first by
    # creation time, then ranked ones by rank; ties by id, compared bytewise as Python compares str; dues whose
    # subscription is not projected yet last), streamed from a server-side cursor: only the ids are kept.
    ids: list[str] = []
    lacking: list[str] = []
    with conn.cursor(name=f"opening_batch_{uuid.uuid4().hex}", row_factory=tuple_row) as cur:
        cur.execute(
            """
            SELECT d.subscription_id, s.subscription_id IS NOT NULL, s.shipping_method_id, s.payment_method_id
            FROM order_dues d LEFT JOIN subscriptions s ON s.subscription_id = d.subscription_id
            WHERE d.order_cycle_id = %s AND d.state = 'pending' AND d.reason = 'cycle_opened'
            ORDER BY CASE WHEN s.subscription_id IS NULL THEN 2 WHEN s.sequence IS NULL THEN 0 ELSE 1 END,
                     coalesce(s.sequence, 0), s.created_at, d.subscription_id COLLATE "C"
            """, [order_cycle_id])
        while rows := cur.fetchmany(cfg.placement_slice):
            for subscription_id, known, shipping, payment in rows:
                ids.append(subscription_id)
                sub = {"shipping_method_id": shipping, "payment_method_id": payment} if known else None
                if why := _lacks(shop, sub, methods):
                    lacking.append(why)
    if not ids:
        if runs.has_unreported_misses(conn, shop_id, order_cycle_id):  # every due missed: say so all the same
            runs.open_run(conn, kind="placement", shop_id=shop_id, order_cycle_id=order_cycle_id, batch=True,
                          trigger=trigger, window_s=0, deadline_s=0)
            runs.summarise(conn, runs.run_id_for("placement", order_cycle_id, trigger))
        return
    if lacking and _keep_waiting(trigger, cfg):
        raise RetryLater(f"{len(lacking)} due(s) lack data, e.g. {lacking[0]}")
    slices = [ids[i:i + cfg.placement_slice] for i in range(0, len(ids), cfg.placement_slice)]
    del ids
    allocation = None
    if shop is not None and shop["allocation_policy"] != "first_come":
        allocation = _whole_run_allocation(conn, shop, methods, order_cycle_id, slices)
    for ids in slices:
        place_dues(conn, _dues_of(conn, order_cycle_id, ids), trigger, cfg, batch=True, late=False,
                   allocation=allocation, slice_of_batch=True)
    BLOCKED_SINCE.pop(trigger.event_id, None)
    run_id = runs.run_id_for("placement", order_cycle_id, trigger)
    if one_row(conn, "SELECT 1 AS x FROM runs WHERE run_id = %s", [run_id]):
        runs.summarise(conn, run_id)


def _dues_of(conn: psycopg.Connection, order_cycle_id: str, subscription_ids: list[str]) -> list[dict[str, Any]]:
    return all_rows(conn, "SELECT * FROM order_dues WHERE order_cycle_id = %s AND subscription_id = ANY(%s)",
                    [order_cycle_id, subscription_ids])


def _whole_run_allocation(conn: psycopg.Connection, shop: dict[str, Any], methods: dict[tuple[str, str], Any],
                          order_cycle_id: str, slices: list[list[str]]) -> dict[str, list[int]]:
    """A non-first-come policy's allocation over every due of the batch that will be placed, from light terms
    (rank and items only)."""
    light: list[placement.Terms] = []
    variants: set[str] = set()
    for ids in slices:
        dues = _dues_of(conn, order_cycle_id, ids)
        subs = repository.subscriptions(conn, ids)
        placeable = [d for d in dues if _lacks(shop, subs.get(d["subscription_id"]), methods) is None]
        requests, _, _, _ = _sort_out(conn, placeable, subs, False)
        for _, t in requests:
            items = [{"variant_id": i["variant_id"], "quantity": i["quantity"]} for i in t.items]
            variants.update(i["variant_id"] for i in items)
            light.append(placement.Terms(t.subscription_id, "", t.created_at, items, "", "", "", {}, {}, t.sequence))
    _, stock = repository.catalog_for_update(conn, shop["shop_id"], variants)
    return placement.allocation_for(light, stock, shop["allocation_policy"])


def _mark_dues(conn: psycopg.Connection, pairs: list[tuple[str, str]], state: str,
               why: list[str] | list[None] | None = None) -> None:
    if not pairs:
        return
    reasons = why or [None] * len(pairs)
    bulk.staged(conn, "due_states", "order_dues", ("subscription_id", "order_cycle_id", "skipped_because"),
                [(s, c, r) for (s, c), r in zip(pairs, reasons, strict=True)],
                "UPDATE order_dues d SET state = %s, skipped_because = x.skipped_because FROM {staged} x "
                "WHERE d.subscription_id = x.subscription_id AND d.order_cycle_id = x.order_cycle_id", [state])


def place_waiting(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings, waiting: DuesOf) -> None:
    """Dues that waited for data are placed now, each as a single placement; a due of a cycle that has closed
    meanwhile is placed and confirmed at once."""
    for due in release_waiting(conn, waiting):
        place_dues(conn, [due], env, cfg, batch=False, late=due["late"] or due["closed_at"] is not None)


def on_subscription_created(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """The subscription a due waited for has arrived."""
    place_waiting(conn, env, cfg, DuesOf(subscription_id=env.payload["subscription_id"]))


def on_shop_data_saved(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """The shop, or a shipping or payment method, a due waited for may have arrived."""
    place_waiting(conn, env, cfg, DuesOf(shop_id=env.payload["shop_id"]))
