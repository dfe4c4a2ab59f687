"""Loading the state decisions need from the projections (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from order_service.adapters.db import all_rows, one_row
from order_service.domain.editing import Method
from order_service.domain.model import TOTAL_KEYS, Fee, Fees, Line, Order, Stock, TaxTerms
from order_service.domain.placement import Terms, Variant

ORDER_SQL = """
    SELECT o.*, coalesce(c.closes_at, o.closes_at) AS cycle_closes_at, c.closed_at AS cycle_closed_at{shop}
    FROM orders o LEFT JOIN order_cycles c ON c.order_cycle_id = o.order_cycle_id
"""


def shop(conn: psycopg.Connection, shop_id: str) -> dict[str, Any] | None:
    return one_row(conn, "SELECT * FROM shops WHERE shop_id = %s", [shop_id])


def order_from_row(row: dict[str, Any], lines: Iterable[dict[str, Any]]) -> Order:
    included = bool(row["prices_include_tax"])
    return Order(
        order_id=row["order_id"], number=row["number"], shop_id=row["shop_id"],
        subscription_id=row["subscription_id"], order_cycle_id=row["order_cycle_id"],
        customer_id=row["customer_id"], status=row["status"], currency=row["currency"],
        lines=[Line(r["line_id"], r["variant_id"], r["name"], r["unit_price"], r["requested_quantity"],
                    r["quantity"], r["edited_by"], r.get("substitute_for"), tax_category=r["tax_category"],
                    tax_rate_bp=r["tax_rate_bp"], prices_include_tax=included) for r in lines],
        shipping_method_id=row["shipping_method_id"], payment_method_id=row["payment_method_id"],
        payment_kind=row["payment_kind"], bill_address=row["bill_address"], ship_address=row["ship_address"],
        closes_at=row["cycle_closes_at"], cycle_closed=row["cycle_closed_at"] is not None,
        version=row["version"], total=row["total"], cancel_cause=row["cancel_cause"],
        tax=TaxTerms.of(included, row["tax_rates"]),
    )


def _locking(condition: str) -> str:
    """The orders matching ``condition`` (on alias o), locked in id order."""
    return sql.SQL("{select} WHERE {condition} ORDER BY o.order_id FOR UPDATE OF o").format(
        select=sql.SQL(ORDER_SQL.format(shop="")), condition=sql.SQL(condition)).as_string(None)


PLACED_OF_SUBSCRIPTION = _locking("o.subscription_id = %s AND o.status = 'placed'")
PLACED_OF_SUBSCRIPTION_IN_CYCLES = _locking("o.subscription_id = %s AND o.status = 'placed' "
                                            "AND o.order_cycle_id = ANY(%s)")
OF_OCCURRENCE = _locking("o.subscription_id = %s AND o.order_cycle_id = %s")


def placed_orders_for_update(conn: psycopg.Connection, subscription_id: str,
                             order_cycle_ids: Sequence[str] | None = None) -> list[Order]:
    """The subscription's placed orders (of these cycles, when given), locked in id order, with their lines."""
    if order_cycle_ids:
        return _with_lines(conn, all_rows(conn, PLACED_OF_SUBSCRIPTION_IN_CYCLES,
                                          [subscription_id, list(order_cycle_ids)]))
    return _with_lines(conn, all_rows(conn, PLACED_OF_SUBSCRIPTION, [subscription_id]))


OPEN_HOLDING = _locking("o.shop_id = %s AND o.status = 'placed' AND c.closed_at IS NULL "
                        "AND coalesce(c.closes_at, o.closes_at) > %s AND EXISTS (SELECT FROM order_lines l "
                        "WHERE l.order_id = o.order_id AND l.variant_id = ANY(%s))")


def open_orders_holding_for_update(conn: psycopg.Connection, shop_id: str, variant_ids: Sequence[str],
                                   now: datetime) -> list[Order]:
    """The shop's placed orders of cycles still open at ``now`` with a line of any of these variants, locked in id
    order, with their lines (one statement for the orders and one for their lines, however many)."""
    return _with_lines(conn, all_rows(conn, OPEN_HOLDING, [shop_id, now, list(variant_ids)]))


