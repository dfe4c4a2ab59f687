"""Subscriptions, their occurrences and their history, as the API shows them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.queries import PageRequest, Query, Sort, fetch_page, like_pattern
from subscription_service.adapters.views.common import local, row, rows
from subscription_service.domain import occurrences as occ
from subscription_service.domain.shops import Shop
from subscription_service.domain.subscriptions import Subscription, state
from subscription_service.domain.terms import Terms
from subscription_service.domain.validation import Context, Variant, current_estimate, warnings

SUBSCRIPTION_SORTS = {"created_at": Sort("created_at", "s.created_at"), "begins_at": Sort("begins_at", "s.begins_at"),
                      "customer_email": Sort("customer_email", "lower(c.email)", "text")}
STATE_SQL = ("CASE WHEN s.cancelled_at IS NOT NULL THEN 'cancelled' WHEN s.paused_at IS NOT NULL THEN 'paused' "
             "WHEN s.begins_at > %(now)s THEN 'pending' WHEN s.ends_at < %(now)s THEN 'ended' ELSE 'active' END")
JOINED = ("SELECT s.*, c.email AS customer_email, c.first_name AS customer_first_name, "
          "c.last_name AS customer_last_name, sc.name AS schedule_name, {sort} AS _sort, "
          "s.subscription_id AS _id{more} FROM subscriptions s JOIN customers c ON c.customer_id = s.customer_id "
          "JOIN schedules sc ON sc.schedule_id = s.schedule_id")

ONE_SQL = JOINED.format(  # one subscription with its skipped cycles: one round trip  # noqa: S608 - fragments are constants of this module
    sort="s.created_at", more=", ARRAY(SELECT k.order_cycle_id FROM occurrence_skips k "
                              "WHERE k.subscription_id = s.subscription_id AND k.skipped) AS skipped_ids") \
    + " WHERE s.subscription_id = %s AND s.shop_id = %s"


def _item(item: dict[str, Any], v: Variant | None) -> dict[str, Any]:
    price = item["price_estimate"]
    return {**item, "name": v.name if v else None, "available": bool(v and v.available and not v.deleted),
            "total_estimate": price * item["quantity"] if price is not None else None}


def _with_substitutes(item: dict[str, Any], variants: dict[str, Variant]) -> dict[str, Any]:
    return {**item, "substitute_names": [v.name if (v := variants.get(s)) else None for s in item["substitutes"]]}


def priced(t: Terms, variants: dict[str, Variant]) -> dict[str, Any]:
    """Terms already estimated (``current_estimate``): their items with names and line totals, and the estimate.
    One shape for a saved subscription and for a draft's live estimate, so the two always agree."""
    return {"items": [_with_substitutes(_item(i.data(), variants.get(i.variant_id)), variants) for i in t.items],
            "estimate": {"item_total": t.item_total(), "shipping_fee": t.shipping_fee_estimate,
                         "payment_fee": t.payment_fee_estimate, "shipping_tax": t.shipping_tax_estimate,
                         "payment_tax": t.payment_tax_estimate, "tax_total": t.tax_estimate,
                         "total": t.estimated_total()}}


def draft_estimate(shop: Shop, variants: dict[str, Variant], terms: Terms) -> dict[str, Any]:
    """What a subscription with these items and methods would cost per order if saved now (a form's live
    estimate): the same rule and shape as a saved subscription's ``items`` and ``estimate``."""
    return {"currency": shop.currency, **priced(current_estimate(shop, variants, terms), variants)}


def subscription_from(r: dict[str, Any], sub: Subscription, variants: dict[str, Variant], shop: Shop | None,
                      now: datetime) -> dict[str, Any]:
    """The view of one subscription; its estimates are taken now, from the catalog and the shop's fees as they are
    (domain.validation.current_estimate), not as they were when it was saved."""
    t = current_estimate(shop, variants, sub.terms) if shop is not None else sub.terms
    tz = shop.timezone if shop is not None else "UTC"
    shown = priced(t, variants)
    return {
        "id": sub.subscription_id, "shop_id": sub.shop_id, "customer_id": sub.customer_id,
        "customer": {"id": sub.customer_id, "email": r["customer_email"], "first_name": r["customer_first_name"],
                     "last_name": r["customer_last_name"]},
        "schedule_id": sub.schedule_id, "schedule_name": r["schedule_name"], "state": state(sub, now),
        "currency": sub.currency, "items": shown["items"],
        "shipping_method_id": t.shipping_method_id, "payment_method_id": t.payment_method_id,
        "payment_kind": t.payment_kind, "bill_address": t.bill_address, "ship_address": t.ship_address,
        "begins_at": t.begins_at, "ends_at": t.ends_at, "begins_at_local": local(t.begins_at, tz),
        "ends_at_local": local(t.ends_at, tz), "paused_at": sub.paused_at,
        "paused_until": sub.paused_until,
        "resumes_on": sub.paused_until.astimezone(ZoneInfo(tz)).date() if sub.paused_until else None,
        "cancelled_at": sub.cancelled_at,
        "estimate": shown["estimate"],
        "skipped_order_cycle_ids": sorted(sub.skipped), "created_at": r["created_at"],
        "updated_at": r["updated_at"], "version": sub.version}


