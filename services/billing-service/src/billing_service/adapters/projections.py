"""Projectors: events -> rows, version-guarded, deterministic (a replay or a rebuild gives the same rows).

Context from other services (shops, customers, orders) and billing's own Payment events. The write path of
billing applies its own events with ``apply_billing`` in the same transaction that stores them in the outbox;
the rebuild replays every topic through ``project``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from servicekit.auth import apply_identity_event
from shared_events import Envelope
from shared_events.setwrite import insert_new_statement, upsert_statement, write

PROJECTION_TABLES = ["api_tokens", "shops", "customers", "orders", "payments", "payment_attempts", "refunds"]

Projector = Callable[[psycopg.Connection, Envelope], None]


def _upsert(conn: psycopg.Connection, table: str, key: dict[str, Any], values: dict[str, Any],
            insert_only: dict[str, Any], version: int) -> None:
    """Insert the row or update ``values`` on it, only if this event is newer than what the row reflects.
    Set-based in a rebuild (shared_events.setwrite)."""
    write(conn, upsert_statement(table, (*key, *values, *insert_only, "version"), tuple(key), (*values, "version")),
          [*key.values(), *values.values(), *insert_only.values(), version])


# -- shops.events --------------------------------------------------------------------------------------------------


def _shop_columns(settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("name", "currency", "timezone", "stripe_account_id"):
        if field in settings:
            out[field] = settings[field]
    if "payment_retry" in settings:
        policy = settings["payment_retry"] or {}
        out["retry_delays_hours"] = list(policy.get("delays_hours") or []) if policy else None
        out["retry_max_attempts"] = policy.get("max_attempts") if policy else None
    return out


def project_shop(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    settings = p["settings"] if env.event_type == "ShopCreated" else p["changes"]
    _upsert(conn, "shops", {"shop_id": p["shop_id"]}, _shop_columns(settings), {}, env.aggregate_version)


def project_shop_version(conn: psycopg.Connection, env: Envelope) -> None:
    """Other Shop events (methods) only move the version on."""
    conn.execute("UPDATE shops SET version = %s WHERE shop_id = %s AND version < %s",
                 [env.aggregate_version, env.payload["shop_id"], env.aggregate_version])


# -- customers.events ------------------------------------------------------------------------------------------


def project_customer(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    t = env.event_type
    values: dict[str, Any] = {}
    if t == "CustomerCreated":
        values = {"email": p["details"].get("email"), "deleted": False}
    elif t == "CustomerUpdated":
        if "email" in p["changes"]:
            values = {"email": p["changes"]["email"]}
    elif t == "CustomerCardSet":
        values = {"stripe_customer_id": p["stripe_customer_id"], "payment_method_id": p["payment_method_id"],
                  "card_brand": p.get("card_brand"), "card_last4": p.get("card_last4")}
    elif t == "CustomerCardRemoved":
        values = {"payment_method_id": None, "charges_allowed": False, "allowed_payment_method_id": None,
                  "card_brand": None, "card_last4": None}
    elif t == "CustomerChargesAllowed":
        values = {"charges_allowed": True, "allowed_payment_method_id": p["payment_method_id"]}
    elif t == "CustomerChargesRevoked":
        values = {"charges_allowed": False, "allowed_payment_method_id": None}
    elif t == "CustomerDeleted":
        values = {"deleted": True, "charges_allowed": False}
    _upsert(conn, "customers", {"customer_id": p["customer_id"]}, values, {"shop_id": p["shop_id"]},
            env.aggregate_version)


# -- orders.events -----------------------------------------------------------------------------------------------


def project_order(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    t = env.event_type
    values: dict[str, Any] = {}
    status = "placed"
    if t == "OrderPlaced":
        values = {"number": p["number"], "status": p["status"], "currency": p["currency"],
                  "total": p["totals"]["total"], "payment_kind": p["payment_kind"]}
    elif t == "OrderConfirmed":
        values = {"number": p["number"], "status": "confirmed", "currency": p["currency"],
                  "total": p["totals"]["total"], "payment_kind": p["payment_kind"]}
    elif t == "PaymentRequested":
        status = "confirmed"
        values = {"number": p["number"], "currency": p["currency"], "payment_kind": p["payment_kind"]}
    elif t == "OrderCancelled":
        values = {"status": "cancelled"}
    elif t == "OrderResumed":
        values = {"status": "placed", "total": p["totals"]["total"]}
    elif t == "OrderLineWithdrawn":  # a product gone from the catalog: the total without it, empty when nothing left
        values = {"status": p["status"], "total": p["totals"]["total"]}
    elif "totals" in p:  # line and detail changes
        values = {"total": p["totals"]["total"]}
        if p.get("payment_kind"):
            values["payment_kind"] = p["payment_kind"]
    insert_only = {k: p[k] for k in ("shop_id", "customer_id", "subscription_id", "order_cycle_id")}
    if "status" not in values:
        insert_only["status"] = status
    _upsert(conn, "orders", {"order_id": p["order_id"]}, values, insert_only, env.aggregate_version)


# -- billing.events ----------------------------------------------------------------------------------------------


def _payment_update(conn: psycopg.Connection, env: Envelope, sets: dict[str, Any],
                    raw: dict[str, str] | None = None) -> bool:
    """Update the payment if this event is newer than its row. ``raw``: column -> SQL expression."""
    assignments = [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder()) for c in sets]
    assignments += [sql.SQL("{} = ").format(sql.Identifier(c)) + sql.SQL(expr) for c, expr in (raw or {}).items()]  # type: ignore[arg-type]
    query = sql.SQL("UPDATE payments SET {a}, updated_at = %s, version = %s WHERE payment_id = %s AND version < %s")
    cur = conn.execute(query.format(a=sql.SQL(", ").join(assignments)),
                       [*sets.values(), env.occurred_at, env.aggregate_version, env.payload["payment_id"],
                        env.aggregate_version])
    return cur.rowcount == 1


_CLEAR_FAILURE = {"failure_code": None, "decline_code": None, "failure_message": None, "retryable": None,
                  "final": None, "next_attempt_at": None, "authorization_url": None}


def _close_open_attempts(conn: psycopg.Connection, env: Envelope, except_attempt: int | None) -> None:
    conn.execute("UPDATE payment_attempts SET status = 'canceled', finished_at = %s "
                 "WHERE payment_id = %s AND status IN ('started', 'requires_action') AND attempt IS DISTINCT FROM %s",
                 [env.occurred_at, env.payload["payment_id"], except_attempt])


# a second payment of the same order stays an error (payments_one_per_order), as before
_NEW_PAYMENT = insert_new_statement(
    "payments", ("payment_id", "order_id", "shop_id", "customer_id", "order_number", "method", "amount", "currency",
                 "status", "created_at", "updated_at", "version"), ("payment_id",), key_only=True)


def apply_billing(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    t = env.event_type
    if t == "PaymentPending":
        write(conn, _NEW_PAYMENT, [p["payment_id"], p["order_id"], p["shop_id"], p["customer_id"],
                                   p.get("order_number"), p["method"], p["amount"], p["currency"], "pending",
                                   env.occurred_at, env.occurred_at, env.aggregate_version])
    elif t == "PaymentAttemptStarted":
        if _payment_update(conn, env, {"status": "processing", "attempts": p["attempt"], **_CLEAR_FAILURE}):
            conn.execute(
                "INSERT INTO payment_attempts (payment_id, order_id, attempt, idempotency_key, amount, status, "
                "started_by, started_at) VALUES (%s, %s, %s, %s, %s, 'started', %s, %s)",
                [p["payment_id"], p["order_id"], p["attempt"], p["idempotency_key"], p["amount"],
                 (p.get("actor") or {}).get("type", "system"), env.occurred_at])
    elif t == "PaymentSucceeded":
        if _payment_update(conn, env, {"status": "succeeded", "collected_amount": p["amount"], "collected_by": "stripe",
                                       "stripe_payment_intent_id": p.get("stripe_payment_intent_id"),
                                       "stripe_charge_id": p.get("stripe_charge_id"), "paid_at": env.occurred_at,
                                       "card_brand": p.get("card_brand"), "card_last4": p.get("card_last4"),
                                       **_CLEAR_FAILURE}):
            conn.execute(
                "UPDATE payment_attempts SET status = 'succeeded', stripe_payment_intent_id = %s, "
                "stripe_charge_id = %s, code = NULL, decline_code = NULL, message = NULL, finished_at = %s "
                "WHERE payment_id = %s AND attempt = %s",
                [p.get("stripe_payment_intent_id"), p.get("stripe_charge_id"), env.occurred_at, p["payment_id"],
                 p["attempt"]])
            _close_open_attempts(conn, env, p["attempt"])
    elif t == "PaymentFailed":
        sets = {"status": "failed", "failure_code": p["code"], "decline_code": p.get("decline_code"),
                "failure_message": p["message"], "retryable": p["retryable"], "final": p["final"],
                "next_attempt_at": p.get("next_attempt_at"), "authorization_url": None}
        raw = {"attempts": f"GREATEST(attempts, {int(p['attempt'])})"}
        if p.get("stripe_payment_intent_id"):
            sets["stripe_payment_intent_id"] = p["stripe_payment_intent_id"]
        if _payment_update(conn, env, sets, raw):
            conn.execute(
                "UPDATE payment_attempts SET status = 'failed', code = %s, decline_code = %s, message = %s, "
                "stripe_payment_intent_id = COALESCE(%s, stripe_payment_intent_id), finished_at = %s "
                "WHERE payment_id = %s AND attempt = %s",
                [p["code"], p.get("decline_code"), p["message"], p.get("stripe_payment_intent_id"), env.occurred_at,
                 p["payment_id"], p["attempt"]])
    elif t == "PaymentAuthorizationRequired":
        if _payment_update(conn, env, {"status": "requires_action",
                                       "stripe_payment_intent_id": p["stripe_payment_intent_id"],
                                       "authorization_url": p["authorization_url"]}):
            conn.execute(
                "UPDATE payment_attempts SET status = 'requires_action', stripe_payment_intent_id = %s "
                "WHERE payment_id = %s AND attempt = %s",
                [p["stripe_payment_intent_id"], p["payment_id"], p["attempt"]])
    elif t == "PaymentMarkedPaid":
        if _payment_update(conn, env, {"status": "paid", "collected_amount": p["amount"], "collected_by": "manual",
                                       "paid_note": p.get("note"), "paid_at": env.occurred_at, **_CLEAR_FAILURE}):
            _close_open_attempts(conn, env, None)
    elif t == "PaymentRefunded":
        raw = {"status": "CASE WHEN " + str(int(p["total_refunded"])) + " >= collected_amount "
                         "THEN 'refunded' ELSE status END"}
        if _payment_update(conn, env, {"amount_refunded": p["total_refunded"]}, raw):
            actor = p.get("actor") or {}
            conn.execute(
                "INSERT INTO refunds (refund_id, payment_id, amount, total_refunded, currency, stripe_refund_id, "
                "actor_type, actor_id, reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [p["refund_id"], p["payment_id"], p["amount"], p["total_refunded"], p["currency"],
                 p.get("stripe_refund_id"), actor.get("type"), actor.get("id"), p.get("reason"), env.occurred_at])


# PaymentAttemptStarted for many payments at once, in a replay: one UPDATE of the payments and one INSERT of the
# attempts per run, where apply_billing takes two statements per event (one by one, a replay spent a large share
# of its time on them, waiting on PostgreSQL). Same effect as apply_billing on each in turn: a
# payment named twice starts a new sub-run, so each statement touches a payment at most once, in event order.
_STARTED_MANY = sql.SQL(
    "UPDATE payments AS p SET status = 'processing', attempts = s.attempt, {clear}, updated_at = s.at, "
    "version = s.version FROM unnest(%s::text[], %s::integer[], %s::timestamptz[], %s::integer[]) "
    "AS s(payment_id, attempt, at, version) WHERE p.payment_id = s.payment_id AND p.version < s.version "
    "RETURNING p.payment_id").format(
        clear=sql.SQL(", ").join(sql.SQL("{} = NULL").format(sql.Identifier(c)) for c in _CLEAR_FAILURE))
_ATTEMPTS_MANY = (
    "INSERT INTO payment_attempts (payment_id, order_id, attempt, idempotency_key, amount, status, started_by, "
    "started_at) SELECT payment_id, order_id, attempt, idempotency_key, amount, 'started', started_by, started_at "
    "FROM unnest(%s::text[], %s::text[], %s::integer[], %s::text[], %s::integer[], %s::text[], %s::timestamptz[]) "
    "AS a(payment_id, order_id, attempt, idempotency_key, amount, started_by, started_at)")


def attempts_started(conn: psycopg.Connection, envs: Sequence[Envelope]) -> None:
    """``apply_billing`` of a run of PaymentAttemptStarted events, set-based (for ``rebuild(bulk=)``)."""
    run: list[Envelope] = []
    named: set[str] = set()
    for env in envs:
        if env.payload["payment_id"] in named:
            _attempts_started(conn, run)
            run, named = [], set()
        run.append(env)
        named.add(env.payload["payment_id"])
    if run:
        _attempts_started(conn, run)


def _attempts_started(conn: psycopg.Connection, run: list[Envelope]) -> None:
    ps = [e.payload for e in run]
    updated = {r[0] for r in conn.execute(_STARTED_MANY, [
        [p["payment_id"] for p in ps], [p["attempt"] for p in ps], [e.occurred_at for e in run],
        [e.aggregate_version for e in run]]).fetchall()}
    started = [e for e in run if e.payload["payment_id"] in updated]
    if not started:
        return
    ps = [e.payload for e in started]
    conn.execute(_ATTEMPTS_MANY, [
        [p["payment_id"] for p in ps], [p["order_id"] for p in ps], [p["attempt"] for p in ps],
        [p["idempotency_key"] for p in ps], [p["amount"] for p in ps],
        [(p.get("actor") or {}).get("type", "system") for p in ps], [e.occurred_at for e in started]])


_SHOP_TYPES = {"ShopCreated", "ShopUpdated"}
_SHOP_OTHER = {"ShippingMethodSaved", "ShippingMethodRemoved", "PaymentMethodSaved", "PaymentMethodRemoved",
               "ShopManagerAdded", "ShopManagerRemoved"}
_CUSTOMER_TYPES = {"CustomerCreated", "CustomerUpdated", "CustomerCardSet", "CustomerCardRemoved",
                   "CustomerChargesAllowed", "CustomerChargesRevoked", "CustomerDeleted"}
_ORDER_TYPES = {"OrderPlaced", "OrderLineChanged", "OrderLineAdded", "OrderLineRemoved", "OrderLineWithdrawn",
                "OrderDetailsChanged", "OrderCancelled", "OrderResumed", "OrderConfirmed", "PaymentRequested"}
# what other services tell us; their projectors never decide on a statement's rowcount (a rebuild pipelines them)
CONTEXT_TYPES = frozenset({"TokenIssued", "TokenRevoked", *_SHOP_TYPES, *_SHOP_OTHER, *_CUSTOMER_TYPES,
                           *_ORDER_TYPES})
_BILLING_TYPES = {"PaymentPending", "PaymentAttemptStarted", "PaymentSucceeded", "PaymentFailed",
                  "PaymentAuthorizationRequired", "PaymentMarkedPaid", "PaymentRefunded"}
PROJECTED_TYPES = CONTEXT_TYPES | _BILLING_TYPES  # what ``project`` applies (a replay skips the other types)


def project(conn: psycopg.Connection, env: Envelope) -> None:
    """Every projector of billing-service, by event type (what the rebuild replays)."""
    t = env.event_type
    if t in ("TokenIssued", "TokenRevoked"):
        apply_identity_event(conn, env)
    elif t in _SHOP_TYPES:
        project_shop(conn, env)
    elif t in _SHOP_OTHER:
        project_shop_version(conn, env)
    elif t in _CUSTOMER_TYPES:
        project_customer(conn, env)
    elif t in _ORDER_TYPES:
        project_order(conn, env)
    elif t in _BILLING_TYPES:
        apply_billing(conn, env)
