"""Read models for the REST API, straight from the projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from order_service.adapters.db import all_rows, one_row
from order_service.adapters.formatting import local
from order_service.domain.model import TOTAL_KEYS
from shared_events import outbox

ISSUE_LIMIT = 500

ORDER_SQL = """
    SELECT o.*, c.name AS order_cycle_name, coalesce(c.closes_at, o.closes_at) AS cycle_closes_at,
           c.closed_at AS cycle_closed_at, s.timezone, s.allow_order_changes,
           cu.email AS customer_email, cu.first_name AS customer_first_name, cu.last_name AS customer_last_name,
           p.payment_id, p.state AS payment_state, p.method AS payment_method, p.amount AS payment_amount,
           p.attempt AS payment_attempt, p.code AS payment_code, p.decline_code AS payment_decline_code,
           p.message AS payment_message, p.final AS payment_final, p.next_attempt_at AS payment_next_attempt_at,
           p.authorization_url AS payment_authorization_url, p.amount_refunded AS payment_amount_refunded,
           p.updated_at AS payment_updated_at,
           (SELECT count(*) FROM order_lines l WHERE l.order_id = o.order_id) AS line_count,
           (SELECT count(*) FROM order_update_issues u WHERE u.order_id = o.order_id) AS update_issue_count,
           EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id
                   AND l.quantity < l.requested_quantity) AS capped
    FROM orders o
    LEFT JOIN order_cycles c ON c.order_cycle_id = o.order_cycle_id
    LEFT JOIN shops s ON s.shop_id = o.shop_id
    LEFT JOIN customers cu ON cu.customer_id = o.customer_id
    LEFT JOIN order_payments p ON p.order_id = o.order_id
"""


def payment_state(row: dict[str, Any]) -> str:
    """The payment as one word: billing's state once it reported, else what this service knows."""
    if row.get("payment_state"):
        return str(row["payment_state"])
    if row["status"] == "confirmed":
        return "requested" if row["payment_required"] else "not_required"
    if row["status"] in ("cancelled", "empty"):
        return "not_required"
    return "not_due"  # no payment is taken while the cycle is open


