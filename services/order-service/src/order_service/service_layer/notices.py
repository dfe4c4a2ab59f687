"""Emails that tell of something other than an order's own life, decided by the consumer (live only, like every
reaction) and queued in the notifications table in the transaction of the event they tell, once each: the id of
each notification derives from its kind and the aggregate and version it tells of (``notifications.Notice``).

- ``OrderCycleClosingSoon`` (the shop's cut-off reminder): each customer whose placed order can still be changed
  gets ``order_reminder`` with the link to their order (once per order, ever);
- a subscription created, changed, paused (until a date, if it says) or cancelled by the shop (a manager or the
  admin, not the customer nor the platform ending a pause): the customer gets ``subscription_<what>`` saying what
  changed and when it takes effect;
- a delivery the customer skipped themself: the shop gets ``delivery_skipped_shop`` (one for a whole holiday);
- the permission to charge a card given or withdrawn by the customer: the customer gets ``charges_allowed`` or
  ``charges_withdrawn`` with the consent text they were shown, in its language.
(A customer cancelling an order: the API queues ``order_cancelled_shop`` with the customer's ``order_cancelled``.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from order_service.adapters import notice_facts, notifications
from order_service.adapters.notifications import Notice
from shared_events import Envelope

TERMS = ("items", "shipping_method_id", "payment_method_id", "payment_kind", "bill_address", "ship_address",
         "begins_at", "ends_at")


def by_the_shop(env: Envelope) -> bool:
    """A change the shop made (a manager, the admin), not the customer nor the platform itself."""
    actor = env.payload.get("actor") or {}
    return actor.get("type") in ("manager", "admin")


def by_the_customer(env: Envelope) -> bool:
    return (env.payload.get("actor") or {}).get("type") == "customer"


def _key(env: Envelope) -> str:
    return f"{env.aggregate_id}:{env.aggregate_version}"


def hours_left(closes_at: datetime, at: datetime) -> int:
    """Whole hours from ``at`` to the close, as the reminder says them: the shop's setting when the reminder is on
    time, fewer when it came late (a ticker caught up, a setting turned on with less time left)."""
    return max(1, round((closes_at - at).total_seconds() / 3600))


def on_cycle_closing_soon(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
    p = env.payload
    left = hours_left(p["closes_at"], env.occurred_at)
    return [Notice("order_reminder", o["order_id"], o["shop_id"], o["customer_id"], o["order_id"],
                   payload={"order_cycle_id": p["order_cycle_id"], "hours_before_close": p["hours_before_close"],
                            "hours_left": left})
            for o in notice_facts.changeable_orders(conn, p["order_cycle_id"], env.occurred_at)]


def _items(conn: psycopg.Connection, shop_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = notice_facts.product_names(conn, shop_id, [i["variant_id"] for i in items])
    return [{"name": names[i["variant_id"]], "quantity": i["quantity"]} for i in items]


def _method(methods: dict[tuple[str, str], str], kind: str, method_id: str | None) -> str | None:
    return methods.get((kind, method_id), method_id) if method_id else None


def describe_changes(changes: dict[str, Any], previous: dict[str, Any], names: dict[str, str],
                     methods: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """What a SubscriptionUpdated changed, as the email lists it: each product added, removed or whose quantity
    changed; each method, date and address that changed (pure)."""
    found: list[dict[str, Any]] = []
    if "items" in changes:
        before = {i["variant_id"]: i["quantity"] for i in previous.get("items") or []}
        after = {i["variant_id"]: i["quantity"] for i in changes["items"]}
        for variant_id in [*after, *(v for v in before if v not in after)]:
            old, new = before.get(variant_id), after.get(variant_id)
            if old != new:
                found.append({"what": "item", "name": names.get(variant_id, variant_id), "from": old, "to": new})
    for field, kind in (("shipping_method_id", "shipping"), ("payment_method_id", "payment")):
        if field in changes:
            found.append({"what": field[:-3], "from": _method(methods, kind, previous.get(field)),
                          "to": _method(methods, kind, changes[field])})
    for field in ("begins_at", "ends_at"):
        if field in changes:
            found.append({"what": field, "from": previous.get(field), "to": changes[field]})
    for field in ("bill_address", "ship_address"):
        if field in changes:
            found.append({"what": field, "to": changes[field]})
    return found


def on_subscription_created(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
    p = env.payload
    if not by_the_shop(env):
        return []
    terms = p["terms"]
    methods = notice_facts.method_names(conn, p["shop_id"])
    return [Notice("subscription_created", _key(env), p["shop_id"], p["customer_id"], payload={
        "subscription_id": p["subscription_id"], "items": _items(conn, p["shop_id"], terms.get("items") or []),
        "shipping_method": _method(methods, "shipping", terms.get("shipping_method_id")),
        "payment_method": _method(methods, "payment", terms.get("payment_method_id")),
        "begins_at": terms.get("begins_at"), "ends_at": terms.get("ends_at"), "at": env.occurred_at})]


def on_subscription_updated(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
    p = env.payload
    customer_id = notice_facts.customer_of(conn, p["subscription_id"])
    if not by_the_shop(env) or customer_id is None:
        return []
    changes, previous = p["changes"], p["previous"]
    variant_ids = [i["variant_id"] for i in [*(changes.get("items") or []), *(previous.get("items") or [])]]
    described = describe_changes(changes, previous, notice_facts.product_names(conn, p["shop_id"], variant_ids),
                                 notice_facts.method_names(conn, p["shop_id"]))
    if not described:
        return []  # estimates only: nothing the customer asked for changed
    return [Notice("subscription_changed", _key(env), p["shop_id"], customer_id, payload={
        "subscription_id": p["subscription_id"], "changes": described, "at": env.occurred_at})]


def _stopped(kind: str) -> Callable[[psycopg.Connection, Envelope], list[Notice]]:
    def notices(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
        p = env.payload
        customer_id = notice_facts.customer_of(conn, p["subscription_id"])
        if not by_the_shop(env) or customer_id is None:
            return []
        return [Notice(kind, _key(env), p["shop_id"], customer_id, payload={
            "subscription_id": p["subscription_id"], "open_orders": p.get("open_orders"),
            "until": p.get("resumes_at"),  # a pause until a date: when it resumes by itself
            "reason": p.get("reason"), "at": env.occurred_at})]

    return notices


def skip_key(env: Envelope) -> str:
    """One shop email per skip, or per holiday: a holiday skips each of its deliveries with an OccurrenceSkipped of
    its own (consecutive versions, the same ``holiday``), and the shop is told once, of the days away."""
    holiday = env.payload.get("holiday")
    if holiday:
        return f"{env.aggregate_id}:holiday:{holiday['first_day']}:{holiday['last_day']}"
    return _key(env)


def on_occurrence_skipped(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
    p = env.payload
    customer_id = notice_facts.customer_of(conn, p["subscription_id"])
    if not by_the_customer(env) or customer_id is None:
        return []
    return [Notice("delivery_skipped_shop", skip_key(env), p["shop_id"], customer_id, payload={
        "subscription_id": p["subscription_id"], "order_cycle_id": p["order_cycle_id"], "reason": p.get("reason"),
        "holiday": p.get("holiday"), "at": env.occurred_at})]


def _consent(kind: str) -> Callable[[psycopg.Connection, Envelope], list[Notice]]:
    def notices(conn: psycopg.Connection, env: Envelope) -> list[Notice]:
        p = env.payload
        consent = p.get("consent")
        if not consent:
            return []  # withdrawn because the card changed or was removed: not the customer's consent
        return [Notice(kind, _key(env), p["shop_id"], p["customer_id"], payload={
            "text": consent["text"], "locale": consent["locale"], "at": consent["at"],
            "email": consent.get("email")})]

    return notices


NOTICES: dict[str, Callable[[psycopg.Connection, Envelope], list[Notice]]] = {
    "OrderCycleClosingSoon": on_cycle_closing_soon,
    "SubscriptionCreated": on_subscription_created,
    "SubscriptionUpdated": on_subscription_updated,
    "SubscriptionPaused": _stopped("subscription_paused"),
    "SubscriptionCancelled": _stopped("subscription_cancelled"),
    "OccurrenceSkipped": on_occurrence_skipped,
    "CustomerChargesAllowed": _consent("charges_allowed"),
    "CustomerChargesRevoked": _consent("charges_withdrawn"),
}


def tell(conn: psycopg.Connection, env: Envelope) -> None:
    """Queue the emails this event calls for (none for most types)."""
    decide = NOTICES.get(env.event_type)
    if decide is not None:
        notifications.queue(conn, decide(conn, env))
