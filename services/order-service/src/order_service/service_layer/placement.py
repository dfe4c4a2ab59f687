"""Placing orders for due occurrences, set-based (reference 10.1; DEVELOPING "Scheduler -> orders").

``place_dues`` places any number of dues of one shop in one go: one query per kind of state it
reads, the plan decided in memory (domain.placement), then one statement each for the events, the
orders, their lines, the stock, the notifications and the run. An order's id is derived from its
occurrence (subscription, order cycle), and its OrderPlaced is version 1 of that id: a redelivered,
replayed or concurrent trigger can never store a second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from order_service.adapters import dues, event_store, notifications, order_projection, repository, runs
from order_service.adapters.dues import DuesOf, release_waiting
from order_service.config import ReactionSettings
from order_service.domain import dues as rules
from order_service.domain import placement
from order_service.domain.model import SYSTEM_ACTOR, TaxTerms
from order_service.events import order_envelope
from shared_events import Envelope
from shared_events.consumer import RetryLater, waited_s

log = logging.getLogger("order_service.placement")

ORDER_NAMESPACE = uuid.UUID("b7a4c1e2-3d5f-4a6b-8c9d-0e1f2a3b4c5d")

Pair = tuple[str, str]  # (subscription id, order cycle id): an occurrence


def order_id_for(subscription_id: str, order_cycle_id: str) -> str:
    """The one order id an occurrence can ever have."""
    return str(uuid.uuid5(ORDER_NAMESPACE, f"{subscription_id}:{order_cycle_id}"))


@dataclass(frozen=True)
class Placing:
    """How a set of dues is placed.

    ``trigger``: the event answered (the orders' time, the run it opens); ``causes``: the event that made each
    occurrence due, when it is not ``trigger``. ``late``: the cycle has closed, so the orders are late;
    ``confirm``: they are confirmed at once. ``opening``: the dues are one slice of the cycle's opening batch
    (``place_opening_batch``), which has waited for missing data, decided the ``allocation`` when the shop's policy
    is not first-come, and summarises the run once every slice is placed. ``patient``: placed as their OrderDue
    comes, so a due whose products the catalog has not told of yet may wait for them (``_hold_back_lacking``)."""

    trigger: Envelope
    causes: Mapping[Pair, Envelope] = field(default_factory=dict)
    late: bool = False
    confirm: bool = False
    opening: bool = False
    allocation: dict[str, list[placement.Pick]] | None = None
    patient: bool = False

    @classmethod
    def alone(cls, trigger: Envelope, *, late: bool = False, causes: Mapping[Pair, Envelope] | None = None,
              patient: bool = False) -> Placing:
        """Dues placed as they come, joining the shop's open placement run of the cycle; late ones confirmed."""
        return cls(trigger, causes or {}, late=late, confirm=late, patient=patient)

    @classmethod
    def at_close(cls, trigger: Envelope) -> Placing:
        """Dues still waiting when their cycle closes: placed late, confirmed with the rest of the cycle."""
        return cls(trigger, late=True)

    @classmethod
    def opening_slice(cls, trigger: Envelope, allocation: dict[str, list[placement.Pick]] | None) -> Placing:
        return cls(trigger, opening=True, allocation=allocation)


def place_dues(conn: psycopg.Connection, due_rows: Sequence[dict[str, Any]], how: Placing, cfg: ReactionSettings
               ) -> list[str]:
    """Place an order for each due (all of one shop); returns the ids placed. Dues of paused or cancelled
    subscriptions and of skipped occurrences are set aside (state skipped). A due whose shop, subscription or
    methods are not projected yet waits (state waiting) and is placed when they arrive (``place_waiting``)."""
    if not due_rows:
        return []
    shop_id = due_rows[0]["shop_id"]
    # another consumer process may be applying a change of what decides these dues at this moment: the lock makes
    # one of the two wait for the other's commit (dues.lock_what_decides)
    dues.lock_what_decides(conn, shop_id, [d["subscription_id"] for d in due_rows])
    shop, subs, fees, methods, skipped_occurrences = _what_decides(conn, due_rows)
    due_rows = _hold_back_lacking(conn, due_rows, shop, subs, methods, how, cfg)
    if not due_rows:
        return []
    assert shop is not None
    requests, already, skipped, ids = _sort_out(conn, due_rows, subs, skipped_occurrences, how.late)
    dues.mark(conn, already, "placed")
    dues.mark(conn, [(s, c) for s, c, _ in skipped], "skipped", [why for _, _, why in skipped])
    if not requests and not (how.opening and skipped):
        return []
    groups, errors = _decide_orders(conn, shop, fees, requests, ids, how)
    placed, failures = _record_placed(conn, shop_id, groups, how)
    cycle_id = due_rows[0]["order_cycle_id"]
    run_id = runs.open_run(conn, kind="placement", shop_id=shop_id, order_cycle_id=cycle_id, batch=how.opening,
                           trigger=how.trigger, window_s=cfg.run_window_s, deadline_s=cfg.run_window_s)
    runs.add_orders(conn, run_id, [e.payload["order_id"] for e in placed])
    runs.add_problems(conn, run_id, errors=errors + failures, skipped=len(skipped))
    if how.confirm:
        from order_service.service_layer.confirmation import confirm_late_orders

        confirm_late_orders(conn, [e.payload["order_id"] for e in placed], shop_id, cycle_id, how.trigger, cfg)
    return [e.payload["order_id"] for e in placed]


def _hold_back_lacking(conn: psycopg.Connection, due_rows: Sequence[dict[str, Any]], shop: dict[str, Any] | None,
                       subs: dict[str, dict[str, Any]], methods: dict[tuple[str, str], Any], how: Placing,
                       cfg: ReactionSettings) -> Sequence[dict[str, Any]]:
    """The dues that have all they need; the others wait (state waiting, with what they lack).

    A due placed as its OrderDue comes (``how.patient``) whose products the catalog has not told of yet waits for
    them in the consumer: RetryLater pauses the due's partition and redelivers it, while the catalog's topic goes on
    being applied; after ``cfg.catalog_wait_s`` (the consumer says how long it has waited) it is placed as before,
    those products at quantity 0. A waiting state would have no clock to end the wait; the consumer's redelivery
    has one. Placed any other way (set aside then taken up again, an opening batch that has waited already, at the
    close), a due does not wait for the catalog."""
    known = _known_variants(conn, shop["shop_id"], subs.values()) if how.patient and shop is not None else None
    lacking = _lacking(due_rows, shop, subs, methods, known, cfg)
    if not lacking:
        return due_rows
    dues.mark(conn, list(lacking), "waiting", list(lacking.values()))
    return [d for d in due_rows if (d["subscription_id"], d["order_cycle_id"]) not in lacking]


def _what_decides(conn: psycopg.Connection, due_rows: Sequence[dict[str, Any]]
                  ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]], repository.Fees,
                             dict[tuple[str, str], repository.Method], set[Pair]]:
    """What the placement of these dues (all of one shop) depends on, as committed now: the shop, the
    subscriptions, the fees and methods, the skipped occurrences."""
    shop_id = due_rows[0]["shop_id"]
    subs = repository.subscriptions(conn, {d["subscription_id"] for d in due_rows})
    fees, methods = repository.fees_and_methods(conn, shop_id)
    skipped = dues.skipped_occurrences(conn, [(d["subscription_id"], d["order_cycle_id"]) for d in due_rows])
    return repository.shop(conn, shop_id), subs, fees, methods, skipped


