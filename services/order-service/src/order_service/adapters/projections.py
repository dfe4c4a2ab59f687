"""Projectors of the topics order-service reads: facts -> rows, version-guarded, rebuildable.

Each function takes (conn, envelope) and is what both the live consumer and the rebuild apply.
orders.events (our own) is projected by ``order_projection``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from order_service.adapters import order_projection
from servicekit.auth import apply_identity_event
from shared_events import Envelope
from shared_events.setwrite import insert_new_statement, update_statement, upsert_statement, write

Projector = Callable[[psycopg.Connection, Envelope], None]

SHOP_COLUMNS = ("name", "timezone", "currency", "locale", "contact_email", "owner_email", "allow_order_changes",
                "allocation_policy", "late_placement", "invoices_enabled", "attach_invoice_to_email",
                "prices_include_tax", "tax_rates")
CUSTOMER_COLUMNS = ("email", "first_name", "last_name", "locale")
TERM_COLUMNS = ("items", "shipping_method_id", "payment_method_id", "payment_kind", "bill_address", "ship_address",
                "begins_at", "ends_at")
JSON_COLUMNS = {"items", "bill_address", "ship_address", "tax_rates"}


def _value(column: str, value: Any) -> Any:
    return Jsonb(value) if column in JSON_COLUMNS and value is not None else value


def _update(conn: psycopg.Connection, table: str, key: dict[str, Any], values: dict[str, Any], version: int,
            version_column: str = "version") -> int:
    """UPDATE table SET values, version WHERE key AND version < this one; returns rows changed (-1 in a rebuild,
    where it is written set-based: shared_events.setwrite)."""
    row = [*(_value(c, v) for c, v in values.items()), version, *key.values()]
    return write(conn, update_statement(table, (*values, version_column), tuple(key), guard=version_column),
                 [*row, version], row)


# -- shops.events ------------------------------------------------------------------------------------------------


def shop_created(conn: psycopg.Connection, env: Envelope) -> None:
    settings = env.payload["settings"]
    conn.execute("INSERT INTO shops (shop_id, version) VALUES (%s, 0) ON CONFLICT DO NOTHING",
                 [env.payload["shop_id"]])
    shop_updated_with(conn, env.payload["shop_id"], settings, env.aggregate_version)


def shop_updated(conn: psycopg.Connection, env: Envelope) -> None:
    shop_updated_with(conn, env.payload["shop_id"], env.payload["changes"], env.aggregate_version)


def shop_updated_with(conn: psycopg.Connection, shop_id: str, settings: dict[str, Any], version: int) -> None:
    values = {c: settings[c] for c in SHOP_COLUMNS if c in settings and (settings[c] is not None or
                                                                        c == "owner_email")}
    _update(conn, "shops", {"shop_id": shop_id}, values, version)


def method_saved(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    kind = "shipping" if env.event_type == "ShippingMethodSaved" else "payment"
    conn.execute(
        """
        INSERT INTO shop_methods (shop_id, kind, method_id, name, description, fee_flat, fee_percent_bp, active,
                                  pickup, payment_kind, tax_category, removed, version)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s)
        ON CONFLICT (shop_id, kind, method_id) DO UPDATE SET name = EXCLUDED.name,
            description = EXCLUDED.description, fee_flat = EXCLUDED.fee_flat,
            fee_percent_bp = EXCLUDED.fee_percent_bp, active = EXCLUDED.active, pickup = EXCLUDED.pickup,
            payment_kind = EXCLUDED.payment_kind, tax_category = EXCLUDED.tax_category, removed = false,
            version = EXCLUDED.version
        WHERE shop_methods.version < EXCLUDED.version
        """,
        [p["shop_id"], kind, p["method_id"], p["name"], p.get("description"), p["fee_flat"], p["fee_percent_bp"],
         p["active"], p.get("pickup"), p.get("kind"), p.get("tax_category"), env.aggregate_version],
    )


def method_removed(conn: psycopg.Connection, env: Envelope) -> None:
    kind = "shipping" if env.event_type == "ShippingMethodRemoved" else "payment"
    _update(conn, "shop_methods", {"shop_id": env.payload["shop_id"], "kind": kind,
                                   "method_id": env.payload["method_id"]}, {"removed": True}, env.aggregate_version)


# -- customers.events --------------------------------------------------------------------------------------------


def customer_created(conn: psycopg.Connection, env: Envelope) -> None:
    """The row with its details, or (when a later event got here first) the details if this event is newer."""
    p = env.payload
    values = {c: p["details"][c] for c in CUSTOMER_COLUMNS if c in p["details"]}
    write(conn, upsert_statement("customers", ("customer_id", "shop_id", *values, "version"), ("customer_id",),
                                 (*values, "version")),
          [p["customer_id"], p["shop_id"], *(_value(c, v) for c, v in values.items()), env.aggregate_version])


def customer_updated(conn: psycopg.Connection, env: Envelope) -> None:
    _customer_details(conn, env.payload["customer_id"], env.payload["changes"], env.aggregate_version)


def _customer_details(conn: psycopg.Connection, customer_id: str, details: dict[str, Any], version: int) -> None:
    values = {c: details[c] for c in CUSTOMER_COLUMNS if c in details}
    _update(conn, "customers", {"customer_id": customer_id}, values, version)


def customer_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    _update(conn, "customers", {"customer_id": env.payload["customer_id"]}, {"deleted": True}, env.aggregate_version)


# -- subscriptions.events ----------------------------------------------------------------------------------------


_NEW_SUBSCRIPTION = insert_new_statement(
    "subscriptions", ("subscription_id", "shop_id", "customer_id", "schedule_id", "currency", "items",
                      "shipping_method_id", "payment_method_id", "payment_kind", "bill_address", "ship_address",
                      "begins_at", "ends_at", "state", "created_at", "version", "sequence"), ("subscription_id",))


def subscription_created(conn: psycopg.Connection, env: Envelope) -> None:
    p, terms = env.payload, env.payload["terms"]
    write(conn, _NEW_SUBSCRIPTION,
          [p["subscription_id"], p["shop_id"], p["customer_id"], p["schedule_id"], p["currency"],
           Jsonb(terms.get("items") or []), terms.get("shipping_method_id"), terms.get("payment_method_id"),
           terms.get("payment_kind"), Jsonb(terms.get("bill_address")), Jsonb(terms.get("ship_address")),
           terms.get("begins_at"), terms.get("ends_at"), "active", env.occurred_at, env.aggregate_version,
           p.get("sequence")])


def subscription_updated(conn: psycopg.Connection, env: Envelope) -> None:
    changes = env.payload["changes"]
    values = {c: changes[c] for c in TERM_COLUMNS if c in changes}
    _update(conn, "subscriptions", {"subscription_id": env.payload["subscription_id"]}, values,
            env.aggregate_version)


def subscription_state(state: str) -> Projector:
    def apply(conn: psycopg.Connection, env: Envelope) -> None:
        _update(conn, "subscriptions", {"subscription_id": env.payload["subscription_id"]}, {"state": state},
                env.aggregate_version)

    return apply


def occurrence(skipped: bool) -> Projector:
    def apply(conn: psycopg.Connection, env: Envelope) -> None:
        p = env.payload
        conn.execute(
            """
            INSERT INTO occurrences (subscription_id, order_cycle_id, skipped, version) VALUES (%s, %s, %s, %s)
            ON CONFLICT (subscription_id, order_cycle_id) DO UPDATE SET skipped = EXCLUDED.skipped,
                version = EXCLUDED.version WHERE occurrences.version < EXCLUDED.version
            """,
            [p["subscription_id"], p["order_cycle_id"], skipped, env.aggregate_version],
        )

    return apply


# -- schedules.events and scheduler.events: order cycles ---------------------------------------------------------


def cycle_saved(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    conn.execute(
        """
        INSERT INTO order_cycles (order_cycle_id, shop_id, name, opens_at, closes_at, version)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET name = EXCLUDED.name, opens_at = EXCLUDED.opens_at,
            closes_at = EXCLUDED.closes_at, version = EXCLUDED.version
        WHERE order_cycles.version < EXCLUDED.version
        """,
        [p["order_cycle_id"], p["shop_id"], p["name"], p["opens_at"], p["closes_at"], env.aggregate_version],
    )


def cycle_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    _update(conn, "order_cycles", {"order_cycle_id": env.payload["order_cycle_id"]}, {"deleted": True},
            env.aggregate_version)


def cycle_boundary(conn: psycopg.Connection, env: Envelope) -> None:
    """OrderCycleOpened/Closed from the scheduler. Times from schedules.events win when known."""
    p = env.payload
    opened = env.event_type == "OrderCycleOpened"
    conn.execute(
        """
        INSERT INTO order_cycles (order_cycle_id, shop_id, opens_at, closes_at, version, boundary_version)
        VALUES (%s, %s, %s, %s, 0, 0) ON CONFLICT (order_cycle_id) DO NOTHING
        """,
        [p["order_cycle_id"], p["shop_id"], p["opens_at"], p["closes_at"]],
    )
    column = "opened_at" if opened else "closed_at"
    conn.execute(
        sql.SQL("""
        UPDATE order_cycles SET {} = %s, due_count = CASE WHEN %s THEN %s ELSE due_count END,
            missed_count = CASE WHEN %s THEN %s ELSE missed_count END, boundary_version = %s
        WHERE order_cycle_id = %s AND boundary_version < %s
        """).format(sql.Identifier(column)),
        [p["boundary_at"], opened, p.get("due_count"), opened, p.get("missed_count"), env.aggregate_version,
         p["order_cycle_id"], env.aggregate_version],
    )


_MISSED_DUE = insert_new_statement(
    "missed_dues", ("subscription_id", "order_cycle_id", "shop_id", "customer_id", "due_at", "due_reason", "reason",
                    "missed_at", "event_id"), ("subscription_id", "order_cycle_id"))


def due_missed(conn: psycopg.Connection, env: Envelope) -> None:
    """OrderDueMissed: a due the scheduler will never place (processed after its cycle closed, shop while_open)."""
    p = env.payload
    write(conn, _MISSED_DUE, [p["subscription_id"], p["order_cycle_id"], p["shop_id"], p["customer_id"],
                              p["due_at"], p["due_reason"], p["reason"], env.occurred_at, env.event_id])


# -- catalog.events ----------------------------------------------------------------------------------------------


def variant_updated(conn: psycopg.Connection, env: Envelope) -> None:
    """The variant's whole state; ``supplier`` and ``tax_category`` are null when the event does not say (older
    events)."""
    p = env.payload
    conn.execute(
        """
        INSERT INTO catalog_variants (shop_id, variant_id, product_name, variant_name, unit_price, currency,
                                      on_hand, available, supplier, tax_category, deleted, version)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s)
        ON CONFLICT (shop_id, variant_id) DO UPDATE SET product_name = EXCLUDED.product_name,
            variant_name = EXCLUDED.variant_name, unit_price = EXCLUDED.unit_price, currency = EXCLUDED.currency,
            on_hand = EXCLUDED.on_hand, available = EXCLUDED.available, supplier = EXCLUDED.supplier,
            tax_category = EXCLUDED.tax_category, deleted = false, version = EXCLUDED.version
        WHERE catalog_variants.version < EXCLUDED.version
        """,
        [p["shop_id"], p["variant_id"], p["product_name"], p.get("variant_name"), p["unit_price"], p["currency"],
         p.get("on_hand"), p["available"], p.get("supplier"), p.get("tax_category"), env.aggregate_version],
    )


def stock_adjusted(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    conn.execute(
        "UPDATE catalog_variants SET on_hand = on_hand + %s, version = %s "
        "WHERE shop_id = %s AND variant_id = %s AND version < %s",
        [p["delta"], env.aggregate_version, p["shop_id"], p["variant_id"], env.aggregate_version],
    )


def variant_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    _update(conn, "catalog_variants", {"shop_id": env.payload["shop_id"], "variant_id": env.payload["variant_id"]},
            {"deleted": True}, env.aggregate_version)


# -- billing.events: the payment state of each order -------------------------------------------------------------

PAYMENT_STATES = {
    "PaymentPending": "pending",
    "PaymentAttemptStarted": "processing",
    "PaymentSucceeded": "paid",
    "PaymentFailed": "failed",
    "PaymentAuthorizationRequired": "authorization_required",
    "PaymentMarkedPaid": "paid",
}
_PAYMENT_FIELDS = {
    "PaymentPending": ("amount", "currency", "method"),
    "PaymentAttemptStarted": ("attempt", "amount"),
    "PaymentSucceeded": ("attempt", "amount", "currency"),
    "PaymentFailed": ("attempt", "code", "decline_code", "message", "final", "next_attempt_at"),
    "PaymentAuthorizationRequired": ("attempt", "amount", "currency", "authorization_url"),
    "PaymentMarkedPaid": ("amount",),
}
_IDS = ("payment_id", "order_id", "shop_id", "customer_id", "actor", "reason")


_PAYMENT_EVENT = insert_new_statement(
    "payment_events", ("event_id", "order_id", "payment_id", "event_type", "version", "occurred_at", "detail"),
    ("event_id",))
_ORDER_PAYMENT = insert_new_statement(
    "order_payments", ("order_id", "payment_id", "shop_id", "state", "updated_at", "version"), ("order_id",))


def payment_event(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    write(conn, _PAYMENT_EVENT, [env.event_id, p["order_id"], p["payment_id"], env.event_type, env.aggregate_version,
                                 env.occurred_at, Jsonb({k: v for k, v in _jsonable(p).items() if k not in _IDS})])
    write(conn, _ORDER_PAYMENT, [p["order_id"], p["payment_id"], p["shop_id"], "requested", env.occurred_at, 0])
    if env.event_type == "PaymentRefunded":
        conn.execute(
            """
            UPDATE order_payments SET amount_refunded = %s, version = %s, updated_at = %s,
                state = CASE WHEN %s >= coalesce(amount, 0) THEN 'refunded' ELSE 'partially_refunded' END
            WHERE order_id = %s AND version < %s
            """,
            [p["total_refunded"], env.aggregate_version, env.occurred_at, p["total_refunded"], p["order_id"],
             env.aggregate_version],
        )
        return
    values: dict[str, Any] = {"state": PAYMENT_STATES[env.event_type], "payment_id": p["payment_id"],
                              "updated_at": env.occurred_at}
    values.update({f: p.get(f) for f in _PAYMENT_FIELDS[env.event_type]})
    if env.event_type in ("PaymentSucceeded", "PaymentMarkedPaid"):
        values.update(code=None, decline_code=None, message=None, authorization_url=None, next_attempt_at=None)
    _update(conn, "order_payments", {"order_id": p["order_id"]}, values, env.aggregate_version)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in payload.items()}


# -- the whole projector -----------------------------------------------------------------------------------------

PROJECTORS: dict[str, Projector] = {
    "TokenIssued": apply_identity_event,
    "TokenRevoked": apply_identity_event,
    "ShopCreated": shop_created,
    "ShopUpdated": shop_updated,
    "ShippingMethodSaved": method_saved,
    "PaymentMethodSaved": method_saved,
    "ShippingMethodRemoved": method_removed,
    "PaymentMethodRemoved": method_removed,
    "CustomerCreated": customer_created,
    "CustomerUpdated": customer_updated,
    "CustomerDeleted": customer_deleted,
    "SubscriptionCreated": subscription_created,
    "SubscriptionUpdated": subscription_updated,
    "SubscriptionPaused": subscription_state("paused"),
    "SubscriptionUnpaused": subscription_state("active"),
    "SubscriptionCancelled": subscription_state("cancelled"),
    "OccurrenceSkipped": occurrence(True),
    "OccurrenceResumed": occurrence(False),
    "OrderCycleCreated": cycle_saved,
    "OrderCycleMoved": cycle_saved,
    "OrderCycleDeleted": cycle_deleted,
    "OrderCycleOpened": cycle_boundary,
    "OrderCycleClosed": cycle_boundary,
    "OrderDueMissed": due_missed,
    "VariantUpdated": variant_updated,
    "StockAdjusted": stock_adjusted,
    "VariantDeleted": variant_deleted,
    **{t: payment_event for t in (*PAYMENT_STATES, "PaymentRefunded")},
    **order_projection.PROJECTORS,
}

PROJECTION_TABLES = ["api_tokens", "shops", "shop_methods", "customers", "subscriptions", "occurrences",
                     "order_cycles", "catalog_variants", "orders", "order_lines", "order_update_issues",
                     "order_payments", "payment_events", "missed_dues", "invoice_sequences"]


def project(conn: psycopg.Connection, env: Envelope) -> None:
    """Apply one event to the projections (types order-service does not project are ignored)."""
    fn = PROJECTORS.get(env.event_type)
    if fn is not None:
        fn(conn, env)