LOCK_OPEN_HOLDING = sql.SQL("SELECT o.order_id FROM orders o LEFT JOIN order_cycles c ON c.order_cycle_id = "
                            "o.order_cycle_id WHERE o.shop_id = %s AND o.status = 'placed' AND c.closed_at IS NULL "
                            "AND coalesce(c.closes_at, o.closes_at) > %s AND EXISTS (SELECT FROM order_lines l "
                            "WHERE l.order_id = o.order_id AND l.variant_id = ANY(%s)) ORDER BY o.order_id "
                            "FOR UPDATE OF o").as_string(None)


def lock_open_orders_holding(conn: psycopg.Connection, shop_id: str, variant_ids: Sequence[str], now: datetime
                             ) -> None:
    """Lock what ``open_orders_holding_for_update`` will read, without reading it (the lock alone, taken early)."""
    all_rows(conn, LOCK_OPEN_HOLDING, [shop_id, now, list(variant_ids)])


def catalog_states(conn: psycopg.Connection, shop_id: str, variant_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Whether each of these variants of the shop is available and deleted, as projected (those known)."""
    return {r["variant_id"]: r for r in all_rows(
        conn, "SELECT variant_id, available, deleted FROM catalog_variants WHERE shop_id = %s AND variant_id = ANY(%s)",
        [shop_id, sorted(set(variant_ids))])}


def occurrence_orders_for_update(conn: psycopg.Connection, subscription_id: str, order_cycle_id: str) -> list[Order]:
    """The occurrence's order whatever its status (none, or one: its id derives from the occurrence), locked,
    with its lines."""
    return _with_lines(conn, all_rows(conn, OF_OCCURRENCE, [subscription_id, order_cycle_id]))


def _with_lines(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> list[Order]:
    """The lines are read by a statement of their own, after the lock: one that waited for a concurrent edit
    sees the lines that edit committed (a subquery of the locking statement would not)."""
    if not rows:
        return []
    lines: dict[str, list[dict[str, Any]]] = {}
    for line in all_rows(conn, "SELECT * FROM order_lines WHERE order_id = ANY(%s) ORDER BY order_id, position",
                         [[r["order_id"] for r in rows]]):
        lines.setdefault(line["order_id"], []).append(line)
    return [order_from_row(r, lines.get(r["order_id"], [])) for r in rows]


def order_parties(conn: psycopg.Connection, order_id: str) -> dict[str, Any] | None:
    """The order's id, shop, customer and number; None when it is not one of ours."""
    return one_row(conn, "SELECT order_id, shop_id, customer_id, number FROM orders WHERE order_id = %s", [order_id])


def order_for_update(conn: psycopg.Connection, shop_id: str, order_id: str) -> tuple[Order, bool] | None:
    """The shop's order, locked, with its lines; and whether the shop lets customers change their orders."""
    rows = all_rows(conn, ORDER_SQL.format(shop=", s.allow_order_changes") +
                    " LEFT JOIN shops s ON s.shop_id = o.shop_id WHERE o.order_id = %s AND o.shop_id = %s "
                    "FOR UPDATE OF o", [order_id, shop_id])
    return (_with_lines(conn, rows)[0], bool(rows[0]["allow_order_changes"])) if rows else None


def fees_and_methods(conn: psycopg.Connection, shop_id: str) -> tuple[Fees, dict[tuple[str, str], Method]]:
    return _fees_and_methods(all_rows(conn, "SELECT * FROM shop_methods WHERE shop_id = %s", [shop_id]))


def _fees_and_methods(rows: Iterable[dict[str, Any]]) -> tuple[Fees, dict[tuple[str, str], Method]]:
    shipping: dict[str, Fee] = {}
    payment: dict[str, Fee] = {}
    methods: dict[tuple[str, str], Method] = {}
    for r in rows:
        fee = Fee(r["fee_flat"], r["fee_percent_bp"], r.get("tax_category"))
        (shipping if r["kind"] == "shipping" else payment)[r["method_id"]] = fee
        methods[(r["kind"], r["method_id"])] = Method(r["method_id"], r["kind"], r["active"] and not r["removed"],
                                                      r["payment_kind"])
    return Fees(shipping, payment), methods


def variant_name(product_name: str, variant_name: str | None) -> str:
    return f"{product_name} - {variant_name}" if variant_name else product_name


CATALOG_SQL = "SELECT * FROM catalog_variants WHERE shop_id = %s AND variant_id = ANY(%s) ORDER BY variant_id"


def catalog_for_update(conn: psycopg.Connection, shop_id: str, variant_ids: Iterable[str]
                       ) -> tuple[dict[str, Variant], Stock]:
    """The shop's variants and their stock. Variants whose stock is counted are locked (in id order, so
    concurrent allocations queue) and read again under the lock; unlimited ones (on_hand NULL) are not locked,
    as nothing is taken from them: writers of a popular unlimited variant do not queue behind each other. One
    that becomes counted meanwhile is treated as still unlimited, as if this transaction had come first (stock
    is only ever written as a relative change to counted rows)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}, Stock({})
    return _locked_catalog(conn, shop_id, all_rows(conn, CATALOG_SQL, [shop_id, ids]))


def catalog_and_fees(conn: psycopg.Connection, shop_id: str, variant_ids: Iterable[str]
                     ) -> tuple[dict[str, Variant], Stock, Fees, dict[tuple[str, str], Method]]:
    """catalog_for_update and fees_and_methods, the variants' first read and the methods in one statement (an
    edit's round trips): counted variants are still locked and read again by a statement of their own."""
    ids = sorted(set(variant_ids))
    row = one_row(conn, f"SELECT (SELECT coalesce(json_agg(c ORDER BY c.variant_id), '[]') FROM ({CATALOG_SQL}) c) "  # noqa: S608 - CATALOG_SQL is a constant of this module
                        "AS variants, (SELECT coalesce(json_agg(m), '[]') FROM shop_methods m WHERE m.shop_id = %s) "
                        "AS methods", [shop_id, ids, shop_id])
    assert row is not None  # an aggregate without GROUP BY: always one row
    catalog, stock = _locked_catalog(conn, shop_id, row["variants"]) if ids else ({}, Stock({}))
    return (catalog, stock, *_fees_and_methods(row["methods"]))


def sellable_catalog(conn: psycopg.Connection, shop_id: str) -> list[Variant]:
    """The shop's variants that are available and not deleted, with the stock this service may still allocate (not
    locked: what a page offers, not what a decision takes)."""
    rows = all_rows(conn, "SELECT * FROM catalog_variants WHERE shop_id = %s AND available AND NOT deleted",
                    [shop_id])
    return [Variant(r["variant_id"], variant_name(r["product_name"], r["variant_name"]), r["unit_price"],
                    r["on_hand"], True, r["tax_category"]) for r in rows]


def order(conn: psycopg.Connection, shop_id: str, order_id: str) -> Order | None:
    """The shop's order with its lines, as it is (not locked: for reading)."""
    return next(iter(_with_lines(conn, all_rows(conn, ORDER_SQL.format(shop="") +
                                                " WHERE o.order_id = %s AND o.shop_id = %s", [order_id, shop_id]))),
                None)


def _locked_catalog(conn: psycopg.Connection, shop_id: str, first_read: list[dict[str, Any]]
                    ) -> tuple[dict[str, Variant], Stock]:
    rows = {r["variant_id"]: r for r in first_read}
    counted = [v for v, r in rows.items() if r["on_hand"] is not None]
    if counted:
        rows.update((r["variant_id"], r) for r in all_rows(conn, CATALOG_SQL + " FOR UPDATE", [shop_id, counted]))
    catalog = {v: Variant(v, variant_name(r["product_name"], r["variant_name"]), r["unit_price"], r["on_hand"],
                          r["available"] and not r["deleted"], r.get("tax_category")) for v, r in rows.items()}
    return catalog, Stock({v.variant_id: v.on_hand for v in catalog.values() if v.sellable})


def subscriptions(conn: psycopg.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = all_rows(conn, "SELECT * FROM subscriptions WHERE subscription_id = ANY(%s)", [list(ids)], binary=True)
    return {r["subscription_id"]: r for r in rows}


def terms_of(row: dict[str, Any]) -> Terms:
    return Terms(
        subscription_id=row["subscription_id"], customer_id=row["customer_id"], created_at=row["created_at"],
        items=row["items"], shipping_method_id=row["shipping_method_id"],
        payment_method_id=row["payment_method_id"], payment_kind=row["payment_kind"],
        bill_address=row["bill_address"], ship_address=row["ship_address"], sequence=row.get("sequence"),
    )


@dataclass(frozen=True)
class OrdersOfCycle:
    """Every order of an order cycle (its close confirms them)."""

    order_cycle_id: str


@dataclass(frozen=True)
class OrdersWithIds:
    """These orders (placed after their cycle closed, confirmed at once)."""

    order_ids: Sequence[str]


TO_CONFIRM = ("order_id", "shop_id", "subscription_id", "order_cycle_id", "customer_id", "number", "status",
              "currency", *TOTAL_KEYS, "payment_kind", "payment_method_id",
              "version")


def _to_confirm(condition: str) -> str:
    return sql.SQL("SELECT {columns} FROM orders WHERE {condition} AND status = 'placed' AND order_id > %s "
                   "ORDER BY order_id LIMIT %s FOR UPDATE").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, TO_CONFIRM)), condition=sql.SQL(condition)).as_string(None)


