"""Projector of orders.events (our own events) into orders, order_lines and order_update_issues.

The write path applies the events it records with these same functions, and the rebuild replays
them from Kafka. Every change is guarded by the order's version (``version < this event's``), so a
replay or a duplicate is harmless. The stock each event allocates or releases (``stock_delta``)
is taken from (or given back to) ``catalog_variants.on_hand`` at the same time.

OrderPlaced and OrderConfirmed are applied set-based (one statement for a whole placement or
confirmation run); a single event is a run of one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from order_service.adapters import bulk
from order_service.adapters.db import one_row
from order_service.domain.model import TOTAL_KEYS
from shared_events import Envelope

ORDER_COLUMNS = ("order_id", "number", "shop_id", "subscription_id", "order_cycle_id", "customer_id", "status",
                 "currency", "item_total", "shipping_fee", "payment_fee", "total", "shipping_method_id",
                 "payment_method_id", "payment_kind", "bill_address", "ship_address", "opens_at", "closes_at", "late",
                 "allocation_policy", "placed_at", "version", "updated_at", "prices_include_tax", "tax_rates",
                 "tax_total", "shipping_tax", "payment_tax")
LINE_COLUMNS = ("order_id", "line_id", "position", "variant_id", "name", "unit_price", "requested_quantity",
                "quantity", "total", "edited_by", "substitute_for", "tax", "tax_category", "tax_rate_bp")
TOTAL_COLUMNS = TOTAL_KEYS


def _totals(totals: Mapping[str, Any]) -> list[Any]:
    """The order's total columns from an event's totals (the tax ones 0 in events from before tax)."""
    return [totals.get(k, 0) for k in TOTAL_COLUMNS]


def apply_placed(conn: psycopg.Connection, envs: Sequence[Envelope]) -> list[str]:
    """Insert placed orders and their lines; returns the ids of orders that were new."""
    if not envs:
        return []
    rows = []
    for env in envs:
        p, t = env.payload, env.payload["totals"]
        rows.append((p["order_id"], p["number"], p["shop_id"], p["subscription_id"], p["order_cycle_id"],
                     p["customer_id"], p["status"], p["currency"], t["item_total"], t["shipping_fee"],
                     t["payment_fee"], t["total"], p["shipping_method_id"], p["payment_method_id"], p["payment_kind"],
                     Jsonb(p["bill_address"]), Jsonb(p["ship_address"]), p["opens_at"], p["closes_at"], p["late"],
                     p["allocation_policy"], env.occurred_at, env.aggregate_version, env.occurred_at,
                     p.get("prices_include_tax", False), Jsonb(p.get("tax_rates") or []), t.get("tax_total", 0),
                     t.get("shipping_tax", 0), t.get("payment_tax", 0)))
    columns = ", ".join(ORDER_COLUMNS)
    inserted = {r["order_id"] for r in bulk.staged(
        conn, "placed_orders", "orders", ORDER_COLUMNS, rows,
        f"INSERT INTO orders ({columns}) SELECT {columns} FROM {{staged}} ON CONFLICT DO NOTHING RETURNING order_id")}  # noqa: S608 - column lists and SET clauses are constants of this module
    new = [env for env in envs if env.payload["order_id"] in inserted]
    _insert_lines(conn, [(env.payload["order_id"], line, None) for env in new for line in env.payload["lines"]])
    _take_stock(conn, [(env.payload["shop_id"], d) for env in new for d in env.payload["stock_delta"]])
    return [env.payload["order_id"] for env in new]


def _insert_lines(conn: psycopg.Connection, lines: Sequence[tuple[str, dict[str, Any], str | None]]) -> None:
    if not lines:
        return
    positions: dict[str, int] = {}
    rows = []
    for order_id, line, edited_by in lines:
        positions[order_id] = positions.get(order_id, 0) + 1
        rows.append(_line_row(order_id, line, positions[order_id], edited_by))
    columns = ", ".join(LINE_COLUMNS)
    bulk.staged(conn, "order_lines", "order_lines", LINE_COLUMNS, rows,
                f"INSERT INTO order_lines ({columns}) SELECT {columns} FROM {{staged}} ON CONFLICT DO NOTHING")  # noqa: S608 - column lists and SET clauses are constants of this module


def _line_row(order_id: str, line: dict[str, Any], position: int, edited_by: str | None) -> tuple[Any, ...]:
    """A line of an event as a row of LINE_COLUMNS (untaxed in events from before tax)."""
    return (order_id, line["line_id"], position, line["variant_id"], line["name"], line["unit_price"],
            line["requested_quantity"], line["quantity"], line["total"], edited_by,
            _json_or_none(line.get("substitute_for")), line.get("tax", 0), line.get("tax_category"),
            line.get("tax_rate_bp", 0))


def _append_lines(conn: psycopg.Connection, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Lines joining orders that have some (after those, in the order given), set-based."""
    if not lines:
        return
    positions: dict[str, int] = {}
    rows = []
    for order_id, line in lines:
        positions[order_id] = positions.get(order_id, 0) + 1
        rows.append(_line_row(order_id, line, positions[order_id], None))
    columns = ", ".join(LINE_COLUMNS)
    picked = ", ".join("(SELECT coalesce(max(l.position), 0) FROM order_lines l WHERE l.order_id = d.order_id) "
                       "+ d.position" if c == "position" else f"d.{c}" for c in LINE_COLUMNS)
    bulk.staged(conn, "appended_lines", "order_lines", LINE_COLUMNS, rows,
                f"INSERT INTO order_lines ({columns}) SELECT {picked} FROM {{staged}} d "  # noqa: S608 - column lists are constants of this module
                "ON CONFLICT DO NOTHING")