def subscription(conn: psycopg.Connection, shop_id: str, subscription_id: str, now: datetime,
                 with_warnings: bool = True, *, shop: Shop | None = None,
                 variants: dict[str, Variant] | None = None) -> dict[str, Any] | None:
    """The API's view of a subscription. A caller that has just read the shop, or the variants of the
    subscription's items, in this transaction passes them in and saves reading them again."""
    found = row(conn, ONE_SQL, [subscription_id, shop_id])
    if found is None:
        return None
    sub = repo.subscription_from_row(found, found["skipped_ids"])
    wanted = [v for i in sub.terms.items for v in (i.variant_id, *i.substitutes)]
    if variants is None or not set(wanted) <= set(variants):
        variants = repo.variants(conn, shop_id, wanted)
    warned = with_warnings and sub.cancelled_at is None
    if shop is None:
        shop = repo.shop(conn, shop_id)  # its methods' fees, its time zone, the warnings' settings
    out = subscription_from(found, sub, variants, shop, now)
    if with_warnings:
        out["warnings"] = subscription_warnings(conn, sub, variants, now, shop) if warned else []
    return out


def subscription_warnings(conn: psycopg.Connection, sub: Subscription, variants: dict[str, Variant],
                          now: datetime, shop: Shop | None) -> list[str]:
    """What the rules would warn about if the subscription were saved now (none once it is cancelled, or when its
    shop is gone)."""
    if sub.cancelled_at is not None:
        return []
    schedule = repo.schedule(conn, sub.shop_id, sub.schedule_id)
    if shop is None or schedule is None:
        return []
    cycles = tuple(repo.order_cycles(conn, sub.shop_id, schedule.order_cycle_ids).values())
    return warnings(Context(shop, None, schedule, cycles, variants, now), sub.draft())


def list_subscriptions(conn: psycopg.Connection, shop_id: str, page: PageRequest, now: datetime, *,
                       states: list[str] | None = None, customer_id: str | None = None,
                       schedule_id: str | None = None, q: str | None = None) -> tuple[list, Any]:
    sort = SUBSCRIPTION_SORTS[page.sort]
    query = Query(JOINED.format(sort=sort.expr, more=""), "s.subscription_id")
    query.filter("s.shop_id = %s", shop_id)
    state_sql = STATE_SQL.replace("%(now)s", "%s")
    if states:
        query.filter(f"({state_sql}) = ANY(%s)", now, now, list(states))
    else:  # as in the reference, cancelled subscriptions are listed only when asked for
        query.filter("s.cancelled_at IS NULL")
    if customer_id is not None:
        query.filter("s.customer_id = %s", customer_id)
    if schedule_id is not None:
        query.filter("s.schedule_id = %s", schedule_id)
    if q:
        pattern = like_pattern(q)
        query.filter("(c.email ILIKE %s OR (c.first_name || ' ' || c.last_name) ILIKE %s)", pattern, pattern)
    found, cursor = fetch_page(conn, query, SUBSCRIPTION_SORTS, page)
    ids = [r["subscription_id"] for r in found]
    skipped = repo.skipped_cycles(conn, ids)
    variant_ids = {v for r in found for i in r["items"] for v in (i["variant_id"], *(i.get("substitutes") or ()))}
    variants = repo.variants(conn, shop_id, variant_ids)
    shop = repo.shop(conn, shop_id)
    return [subscription_from(r, repo.subscription_from_row(r, skipped.get(r["subscription_id"], ())), variants, shop,
                              now) for r in found], cursor


# -- occurrences ------------------------------------------------------------------------------------------------


def occurrences_of(conn: psycopg.Connection, sub: Subscription, now: datetime,
                   shop: Shop | None = None) -> list[occ.Occurrence]:
    """The subscription's occurrences; with ``shop``, those without an order show the estimate of an order
    placed now (the catalog's prices and the shop's fees as they are), else the one taken when it was saved."""
    if shop is not None:
        variants = repo.variants(conn, sub.shop_id, [i.variant_id for i in sub.terms.items])
        sub = replace(sub, terms=current_estimate(shop, variants, sub.terms))
    schedule = repo.schedule(conn, sub.shop_id, sub.schedule_id)
    schedule_cycles = repo.order_cycles(conn, sub.shop_id, schedule.order_cycle_ids if schedule else ())
    orders, payments, dues, missed = repo.occurrence_facts(conn, sub.subscription_id)
    extra_ids = (set(orders) | dues | set(missed)) - set(schedule_cycles)
    extra = repo.order_cycles(conn, sub.shop_id, extra_ids, include_deleted=True).values() if extra_ids else []
    cycles = occ.occurrence_cycles(sub, schedule_cycles.values(), extra)
    return occ.build(sub, cycles, orders, payments, dues, now, missed)