# composed once: a cycle's close reads one slice after another
TO_CONFIRM_OF_CYCLE = _to_confirm("order_cycle_id = %s")
TO_CONFIRM_WITH_IDS = _to_confirm("order_id = ANY(%s)")


def placed_orders_to_confirm(conn: psycopg.Connection, orders: OrdersOfCycle | OrdersWithIds, *, after: str,
                             limit: int) -> list[dict[str, Any]]:
    """The next ``limit`` of these orders still placed whose id follows ``after``, locked, in id order, with what
    their confirmation needs (one slice of a confirmation run: a cycle's close does not hold all its orders in
    memory at once)."""
    if isinstance(orders, OrdersOfCycle):
        return all_rows(conn, TO_CONFIRM_OF_CYCLE, [orders.order_cycle_id, after, limit], binary=True)
    return all_rows(conn, TO_CONFIRM_WITH_IDS, [list(orders.order_ids), after, limit], binary=True)


def cycle(conn: psycopg.Connection, order_cycle_id: str) -> dict[str, Any] | None:
    return one_row(conn, "SELECT * FROM order_cycles WHERE order_cycle_id = %s", [order_cycle_id])


# -- receipts and invoices ---------------------------------------------------------------------------------------


def order_for_receipt(conn: psycopg.Connection, order_id: str) -> tuple[Order, bool, bool] | None:
    """The order, locked, with whether its receipt was issued already and whether its shop issues invoices."""
    rows = all_rows(conn, ORDER_SQL.format(shop=", s.invoices_enabled") +
                    " LEFT JOIN shops s ON s.shop_id = o.shop_id WHERE o.order_id = %s FOR UPDATE OF o", [order_id])
    if not rows:
        return None
    return _with_lines(conn, rows)[0], rows[0]["paid_at"] is not None, bool(rows[0]["invoices_enabled"])