def _lacking(due_rows: Sequence[dict[str, Any]], shop: dict[str, Any] | None, subs: dict[str, dict[str, Any]],
             methods: dict[tuple[str, str], Any], known: set[str] | None, cfg: ReactionSettings
             ) -> dict[Pair, str]:
    """What each due that cannot be placed yet lacks (shop, subscription, methods); ``known``: the catalog's
    variants, when a due may wait for them (RetryLater while it keeps waiting, else placed, and said)."""
    lacking = {}
    for d in due_rows:
        sub = subs.get(d["subscription_id"])
        told = known is None or sub is None or rules.catalog_known(sub["items"] or [], known)
        why = rules.lacks(shop is not None, sub, methods, told)
        if why == "catalog":
            waited = waited_s()
            if rules.keeps_waiting_for_catalog(waited, cfg.catalog_wait_s):
                raise RetryLater(f"subscription {d['subscription_id']} asks for products the catalog has not told "
                                 "of yet")
            log.warning("placing a due whose products the catalog has not told of",
                        extra={"subscription_id": d["subscription_id"], "waited_s": round(waited, 1)})
        elif why:
            lacking[(d["subscription_id"], d["order_cycle_id"])] = why
    return lacking


def _known_variants(conn: psycopg.Connection, shop_id: str, subs: Iterable[dict[str, Any]]) -> set[str]:
    """The variants of these subscriptions' items that the shop's catalog has told of."""
    return set(repository.catalog_states(conn, shop_id, {i["variant_id"] for sub in subs for i in sub["items"] or []}))


