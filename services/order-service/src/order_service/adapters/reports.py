"""The managers' reports of one order cycle, read from the projections: the packing list (what goes in each box),
the totals per product and per supplier (what the hub orders from each farm), and the orders with their payments.

Each report is one statement. A page of a report is read at once; a whole report (the CSV download) is read
through a server-side cursor in batches, so a cycle of any size streams in constant memory.

What counts: the packing list and the product totals take the allocated quantity (``order_lines.quantity``, what is
in the box, never the requested one) of the orders that will be delivered (placed or confirmed), lines at zero
left out; the orders report lists every order of the cycle, cancelled and empty ones included, and its totals count
the placed and confirmed ones. Tax: an order's as it carries it (``tax_total``, included in its total or added to it as
its ``prices_include_tax`` says); a product's, the sum of its lines' own tax.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool

from order_service.adapters.db import all_rows, one_row
from order_service.adapters.views import payment_state

DELIVERED = ("placed", "confirmed")
CURSOR_BATCH = 2000

# The sort keys of a box: the shipping method (a delivery round, a pickup point), then the customer's name (then
# the order's number). The page and the file sort by the same.
_BOX_KEY_VALUES = """coalesce(sm.name, ''), coalesce(cu.last_name, o.ship_address->>'last_name', ''),
           coalesce(cu.first_name, o.ship_address->>'first_name', '')"""
_BOX_KEYS = """coalesce(sm.name, '') AS k_method,
           coalesce(cu.last_name, o.ship_address->>'last_name', '') AS k_last,
           coalesce(cu.first_name, o.ship_address->>'first_name', '') AS k_first"""

_BOX_FROM = """
    FROM orders o
    LEFT JOIN customers cu ON cu.customer_id = o.customer_id
    LEFT JOIN shop_methods sm ON sm.shop_id = o.shop_id AND sm.kind = 'shipping' AND sm.method_id = o.shipping_method_id
    WHERE o.shop_id = %(shop_id)s AND o.order_cycle_id = %(cycle_id)s AND o.status IN ('placed', 'confirmed')
      AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.quantity > 0)"""

_BOX_COLUMNS = f"""o.order_id, o.number, o.status, o.customer_id, cu.email, o.ship_address,
           coalesce(cu.first_name, o.ship_address->>'first_name') AS first_name,
           coalesce(cu.last_name, o.ship_address->>'last_name') AS last_name,
           o.shipping_method_id, sm.name AS shipping_method, coalesce(sm.pickup, false) AS pickup,
           {_BOX_KEYS}"""

_LINE_COLUMNS = """l.variant_id, coalesce(v.product_name, l.name) AS product_name, v.variant_name,
           v.supplier, l.quantity"""

_VARIANT_JOIN = "LEFT JOIN catalog_variants v ON v.shop_id = o.shop_id AND v.variant_id = l.variant_id"

# A page of the packing list: the page's boxes first (sort keys only), then the lines of those boxes alone.
PACKING_PAGE_SQL = f"""
    SELECT boxes.*,
           (SELECT json_agg(json_build_object('variant_id', x.variant_id, 'product_name', x.product_name,
                                              'variant_name', x.variant_name, 'supplier', x.supplier,
                                              'quantity', x.quantity) ORDER BY x.position)
            FROM (SELECT l.position, {_LINE_COLUMNS} FROM order_lines l
                  LEFT JOIN catalog_variants v ON v.shop_id = boxes.shop_id AND v.variant_id = l.variant_id
                  WHERE l.order_id = boxes.order_id AND l.quantity > 0) x) AS lines
    FROM (
        SELECT o.shop_id, {_BOX_COLUMNS} {_BOX_FROM}
          AND (%(after)s::text[] IS NULL OR ({_BOX_KEY_VALUES}, o.number) >
               ((%(after)s::text[])[1], (%(after)s::text[])[2], (%(after)s::text[])[3], (%(after)s::text[])[4]))
        ORDER BY {_BOX_KEY_VALUES}, o.number
        LIMIT %(limit)s) boxes
    ORDER BY k_method, k_last, k_first, number"""  # noqa: S608 - composed of this module's constants

# The whole packing list as the file's rows: one line of a box per row, the columns of PACKING_FILE_COLUMNS in
# their order, as the file writes them (the words as the caller gives them): nothing left to do per row but write
# it. Boxes in the page's order.
PACKING_FILE_COLUMNS = ("number", "last_name", "first_name", "email", "phone", "shipping_method", "delivery_or_pickup",
                        "address1", "address2", "zipcode", "city", "country", "product", "variant", "supplier",
                        "quantity")
PACKING_FILE_SQL = f"""
    SELECT o.number, coalesce(cu.last_name, o.ship_address->>'last_name'),
           coalesce(cu.first_name, o.ship_address->>'first_name'), cu.email, o.ship_address->>'phone', sm.name,
           CASE WHEN coalesce(sm.pickup, false) THEN %(pickup)s ELSE %(delivery)s END,
           o.ship_address->>'address1', o.ship_address->>'address2', o.ship_address->>'zipcode',
           o.ship_address->>'city', o.ship_address->>'country',
           coalesce(v.product_name, l.name), v.variant_name, coalesce(v.supplier, %(no_supplier)s), l.quantity
    FROM orders o
    JOIN order_lines l ON l.order_id = o.order_id AND l.quantity > 0
    LEFT JOIN customers cu ON cu.customer_id = o.customer_id
    LEFT JOIN shop_methods sm ON sm.shop_id = o.shop_id AND sm.kind = 'shipping' AND sm.method_id = o.shipping_method_id
    {_VARIANT_JOIN}
    WHERE o.shop_id = %(shop_id)s AND o.order_cycle_id = %(cycle_id)s AND o.status IN ('placed', 'confirmed')
    ORDER BY {_BOX_KEY_VALUES}, o.number, l.position"""  # noqa: S608 - composed of this module's constants

# Allocated quantities and amounts per variant, suppliers first by name, no supplier last.
PRODUCT_TOTALS_SQL = f"""
    SELECT l.variant_id, min(coalesce(v.product_name, l.name)) AS product_name, min(v.variant_name) AS variant_name,
           min(v.supplier) AS supplier, sum(l.quantity)::bigint AS quantity, count(DISTINCT o.order_id) AS orders,
           sum(l.total)::bigint AS amount, sum(l.tax)::bigint AS tax
    FROM orders o
    JOIN order_lines l ON l.order_id = o.order_id AND l.quantity > 0
    {_VARIANT_JOIN}
    WHERE o.shop_id = %(shop_id)s AND o.order_cycle_id = %(cycle_id)s AND o.status IN ('placed', 'confirmed')
    GROUP BY l.variant_id
    ORDER BY min(v.supplier) NULLS LAST, min(coalesce(v.product_name, l.name)), min(v.variant_name) NULLS FIRST,
             l.variant_id"""  # noqa: S608 - composed of this module's constants

_ORDER_COLUMNS = """o.order_id, o.number, o.status, o.cancel_cause, o.customer_id, cu.email,
           coalesce(cu.first_name, o.bill_address->>'first_name') AS first_name,
           coalesce(cu.last_name, o.bill_address->>'last_name') AS last_name,
           sm.name AS shipping_method, pm.name AS payment_method, o.payment_kind, o.currency,
           o.item_total, o.shipping_fee, o.payment_fee, o.total, o.tax_total, o.shipping_tax, o.payment_tax,
           o.prices_include_tax, o.placed_at, o.confirmed_at, o.cancelled_at,
           o.payment_required, p.state AS payment_state, p.amount AS payment_amount,
           p.amount_refunded AS payment_amount_refunded, p.code AS payment_code, p.updated_at AS payment_updated_at"""

_ORDERS_FROM = """
    FROM orders o
    LEFT JOIN customers cu ON cu.customer_id = o.customer_id
    LEFT JOIN shop_methods sm ON sm.shop_id = o.shop_id AND sm.kind = 'shipping' AND sm.method_id = o.shipping_method_id
    LEFT JOIN shop_methods pm ON pm.shop_id = o.shop_id AND pm.kind = 'payment' AND pm.method_id = o.payment_method_id
    LEFT JOIN order_payments p ON p.order_id = o.order_id
    WHERE o.shop_id = %(shop_id)s AND o.order_cycle_id = %(cycle_id)s"""

ORDERS_PAGE_SQL = f"""SELECT {_ORDER_COLUMNS} {_ORDERS_FROM} AND (%(after)s::text IS NULL OR o.number > %(after)s)
    ORDER BY o.number LIMIT %(limit)s"""

ORDERS_ROWS_SQL = f"SELECT {_ORDER_COLUMNS} {_ORDERS_FROM} ORDER BY o.number"

PAID = ("paid", "partially_refunded", "refunded")

ORDERS_TOTALS_SQL = """
    SELECT count(*) AS orders,
           count(*) FILTER (WHERE o.status = 'placed') AS placed,
           count(*) FILTER (WHERE o.status = 'confirmed') AS confirmed,
           count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE o.status = 'empty') AS empty,
           coalesce(sum(o.item_total) FILTER (WHERE o.status IN ('placed', 'confirmed')), 0)::bigint AS item_total,
           coalesce(sum(o.shipping_fee) FILTER (WHERE o.status IN ('placed', 'confirmed')), 0)::bigint AS shipping_fee,
           coalesce(sum(o.payment_fee) FILTER (WHERE o.status IN ('placed', 'confirmed')), 0)::bigint AS payment_fee,
           coalesce(sum(o.total) FILTER (WHERE o.status IN ('placed', 'confirmed')), 0)::bigint AS total,
           coalesce(sum(o.tax_total) FILTER (WHERE o.status IN ('placed', 'confirmed')), 0)::bigint AS tax_total,
           coalesce(sum(p.amount) FILTER (WHERE p.state IN ('paid', 'partially_refunded', 'refunded')), 0)::bigint
               AS paid,
           coalesce(sum(p.amount_refunded), 0)::bigint AS refunded,
           coalesce(sum(o.total) FILTER (WHERE o.status = 'confirmed' AND o.payment_required
               AND coalesce(p.state, '') NOT IN ('paid', 'partially_refunded', 'refunded')), 0)::bigint AS unpaid,
           count(*) FILTER (WHERE p.state = 'failed') AS failed
    FROM orders o LEFT JOIN order_payments p ON p.order_id = o.order_id
    WHERE o.shop_id = %(shop_id)s AND o.order_cycle_id = %(cycle_id)s"""


def report_cycle(conn: psycopg.Connection, shop_id: str, cycle_id: str) -> dict[str, Any] | None:
    """The cycle a report is of, with the shop's currency, time zone and language; None when this shop has no such
    cycle (neither from schedules.events nor from its orders)."""
    found = one_row(conn, """
        SELECT c.order_cycle_id, c.name, c.opens_at, c.closes_at, c.closed_at,
               s.timezone, s.currency, s.locale, s.name AS shop_name
        FROM shops s LEFT JOIN order_cycles c ON c.order_cycle_id = %(cycle_id)s AND c.shop_id = s.shop_id
        WHERE s.shop_id = %(shop_id)s""", {"shop_id": shop_id, "cycle_id": cycle_id})
    if found is None:
        return None
    if found["order_cycle_id"] is None:
        if one_row(conn, "SELECT 1 AS x FROM orders WHERE order_cycle_id = %s AND shop_id = %s LIMIT 1",
                   [cycle_id, shop_id]) is None:
            return None
        found["order_cycle_id"] = cycle_id
    return found


@contextmanager
def snapshot(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A connection of its own in one read-only transaction that sees one snapshot: a file's rows and its totals
    row agree whatever changes meanwhile. A streamed file needs it: the request's connection goes back to the
    pool when the view returns, before the body is sent."""
    with pool.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # a whole cycle's rows are sorted at once: in memory, not in temporary files
        conn.execute("SET LOCAL work_mem = '64MB'")
        yield conn