def next_invoice_number(conn: psycopg.Connection, shop_id: str) -> int:
    """The shop's next invoice number, held (the sequence row stays locked) until the caller's transaction ends: a
    concurrent issuer of the same shop waits and takes the one after; a rollback gives it back."""
    row = one_row(conn, "INSERT INTO invoice_sequences AS q (shop_id, last_number) VALUES (%s, 1) "
                        "ON CONFLICT (shop_id) DO UPDATE SET last_number = q.last_number + 1 RETURNING last_number",
                  [shop_id])
    assert row is not None
    return int(row["last_number"])


def receipt_document(conn: psycopg.Connection, shop_id: str, order_id: str) -> dict[str, Any] | None:
    """What a receipt shows: the paid order with its lines, its shop and its customer; None when the order is not
    this shop's or has no receipt (not paid)."""
    row = one_row(conn, """
        SELECT o.*, to_jsonb(s.*) AS shop, to_jsonb(c.*) AS customer,
               (SELECT coalesce(jsonb_agg(to_jsonb(l.*) ORDER BY l.position), '[]') FROM order_lines l
                WHERE l.order_id = o.order_id AND l.quantity > 0) AS lines
        FROM orders o JOIN shops s ON s.shop_id = o.shop_id LEFT JOIN customers c ON c.customer_id = o.customer_id
        WHERE o.order_id = %s AND o.shop_id = %s AND o.paid_at IS NOT NULL""", [order_id, shop_id])
    return row