def _json_or_none(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


TAKE_STOCK = """
    UPDATE catalog_variants c SET on_hand = c.on_hand - d.delta
    FROM unnest(%s::text[], %s::text[], %s::int[]) AS d (shop_id, variant_id, delta)
    WHERE c.shop_id = d.shop_id AND c.variant_id = d.variant_id AND c.on_hand IS NOT NULL
"""


def _stock_params(deltas: Iterable[tuple[str, dict[str, Any]]]) -> list[list[Any]] | None:
    """TAKE_STOCK's arrays for these (shop, delta) pairs, summed per variant; None when nothing moves."""
    summed: dict[tuple[str, str], int] = {}
    for shop_id, d in deltas:
        key = (shop_id, d["variant_id"])
        summed[key] = summed.get(key, 0) + d["delta"]
    keys = sorted(k for k, v in summed.items() if v)  # a fixed order: concurrent writers lock rows the same way
    return [[k[0] for k in keys], [k[1] for k in keys], [summed[k] for k in keys]] if keys else None


def _take_stock(conn: psycopg.Connection, deltas: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Allocated units leave on_hand (released ones come back); unlimited stock (NULL) stays unlimited."""
    params = _stock_params(deltas)
    if params:
        conn.execute(TAKE_STOCK, params)


def apply_confirmed(conn: psycopg.Connection, envs: Sequence[Envelope],
                    then: Mapping[tuple[str, int], Envelope] | None = None) -> None:
    """``then``: by (order, version) of a confirmation, the version-only event that follows it (its version
    and time are written instead of the confirmation's; see the rebuild's ``_confirmations``)."""
    if not envs:
        return
    rows = []
    for env in envs:
        last = (then or {}).get((env.aggregate_id, env.aggregate_version), env)
        rows.append((env.payload["order_id"], env.payload["confirmed_at"], env.payload["payment_required"],
                     *_totals(env.payload["totals"]), last.aggregate_version, last.occurred_at, "confirmed"))
    bulk.staged(
        conn, "confirmed_orders", "orders",
        ("order_id", "confirmed_at", "payment_required", *TOTAL_COLUMNS, "version", "updated_at", "status"), rows,
        """
        UPDATE orders o SET status = d.status, confirmed_at = d.confirmed_at, payment_required = d.payment_required,
            item_total = d.item_total, shipping_fee = d.shipping_fee, payment_fee = d.payment_fee, total = d.total,
            tax_total = d.tax_total, shipping_tax = d.shipping_tax, payment_tax = d.payment_tax,
            version = d.version, updated_at = d.updated_at
        FROM {staged} d WHERE o.order_id = d.order_id AND o.version < d.version
        """)


def apply_versions(conn: psycopg.Connection, envs: Sequence[Envelope]) -> None:
    """Events that change nothing but the order's version (PaymentRequested)."""
    if not envs:
        return
    bulk.staged(conn, "order_versions", "orders", ("order_id", "version", "updated_at"),
                [(env.payload["order_id"], env.aggregate_version, env.occurred_at) for env in envs],
                "UPDATE orders o SET version = d.version, updated_at = d.updated_at FROM {staged} d "
                "WHERE o.order_id = d.order_id AND o.version < d.version")


def _advance(conn: psycopg.Connection, env: Envelope, extra: str = "", params: Sequence[Any] = (),
             then: str = "", then_params: Sequence[Any] = ()) -> bool:
    """Move the order to this event's version (with extra SET clauses), take or give back the stock it moves,
    and run ``then``, a data-modifying statement reading the CTE ``advanced`` (the order's row, or no row when
    the event was already applied): one statement, one round trip. False when already applied.

    The statement's other parts read the snapshot from before the order's UPDATE: every writer locked the order
    earlier in its transaction (the REST handlers and the propagation do), so that snapshot holds its lines."""
    p = env.payload
    totals = p.get("totals")
    total_sets = "".join(f", {c} = %s" for c in TOTAL_COLUMNS) if totals else ""
    total_params = _totals(totals) if totals else []
    sql = (f"WITH advanced AS (UPDATE orders SET version = %s, updated_at = %s{total_sets}{extra} "  # noqa: S608 - column lists and SET clauses are constants of this module
           "WHERE order_id = %s AND version < %s RETURNING order_id)")
    args = [env.aggregate_version, env.occurred_at, *total_params, *params, p["order_id"], env.aggregate_version]
    stock = _stock_params((p["shop_id"], d) for d in p.get("stock_delta") or [])
    if stock:
        sql += f", taken AS ({TAKE_STOCK} AND EXISTS (SELECT FROM advanced))"
        args += stock
    if then:
        sql += f", followed AS ({then})"
        args += then_params
    return one_row(conn, sql + " SELECT order_id FROM advanced", args) is not None  # noqa: S608 - column lists and SET clauses are constants of this module


def line_changed(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    requested = p.get("requested_quantity")
    if requested is None and p["by"] in ("manager", "customer"):
        requested = p["quantity"]
    _advance(conn, env, then="UPDATE order_lines SET quantity = %s, total = unit_price * %s, edited_by = %s, "
                             "requested_quantity = coalesce(%s, requested_quantity), tax = %s "
                             "WHERE order_id = %s AND line_id = %s AND EXISTS (SELECT FROM advanced)",
             then_params=[p["quantity"], p["quantity"], p["by"], requested, p.get("tax", 0), p["order_id"],
                          p["line_id"]])


def line_added(conn: psycopg.Connection, env: Envelope) -> None:
    p, line = env.payload, env.payload["line"]
    _advance(conn, env, then=f"INSERT INTO order_lines ({', '.join(LINE_COLUMNS)}) "  # noqa: S608 - column lists and SET clauses are constants of this module
                             "SELECT %s, %s, (SELECT coalesce(max(position), 0) + 1 FROM order_lines "
                             "WHERE order_id = %s), %s, %s, %s::int, %s::int, %s::int, %s::bigint, %s, %s, "
                             "%s::bigint, %s, %s::int FROM advanced ON CONFLICT DO NOTHING",
             then_params=[p["order_id"], line["line_id"], p["order_id"], line["variant_id"], line["name"],
                          line["unit_price"], line["requested_quantity"], line["quantity"], line["total"], p["by"],
                          _json_or_none(line.get("substitute_for")), line.get("tax", 0), line.get("tax_category"),
                          line.get("tax_rate_bp", 0)])


def line_removed(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    _advance(conn, env, then="DELETE FROM order_lines WHERE order_id = %s AND line_id = %s "
                             "AND EXISTS (SELECT FROM advanced)", then_params=[p["order_id"], p["line_id"]])


def details_changed(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    sets, params = "", []
    for column in ("shipping_method_id", "payment_method_id", "payment_kind", "bill_address", "ship_address"):
        if p.get(column) is not None:
            sets += f", {column} = %s"
            params.append(Jsonb(p[column]) if column.endswith("address") else p[column])
    _advance(conn, env, sets, params)


def issues_recorded(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    if not _advance(conn, env) or not p["issues"]:
        return
    conn.execute(
        """
        INSERT INTO order_update_issues (event_id, position, order_id, subscription_event_id, kind, variant_id,
                                         message, recorded_at)
        SELECT %s, n, %s, %s, kind, variant_id, message, %s
        FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS i (kind, variant_id, message, n)
        ON CONFLICT DO NOTHING
        """,
        [env.event_id, p["order_id"], p["subscription_event_id"], env.occurred_at,
         [i["kind"] for i in p["issues"]], [i.get("variant_id") for i in p["issues"]],
         [i["message"] for i in p["issues"]]],
    )


def cancelled(conn: psycopg.Connection, env: Envelope) -> None:
    _advance(conn, env, ", status = 'cancelled', cancel_cause = %s, cancelled_at = %s",
             [env.payload["cause"], env.occurred_at])


def resumed(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    if not _advance(conn, env, ", status = 'placed', cancel_cause = NULL, cancelled_at = NULL"):
        return
    for line in p["lines"]:
        conn.execute("UPDATE order_lines SET quantity = %s, total = %s, tax = %s WHERE order_id = %s AND line_id = %s",
                     [line["quantity"], line["total"], line.get("tax", 0), p["order_id"], line["line_id"]])


def receipt_issued(conn: psycopg.Connection, env: Envelope) -> None:
    """The order was paid: its receipt (and invoice number, if any) on the order's row; the shop's invoice sequence
    moved to at least that number (the live path took it from there already; a replay rebuilds it)."""
    p = env.payload
    if not _advance(conn, env, ", paid_at = %s, paid_amount = %s, receipt_payment_id = %s, invoice_number = %s",
                    [p["paid_at"], p["amount"], p["payment_id"], p.get("invoice_number")]):
        return
    if p.get("invoice_number") is not None:
        conn.execute("INSERT INTO invoice_sequences (shop_id, last_number) VALUES (%s, %s) ON CONFLICT (shop_id) "
                     "DO UPDATE SET last_number = greatest(invoice_sequences.last_number, EXCLUDED.last_number)",
                     [p["shop_id"], p["invoice_number"]])
WITHDRAWN_ORDER = ("order_id", "version", "status", "item_total", "shipping_fee", "payment_fee", "total",
                   "updated_at", "tax_total", "shipping_tax", "payment_tax")
ISSUE_COLUMNS = ("event_id", "position", "order_id", "subscription_event_id", "kind", "variant_id", "message",
                 "recorded_at")
WITHDRAWN_WORDS = {"deleted": "deleted from the catalog", "unavailable": "made unavailable in the catalog"}


def withdrawn_issue(payload: Mapping[str, Any]) -> str:
    """The update issue's message of an OrderLineWithdrawn (what the managers read on the order)."""
    return (f"{payload['name']}: {WITHDRAWN_WORDS[payload['cause']]} after the order was placed, so it was withdrawn "
            f"from this order ({payload['quantity']} released); nothing is charged for it.")


def apply_withdrawn(conn: psycopg.Connection, envs: Sequence[Envelope]) -> None:
    """OrderLineWithdrawn, set-based (a variant withdrawn from thousands of orders: a few statements for all): each
    order moves to its last event's version, totals (tax included; 0 in events from before tax) and status, the
    lines leave it (the line placed instead of one, ``substitute``, joins it), their stock comes back (the
    substitute's is taken), and each
    withdrawal is an update issue of the order (kind ``line_withdrawn``; ``subscription_event_id`` holds the catalog
    event that caused it). An order's events here are all new or all applied already (a replay brings them one at a
    time): one already applied changes nothing."""
    if not envs:
        return
    last: dict[str, Envelope] = {}
    for env in envs:
        seen = last.get(env.payload["order_id"])
        if seen is None or seen.aggregate_version < env.aggregate_version:
            last[env.payload["order_id"]] = env
    advanced = {r["order_id"] for r in bulk.staged(
        conn, "withdrawn_orders", "orders", WITHDRAWN_ORDER,
        [(o, e.aggregate_version, e.payload["status"], *(e.payload["totals"][k] for k in
                                                          ("item_total", "shipping_fee", "payment_fee", "total")),
          e.occurred_at, *(e.payload["totals"].get(k, 0) for k in ("tax_total", "shipping_tax", "payment_tax")))
         for o, e in last.items()],
        """
        UPDATE orders o SET version = d.version, status = d.status, item_total = d.item_total,
            shipping_fee = d.shipping_fee, payment_fee = d.payment_fee, total = d.total, updated_at = d.updated_at,
            tax_total = d.tax_total, shipping_tax = d.shipping_tax, payment_tax = d.payment_tax
        FROM {staged} d WHERE o.order_id = d.order_id AND o.version < d.version RETURNING o.order_id
        """)}
    done = [env for env in envs if env.payload["order_id"] in advanced]
    if not done:
        return
    bulk.staged(conn, "withdrawn_lines", "order_lines", ("order_id", "line_id"),
                [(e.payload["order_id"], e.payload["line_id"]) for e in done],
                "DELETE FROM order_lines l USING {staged} d WHERE l.order_id = d.order_id AND l.line_id = d.line_id")
    _append_lines(conn, [(e.payload["order_id"], e.payload["substitute"]) for e in done if e.payload.get("substitute")])
    _take_stock(conn, [(e.payload["shop_id"], d) for e in done for d in e.payload["stock_delta"]])
    columns = ", ".join(ISSUE_COLUMNS)
    bulk.staged(conn, "withdrawn_issues", "order_update_issues", ISSUE_COLUMNS,
                [(e.event_id, 1, e.payload["order_id"], e.payload["catalog_event_id"], "line_withdrawn",
                  e.payload["variant_id"], withdrawn_issue(e.payload), e.occurred_at) for e in done],
                f"INSERT INTO order_update_issues ({columns}) SELECT {columns} FROM {{staged}} "  # noqa: S608 - column names from the ISSUE_COLUMNS constant
                "ON CONFLICT DO NOTHING")


def placed(conn: psycopg.Connection, env: Envelope) -> None:
    apply_placed(conn, [env])


PROJECTORS = {
    "OrderPlaced": placed,
    "OrderConfirmed": lambda conn, env: apply_confirmed(conn, [env]),
    "PaymentRequested": lambda conn, env: apply_versions(conn, [env]),
    "OrderLineChanged": line_changed,
    "OrderLineAdded": line_added,
    "OrderLineRemoved": line_removed,
    "OrderLineWithdrawn": lambda conn, env: apply_withdrawn(conn, [env]),
    "OrderDetailsChanged": details_changed,
    "OrderUpdateIssuesRecorded": issues_recorded,
    "OrderCancelled": cancelled,
    "OrderResumed": resumed,
    "ReceiptIssued": receipt_issued,
}


def apply(conn: psycopg.Connection, env: Envelope) -> None:
    fn = PROJECTORS.get(env.event_type)
    if fn is not None:
        fn(conn, env)