def packing_page(conn: psycopg.Connection, shop_id: str, cycle_id: str, limit: int, after: list[str] | None
                 ) -> list[dict[str, Any]]:
    """Up to ``limit`` boxes after the one whose sort keys are ``after`` (a box's ``keys``)."""
    return all_rows(conn, PACKING_PAGE_SQL, {"shop_id": shop_id, "cycle_id": cycle_id, "after": after,
                                             "limit": limit})


def packing_file_rows(conn: psycopg.Connection, shop_id: str, cycle_id: str, words: dict[str, str]
                      ) -> Iterator[list[tuple[Any, ...]]]:
    """Every line of every box as the file's rows (``PACKING_FILE_COLUMNS``), in batches; ``words``: the file's
    words for ``pickup``, ``delivery`` and ``no_supplier``."""
    with conn.cursor(name=f"report_{uuid.uuid4().hex}", row_factory=tuple_row) as cur:
        cur.execute(PACKING_FILE_SQL, {"shop_id": shop_id, "cycle_id": cycle_id, **words})
        while batch := cur.fetchmany(CURSOR_BATCH):
            yield batch


def product_totals(conn: psycopg.Connection, shop_id: str, cycle_id: str) -> list[dict[str, Any]]:
    return all_rows(conn, PRODUCT_TOTALS_SQL, {"shop_id": shop_id, "cycle_id": cycle_id})