def _decide_orders(conn: psycopg.Connection, shop: dict[str, Any], fees: Any,
                   requests: list[tuple[placement.Due, placement.Terms]], ids: dict[Pair, str], how: Placing
                   ) -> tuple[list[list[Envelope]], list[dict[str, Any]]]:
    """Each request's OrderPlaced (stock allocated by the shop's policy, or ``how.allocation``), and the errors of
    those that could not be decided: one bad subscription never stops the others."""
    policy = shop["allocation_policy"]
    catalog, stock = repository.catalog_for_update(
        conn, shop["shop_id"], placement.catalog_wanted(terms for _, terms in requests))
    tax = TaxTerms.of(shop["prices_include_tax"], shop["tax_rates"])
    planned = placement.plan(requests, catalog, stock, policy, how.allocation, tax)
    groups: list[list[Envelope]] = []
    errors: list[dict[str, Any]] = []
    for order, number in zip(planned, dues.order_numbers(conn, len(planned)), strict=True):
        pair = (order.terms.subscription_id, order.due.order_cycle_id)
        try:
            payload = placement.placed_payload(
                order, order_id=ids[pair], number=number, shop_id=shop["shop_id"], currency=shop["currency"],
                fees=fees, policy=policy, late=how.late, actor=SYSTEM_ACTOR, tax=tax)
            groups.append([order_envelope("OrderPlaced", payload, 1, occurred_at=how.trigger.occurred_at,
                                          cause=how.causes.get(pair, how.trigger))])
        except Exception as exc:
            log.exception("an order could not be placed", extra={"subscription_id": order.terms.subscription_id})
            errors.append({"subscription_id": order.terms.subscription_id, "message": str(exc)})
    return groups, errors


def _record_placed(conn: psycopg.Connection, shop_id: str, groups: list[list[Envelope]], how: Placing
                   ) -> tuple[list[Envelope], list[dict[str, Any]]]:
    """Store the orders' events, project the new orders, mark their dues placed and queue the customers' emails
    (a late order is told at its confirmation, unless it is empty). Returns the OrderPlaced of the new orders, and
    the errors of those the event store refused."""
    stored = event_store.store_new(conn, groups)
    placed_envs = stored.of_type("OrderPlaced")
    new_ids = set(order_projection.apply_placed(conn, placed_envs))
    placed = [e for e in placed_envs if e.payload["order_id"] in new_ids]
    failures = [{"subscription_id": g[0].payload["subscription_id"], "message": why} for g, why in stored.failures]
    dues.mark(conn, [(e.payload["subscription_id"], e.payload["order_cycle_id"]) for e in placed], "placed")
    notifications.queue(conn, [
        notifications.Notice("order_empty" if e.payload["status"] == "empty" else "order_placed",
                             e.payload["order_id"], shop_id, e.payload["customer_id"], e.payload["order_id"],
                             e.event_id)
        for e in placed if not how.late or e.payload["status"] == "empty"])
    return placed, failures