def occurrence_view(o: occ.Occurrence, tz: str, now: datetime) -> dict[str, Any]:
    c = o.cycle
    order = None
    if o.order is not None:
        order = {"id": o.order.order_id, "number": o.order.number, "status": o.order.status,
                 "totals": o.order.totals, "cancel_cause": o.order.cancel_cause,
                 "update_issues": list(o.order.update_issues)}
    payment = None
    if o.payment is not None:
        p = o.payment
        payment = {"id": p.payment_id, "status": p.status, "amount": p.amount, "message": p.message,
                   "authorization_url": p.authorization_url, "final": p.final}
    missed = None
    if o.missed is not None:
        missed = {"reason": o.missed.reason, "due_reason": o.missed.due_reason, "due_at": o.missed.due_at}
    return {"order_cycle_id": c.order_cycle_id, "order_cycle_name": c.name, "opens_at": c.opens_at,
            "closes_at": c.closes_at, "opens_at_local": local(c.opens_at, tz),
            "closes_at_local": local(c.closes_at, tz),
            "cycle_status": c.status(now), "state": o.state, "skipped": o.skipped, "in_range": o.in_range,
            "total": o.total, "total_is_estimate": o.total_is_estimate, "can_skip": o.can_skip,
            "can_resume": o.can_resume, "order": order, "payment": payment,
            "missed": missed}


def list_occurrences(conn: psycopg.Connection, sub: Subscription, now: datetime, *, states: list[str] | None,
                     closes_after: datetime | None, limit: int, cursor: list[Any] | None) -> tuple[list, Any]:
    """In close-time order; the cursor is (closes_at, order cycle id) of the last one shown."""
    shop = repo.shop(conn, sub.shop_id)
    found = occurrences_of(conn, sub, now, shop)
    if states:
        found = [o for o in found if o.state in states]
    if closes_after is not None:
        found = [o for o in found if o.cycle.closes_at >= closes_after]
    if cursor is not None:
        at, cid = cursor
        found = [o for o in found if (o.cycle.closes_at, o.cycle.order_cycle_id) > (at, cid)]
    tz = shop.timezone if shop is not None else "UTC"
    page = found[:limit]
    nxt = None
    if len(found) > limit:
        last = page[-1].cycle
        nxt = [last.closes_at, last.order_cycle_id]
    return [occurrence_view(o, tz, now) for o in page], nxt


# -- history -------------------------------------------------------------------------------------------------------

ID_FIELDS = ("subscription_id", "shop_id", "actor", "reason")


def history(conn: psycopg.Connection, subscription_id: str, limit: int, after_version: int, *,
            names: bool = False) -> tuple[list, Any]:
    """The subscription's own events (who, when, what, why), oldest first. With ``names`` (a manager of the shop
    reads it), each entry also says who in words a person knows (``who``): the customer's name and email for
    their own changes, the credential's label for a manager's; null for the platform's own (a pause ending)."""
    found = rows(conn, "SELECT aggregate_version, event_type, occurred_at, body FROM event_store "
                       "WHERE topic = 'subscriptions.events' AND aggregate_id = %s AND aggregate_version > %s "
                       "ORDER BY aggregate_version LIMIT %s", [subscription_id, after_version, limit + 1])
    out = []
    for r in found[:limit]:
        payload = json.loads(bytes(r["body"]))["payload"]
        out.append({"version": r["aggregate_version"], "event_type": r["event_type"], "occurred_at": r["occurred_at"],
                    "actor": payload.get("actor"), "reason": payload.get("reason"),
                    "data": {k: v for k, v in payload.items() if k not in ID_FIELDS}})
    known = actors(conn, {str(e["actor"]["id"]) for e in out if (e["actor"] or {}).get("id")}) if names else {}
    for e in out:
        e["who"] = known.get(str((e["actor"] or {}).get("id")))
    nxt = [out[-1]["version"]] if len(found) > limit else None
    return out, nxt


def actors(conn: psycopg.Connection, token_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Who acted with each credential, in words: a customer's name and email; a session opened with an emailed
    link, that address; else the credential's label (a token the admin issued names its holder there)."""
    if not token_ids:
        return {}
    found = rows(conn, "SELECT t.token_id::text AS id, t.label, c.first_name, c.last_name, c.email, "
                       "(SELECT l.email FROM sign_in_links l WHERE l.session_token_id = t.token_id LIMIT 1) AS link "
                       "FROM api_tokens t LEFT JOIN customers c ON c.customer_id = t.customer_id "
                       "WHERE t.token_id::text = ANY(%s)", [sorted(token_ids)])
    out = {}
    for r in found:
        if r["email"] is not None:
            out[r["id"]] = {"name": f"{r['first_name']} {r['last_name']}".strip(), "email": r["email"]}
        elif r["link"] is not None:
            out[r["id"]] = {"name": None, "email": r["link"]}
        else:
            out[r["id"]] = {"name": r["label"], "email": None}
    return out