def _summary(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    tz = row.get("timezone") or "UTC"
    closed = row["status"] == "confirmed" or row["cycle_closed_at"] is not None or now >= row["cycle_closes_at"]
    open_placed = row["status"] == "placed" and not closed
    return {
        **{k: row[k] for k in ("order_id", "number", "shop_id", "subscription_id", "order_cycle_id",
                               "order_cycle_name", "customer_id", "status", "cancel_cause", "currency", "late",
                               "allocation_policy", "payment_kind", "shipping_method_id", "payment_method_id",
                               "placed_at", "confirmed_at", "cancelled_at", "opens_at", "version", "capped",
                               "prices_include_tax")},
        "customer": {"email": row["customer_email"], "first_name": row["customer_first_name"],
                     "last_name": row["customer_last_name"]},
        "closes_at": row["cycle_closes_at"], "closes_at_local": local(row["cycle_closes_at"], tz),
        "placed_at_local": local(row["placed_at"], tz),
        "totals": {k: row[k] for k in TOTAL_KEYS},
        "line_count": row["line_count"], "update_issue_count": row["update_issue_count"],
        "editable": {"by_manager": open_placed or (row["status"] == "cancelled" and not closed),
                     "by_customer": bool(row["allow_order_changes"]) and (open_placed or (
                         row["status"] == "cancelled" and row["cancel_cause"] == "customer" and not closed))},
        "payment": {"state": payment_state(row), "required": row["payment_required"],
                    **{k[len("payment_"):]: row[k] for k in (
                        "payment_id", "payment_amount", "payment_attempt", "payment_code", "payment_decline_code",
                        "payment_message", "payment_final", "payment_next_attempt_at", "payment_authorization_url",
                        "payment_amount_refunded", "payment_updated_at")}},
        "receipt": None if row["paid_at"] is None else {
            "paid_at": row["paid_at"], "amount": row["paid_amount"], "invoice_number": row["invoice_number"]},
    }


ISSUE_COLUMNS = ("subscription_event_id", "kind", "variant_id", "message", "recorded_at")

# One statement for an order's page: its lines and update issues come as JSON arrays beside the order's row.
ORDER_DETAIL_SQL = ORDER_SQL.replace("\n    FROM orders o", """,
           (SELECT coalesce(json_agg(l ORDER BY l.position), '[]') FROM order_lines l
            WHERE l.order_id = o.order_id) AS lines,
           (SELECT coalesce(json_agg(json_build_object('issue_event_id', u.event_id::text, {issue_columns})
                                     ORDER BY u.recorded_at, u.event_id, u.position), '[]')
            FROM order_update_issues u WHERE u.order_id = o.order_id) AS issues
    FROM orders o""".format(issue_columns=", ".join(f"'{c}', u.{c}" for c in ISSUE_COLUMNS)), 1)  # noqa: S608 - ORDER_SQL and ISSUE_COLUMNS are constants of this module


def order(conn: psycopg.Connection, shop_id: str, order_id: str, now: datetime) -> dict[str, Any] | None:
    row = one_row(conn, ORDER_DETAIL_SQL + " WHERE o.order_id = %s AND o.shop_id = %s", [order_id, shop_id])
    if row is None:
        return None
    view = _summary(row, now)
    view.update(bill_address=row["bill_address"], ship_address=row["ship_address"], tax_rates=row["tax_rates"])
    view["lines"] = [
        {**{k: line[k] for k in ("line_id", "variant_id", "name", "unit_price", "requested_quantity", "quantity",
                                 "total", "edited_by", "tax", "tax_category", "tax_rate_bp")},
         "substitute_for": line.get("substitute_for"),
         "capped": line["quantity"] < line["requested_quantity"]}
        for line in row["lines"]]
    view["update_issues"] = [{**issue, "recorded_at": datetime.fromisoformat(issue["recorded_at"])}
                             for issue in row["issues"]]
    return view


def update_issues(conn: psycopg.Connection, order_id: str) -> list[dict[str, Any]]:
    return all_rows(conn, sql.SQL("SELECT event_id::text AS issue_event_id, {} FROM order_update_issues "
                                  "WHERE order_id = %s ORDER BY recorded_at, event_id, position").format(
                              sql.SQL(", ").join(map(sql.Identifier, ISSUE_COLUMNS))),
                    [order_id])


def orders(conn: psycopg.Connection, shop_id: str, filters: dict[str, Any], limit: int, after: list[Any] | None,
           now: datetime) -> list[dict[str, Any]]:
    """Newest first; ``after`` = [placed_at, order_id] of the last item of the previous page."""
    where: list[str] = ["o.shop_id = %s"]
    params: list[Any] = [shop_id]
    for key in ("order_cycle_id", "customer_id", "subscription_id"):
        if filters.get(key):
            where.append(f"o.{key} = %s")
            params.append(filters[key])
    if filters.get("status"):
        where.append("o.status = ANY(%s)")
        params.append(list(filters["status"]))
    if after:
        where.append("(o.placed_at, o.order_id) < (%s::timestamptz, %s)")
        params += after
    rows = all_rows(conn, ORDER_SQL + " WHERE " + " AND ".join(where) +
                    " ORDER BY o.placed_at DESC, o.order_id DESC LIMIT %s", [*params, limit + 1])
    return [_summary(r, now) for r in rows]


def parent_exists(conn: psycopg.Connection, shop_id: str, customer_id: str | None) -> bool:
    """Whether this service knows the shop (shops.events), or the shop's customer (customers.events)."""
    if customer_id is not None:
        return one_row(conn, "SELECT 1 AS x FROM customers WHERE customer_id = %s AND shop_id = %s",
                       [customer_id, shop_id]) is not None
    return one_row(conn, "SELECT 1 AS x FROM shops WHERE shop_id = %s", [shop_id]) is not None


def history(conn: psycopg.Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's own events (as recorded in our event store) and its payment's, in time order."""
    entries = []
    for env in outbox.history(conn, order_id, "orders.events"):
        detail = {k: v for k, v in env.payload.items() if k not in ("order_id", "shop_id", "subscription_id",
                                                                    "order_cycle_id", "customer_id", "actor",
                                                                    "reason")}
        entries.append({"event_id": env.event_id, "event_type": env.event_type, "source": "orders.events",
                        "version": env.aggregate_version, "occurred_at": env.occurred_at,
                        "actor": env.payload.get("actor"), "reason": env.payload.get("reason"), "detail": detail})
    for row in all_rows(conn, "SELECT * FROM payment_events WHERE order_id = %s", [order_id]):
        entries.append({"event_id": str(row["event_id"]), "event_type": row["event_type"], "source": "billing.events",
                        "version": row["version"], "occurred_at": row["occurred_at"], "actor": None,
                        "reason": None, "detail": row["detail"]})
    # at the same instant our events come first, but a receipt, which follows the payment that caused it (its time)
    return sorted(entries, key=lambda e: (e["occurred_at"], 2 if e["event_type"] == "ReceiptIssued"
                                          else int(e["source"] != "orders.events"), e["version"]))


def cycle(conn: psycopg.Connection, shop_id: str, order_cycle_id: str) -> dict[str, Any] | None:
    known = one_row(conn, "SELECT * FROM order_cycles WHERE order_cycle_id = %s AND shop_id = %s",
                    [order_cycle_id, shop_id])
    if known is None and one_row(conn, "SELECT 1 AS x FROM orders WHERE order_cycle_id = %s AND shop_id = %s LIMIT 1",
                                 [order_cycle_id, shop_id]) is None:
        return None
    return known or {"order_cycle_id": order_cycle_id, "name": None, "opens_at": None, "closes_at": None,
                     "opened_at": None, "closed_at": None, "due_count": None}


def order_counts(conn: psycopg.Connection, shop_id: str, order_cycle_id: str, now: datetime
                 ) -> dict[str, Any] | None:
    """A cycle's orders counted by status (and those with update issues), and whether the cycle is still open
    for changes: what a manager's list of the cycle's orders shows above it."""
    row = one_row(
        conn,
        """
        SELECT c.name, c.opens_at, c.closes_at, c.closed_at, s.timezone,
               count(o.order_id) FILTER (WHERE o.status = 'placed') AS placed,
               count(o.order_id) FILTER (WHERE o.status = 'confirmed') AS confirmed,
               count(o.order_id) FILTER (WHERE o.status = 'cancelled') AS cancelled,
               count(o.order_id) FILTER (WHERE o.status = 'empty') AS empty,
               count(o.order_id) AS orders,
               count(o.order_id) FILTER (WHERE EXISTS (SELECT 1 FROM order_update_issues u
                                                       WHERE u.order_id = o.order_id)) AS with_update_issues
        FROM order_cycles c LEFT JOIN shops s ON s.shop_id = c.shop_id
        LEFT JOIN orders o ON o.order_cycle_id = c.order_cycle_id AND o.shop_id = c.shop_id
        WHERE c.order_cycle_id = %s AND c.shop_id = %s
        GROUP BY c.order_cycle_id, s.timezone
        """, [order_cycle_id, shop_id])
    if row is None:
        return None
    closes_at = row["closes_at"]
    return {"order_cycle_id": order_cycle_id, "name": row["name"], "opens_at": row["opens_at"],
            "closes_at": closes_at, "closes_at_local": local(closes_at, row["timezone"] or "UTC"),
            "open": row["closed_at"] is None and closes_at is not None and now < closes_at,
            "counts": {k: row[k] for k in ("placed", "confirmed", "cancelled", "empty", "orders",
                                           "with_update_issues")}}


def _runs(conn: psycopg.Connection, kind: str, order_cycle_id: str) -> list[dict[str, Any]]:
    return all_rows(conn, "SELECT run_id::text, batch, started_at, summarised_at, awaiting, skipped, "
                          "jsonb_array_length(errors) AS errors, (SELECT count(*) FROM run_orders r "
                          "WHERE r.run_id = runs.run_id) AS orders FROM runs WHERE kind = %s AND order_cycle_id = %s "
                          "ORDER BY started_at, created_at", [kind, order_cycle_id])


def placement_summary(conn: psycopg.Connection, shop_id: str, order_cycle_id: str) -> dict[str, Any] | None:
    known = cycle(conn, shop_id, order_cycle_id)
    if known is None:
        return None
    counts = one_row(
        conn,
        """
        SELECT count(*) AS orders,
               count(*) FILTER (WHERE status IN ('placed', 'confirmed')) AS placed,
               count(*) FILTER (WHERE status = 'empty') AS empty,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE late) AS late,
               count(*) FILTER (WHERE status <> 'empty' AND EXISTS (SELECT 1 FROM order_lines l
                   WHERE l.order_id = o.order_id AND l.quantity < l.requested_quantity)) AS capped
        FROM orders o WHERE order_cycle_id = %s AND shop_id = %s
        """, [order_cycle_id, shop_id])
    dues = one_row(conn, "SELECT count(*) FILTER (WHERE state <> 'missed') AS recorded, "
                         "count(*) FILTER (WHERE state = 'pending') AS waiting, "
                         "count(*) FILTER (WHERE state = 'skipped') AS set_aside, "
                         "count(*) FILTER (WHERE state = 'waiting') AS lacking_data FROM order_dues "
                         "WHERE order_cycle_id = %s AND shop_id = %s", [order_cycle_id, shop_id]) or {}
    issues = all_rows(
        conn,
        """
        SELECT * FROM (
            SELECT o.order_id, o.number, o.customer_id, c.email AS customer_email,
                   CASE WHEN o.status = 'empty' THEN 'empty' ELSE 'capped' END AS kind,
                   (SELECT coalesce(jsonb_agg(jsonb_build_object('line_id', l.line_id, 'name', l.name,
                        'requested_quantity', l.requested_quantity, 'quantity', l.quantity) ORDER BY l.position), '[]')
                    FROM order_lines l WHERE l.order_id = o.order_id AND l.quantity < l.requested_quantity) AS lines
            FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id
            WHERE o.order_cycle_id = %s AND o.shop_id = %s AND o.status <> 'cancelled') x
        WHERE kind = 'empty' OR lines <> '[]'::jsonb ORDER BY kind, number LIMIT %s
        """, [order_cycle_id, shop_id, ISSUE_LIMIT])
    missed = all_rows(
        conn,
        """
        SELECT m.subscription_id, m.customer_id, c.email AS customer_email, m.due_at, m.due_reason, m.reason,
               m.missed_at
        FROM missed_dues m LEFT JOIN customers c ON c.customer_id = m.customer_id
        WHERE m.order_cycle_id = %s AND m.shop_id = %s ORDER BY m.due_at, m.subscription_id LIMIT %s
        """, [order_cycle_id, shop_id, ISSUE_LIMIT])
    dues["missed"] = len(missed) if len(missed) < ISSUE_LIMIT else one_row(
        conn, "SELECT count(*) AS n FROM missed_dues WHERE order_cycle_id = %s AND shop_id = %s",
        [order_cycle_id, shop_id])["n"]  # type: ignore[index]  # a count always has its row
    return {"order_cycle_id": order_cycle_id, "name": known["name"], "opens_at": known["opens_at"],
            "opened_at": known["opened_at"], "due_count": known["due_count"],
            "missed_count": known.get("missed_count"), "dues": dues, "orders": counts, "issues": issues,
            "missed": missed, "runs": _runs(conn, "placement", order_cycle_id)}


def confirmation_summary(conn: psycopg.Connection, shop_id: str, order_cycle_id: str) -> dict[str, Any] | None:
    known = cycle(conn, shop_id, order_cycle_id)
    if known is None:
        return None
    counts = one_row(
        conn,
        """
        SELECT count(*) FILTER (WHERE o.status = 'confirmed') AS confirmed,
               count(*) FILTER (WHERE o.status = 'placed') AS not_confirmed_yet,
               count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE o.status = 'confirmed' AND NOT o.payment_required) AS no_payment_needed,
               count(*) FILTER (WHERE o.payment_required) AS payment_requested,
               count(*) FILTER (WHERE p.state = 'paid') AS paid,
               count(*) FILTER (WHERE o.payment_required AND o.payment_kind = 'cash'
                                AND coalesce(p.state, 'pending') = 'pending') AS cash_pending,
               count(*) FILTER (WHERE p.state = 'failed') AS failed,
               count(*) FILTER (WHERE p.state = 'authorization_required') AS authorization_required,
               count(*) FILTER (WHERE o.payment_required AND o.payment_kind = 'stripe'
                                AND coalesce(p.state, 'requested') IN ('requested', 'pending', 'processing'))
                   AS awaiting_outcome,
               count(*) FILTER (WHERE p.state IN ('refunded', 'partially_refunded')) AS refunded,
               coalesce(sum(o.total) FILTER (WHERE o.payment_required), 0) AS amount_requested
        FROM orders o LEFT JOIN order_payments p ON p.order_id = o.order_id
        WHERE o.order_cycle_id = %s AND o.shop_id = %s
        """, [order_cycle_id, shop_id])
    issues = all_rows(
        conn,
        """
        SELECT o.order_id, o.number, o.customer_id, c.email AS customer_email, o.total,
               CASE WHEN p.state = 'failed' THEN 'failed_payment' ELSE 'authorization_required' END AS kind,
               p.message, p.code, p.final, p.next_attempt_at, p.authorization_url
        FROM orders o JOIN order_payments p ON p.order_id = o.order_id
        LEFT JOIN customers c ON c.customer_id = o.customer_id
        WHERE o.order_cycle_id = %s AND o.shop_id = %s AND p.state IN ('failed', 'authorization_required')
        ORDER BY kind, o.number LIMIT %s
        """, [order_cycle_id, shop_id, ISSUE_LIMIT])
    return {"order_cycle_id": order_cycle_id, "name": known["name"], "closes_at": known["closes_at"],
            "closed_at": known["closed_at"], "orders": counts, "issues": issues,
            "runs": _runs(conn, "confirmation", order_cycle_id)}


VARIANT_COLUMNS = ("variant_id", "product_name", "variant_name", "unit_price", "currency", "on_hand", "available",
                   "supplier", "tax_category")


def variants(conn: psycopg.Connection, shop_id: str, search: str | None, limit: int, after: list[Any] | None,
             *, for_sale: bool = False) -> list[dict[str, Any]]:
    """The shop's variants as the platform's catalog publishes them (deleted ones aside), by product then variant
    name; ``on_hand`` is what is left after this service's allocations (null: unlimited). ``search``: words found
    in the product's, the variant's or the supplier's name (case aside). ``after`` = [product_name,
    variant_name or '', variant_id] of the last item of the previous page. One more than ``limit`` is returned
    when there is a next page. ``for_sale``: the list a customer reads, the available variants only, searched by
    the product's and the variant's names (the supplier is not shown to them)."""
    where: list[sql.Composable] = [
        sql.SQL("shop_id = %s AND NOT deleted AND available" if for_sale else "shop_id = %s AND NOT deleted")]
    params: list[Any] = [shop_id]
    searched = sql.SQL("concat_ws(' ', product_name, variant_name)" if for_sale
                       else "concat_ws(' ', product_name, variant_name, supplier)")
    for word in (search or "").split():
        where.append(sql.SQL("{} ILIKE %s").format(searched))
        params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if after:
        where.append(sql.SQL("(product_name, coalesce(variant_name, ''), variant_id) > (%s, %s, %s)"))
        params += after
    query = sql.SQL("SELECT {} FROM catalog_variants WHERE {} "
                    "ORDER BY product_name, coalesce(variant_name, ''), variant_id LIMIT %s").format(
        sql.SQL(", ").join(map(sql.Identifier, VARIANT_COLUMNS)), sql.SQL(" AND ").join(where))
    return all_rows(conn, query, [*params, limit + 1])