def orders_page(conn: psycopg.Connection, shop_id: str, cycle_id: str, limit: int, after: str | None
                ) -> list[dict[str, Any]]:
    """Up to ``limit`` orders by number, after the order numbered ``after``."""
    return [_with_payment(r) for r in all_rows(conn, ORDERS_PAGE_SQL, {"shop_id": shop_id, "cycle_id": cycle_id,
                                                                       "after": after, "limit": limit})]


def order_rows(conn: psycopg.Connection, shop_id: str, cycle_id: str) -> Iterator[dict[str, Any]]:
    return map(_with_payment, _streamed(conn, ORDERS_ROWS_SQL, {"shop_id": shop_id, "cycle_id": cycle_id}))


def _with_payment(row: dict[str, Any]) -> dict[str, Any]:
    """The order's payment in one word (as the order's own view says it), what was paid and what refunded."""
    row["payment_state"] = payment_state(row)
    row["paid"] = row["payment_amount"] if row["payment_state"] in PAID else 0
    row["refunded"] = row["payment_amount_refunded"] or 0
    return row


def orders_totals(conn: psycopg.Connection, shop_id: str, cycle_id: str) -> dict[str, Any]:
    found = one_row(conn, ORDERS_TOTALS_SQL, {"shop_id": shop_id, "cycle_id": cycle_id})
    assert found is not None  # an aggregate always has its row
    return found


def _streamed(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The rows of ``query`` through a server-side cursor, ``CURSOR_BATCH`` at a time. A named cursor lives in a
    transaction: ``conn`` must not be in autocommit."""
    with conn.cursor(name=f"report_{uuid.uuid4().hex}", row_factory=dict_row) as cur:
        cur.itersize = CURSOR_BATCH
        cur.execute(query, params)
        yield from cur