def _sort_out(conn: psycopg.Connection, due_rows: Sequence[dict[str, Any]], subs: dict[str, dict[str, Any]],
              skipped_occurrences: set[Pair], late: bool
              ) -> tuple[list[tuple[placement.Due, placement.Terms]], list[Pair], list[tuple[str, str, str]],
                         dict[Pair, str]]:
    """The dues to place now (with their subscription's terms), those already placed, and those set aside with
    why; and the order id of every due."""
    pairs = [(d["subscription_id"], d["order_cycle_id"]) for d in due_rows]
    ids = {pair: order_id_for(*pair) for pair in pairs}
    existing = dues.existing_orders(conn, ids.values())
    requests: list[tuple[placement.Due, placement.Terms]] = []
    already: list[Pair] = []
    skipped: list[tuple[str, str, str]] = []
    for d in due_rows:
        sub = subs[d["subscription_id"]]
        pair = (d["subscription_id"], d["order_cycle_id"])
        if ids[pair] in existing:
            already.append(pair)
        elif why := rules.set_aside_because(sub["state"], pair in skipped_occurrences):
            skipped.append((*pair, why))
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
    run's demand, so it is decided first from every slice's terms (``placement.allocation_for``).

    Dues that lack data make the batch wait for it (RetryLater: its allocation order would be incomplete), for
    ``cfg.batch_wait_s`` at most (the consumer says how long this event has waited), then it is placed without
    them."""
    shop_id = dues.shop_of_cycle(conn, order_cycle_id)
    if shop_id is None:
        return
    shop = repository.shop(conn, shop_id)
    _, methods = repository.fees_and_methods(conn, shop_id)
    ids: list[str] = []  # every due in first-come order: only the ids are kept
    lacking: list[str] = []
    for subscription_id, sub in dues.opening_in_first_come_order(conn, order_cycle_id, cfg.placement_slice):
        ids.append(subscription_id)
        if why := rules.lacks(shop is not None, sub, methods, sub is None or sub["catalog_known"]):
            lacking.append(why)
    if not ids:
        if runs.has_unreported_misses(conn, shop_id, order_cycle_id):  # every due missed: say so all the same
            runs.open_run(conn, kind="placement", shop_id=shop_id, order_cycle_id=order_cycle_id, batch=True,
                          trigger=trigger, window_s=0, deadline_s=0)
            runs.summarise(conn, runs.run_id_for("placement", order_cycle_id, trigger))
        return
    if lacking:
        waited = waited_s()
        if rules.batch_keeps_waiting(waited, cfg.batch_wait_s):
            raise RetryLater(f"{len(lacking)} due(s) lack data, e.g. {lacking[0]}")
        log.warning("placing a batch without the dues that still lack data",
                    extra={"event_id": trigger.event_id, "waited_s": round(waited, 1), "lacking": len(lacking)})
    slices = [ids[i:i + cfg.placement_slice] for i in range(0, len(ids), cfg.placement_slice)]
    del ids
    allocation = None
    if shop is not None and shop["allocation_policy"] != "first_come":
        allocation = _whole_run_allocation(conn, shop, methods, order_cycle_id, slices)
    for ids in slices:
        place_dues(conn, dues.of_cycle(conn, order_cycle_id, ids), Placing.opening_slice(trigger, allocation), cfg)
    run_id = runs.run_id_for("placement", order_cycle_id, trigger)
    if runs.exists(conn, run_id):
        runs.summarise(conn, run_id)


def _whole_run_allocation(conn: psycopg.Connection, shop: dict[str, Any], methods: dict[tuple[str, str], Any],
                          order_cycle_id: str, slices: list[list[str]]) -> dict[str, list[placement.Pick]]:
    """A non-first-come policy's allocation over every due of the batch that will be placed, from light terms
    (rank and items only)."""
    light: list[placement.Terms] = []
    variants: set[str] = set()
    for ids in slices:
        due_rows = dues.of_cycle(conn, order_cycle_id, ids)
        subs = repository.subscriptions(conn, ids)
        placeable = [d for d in due_rows if rules.lacks(True, subs.get(d["subscription_id"]), methods) is None]
        skipped = dues.skipped_occurrences(conn, [(d["subscription_id"], d["order_cycle_id"]) for d in placeable])
        requests, _, _, _ = _sort_out(conn, placeable, subs, skipped, False)
        for _, t in requests:
            items = [{"variant_id": i["variant_id"], "quantity": i["quantity"], "substitutes": i.get("substitutes")}
                     for i in t.items]
            light.append(placement.Terms(t.subscription_id, "", t.created_at, items, "", "", "", {}, {}, t.sequence))
            variants.update(placement.catalog_wanted([light[-1]]))
    _, stock = repository.catalog_for_update(conn, shop["shop_id"], variants)
    return placement.allocation_for(light, stock, shop["allocation_policy"])


def place_waiting(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings, waiting: DuesOf) -> None:
    """Dues that waited for data are placed now, each as a single placement; a due of a cycle that has closed
    meanwhile is placed and confirmed at once. What they waited for may have come before the catalog: they may
    wait for it too (patient)."""
    dues.lock_what_decides(conn, env.payload["shop_id"],  # see place_dues: a due may be left waiting meanwhile
                           [waiting.subscription_id] if waiting.subscription_id else [])
    for due in release_waiting(conn, waiting):
        place_dues(conn, [due], Placing.alone(env, late=due["late"] or due["closed_at"] is not None, patient=True),
                   cfg)


def on_subscription_created(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """The subscription a due waited for has arrived."""
    place_waiting(conn, env, cfg, DuesOf(subscription_id=env.payload["subscription_id"]))


def on_shop_data_saved(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """The shop, or a shipping or payment method, a due waited for may have arrived."""
    place_waiting(conn, env, cfg, DuesOf(shop_id=env.payload["shop_id"]))
