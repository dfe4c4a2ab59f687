"""REST routes of the managers' reports of one order cycle, under /api/v1/shops/<shop>/order-cycles/<cycle>/reports:
the packing list, the totals per product and per supplier, and the orders with their payments; each as JSON (a
page, for the console's pages) and as a CSV file of the whole cycle (``.csv``), streamed as it is read.

Managers of the shop (and the platform admin) only: a customer is refused (403), another shop's manager and an
unknown cycle get a 404, as an order would."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Response, current_app, jsonify

from order_service.adapters import reports
from order_service.adapters.formatting import local
from order_service.domain.model import TOTAL_KEYS
from order_service.domain.reports import by_supplier, grand_total
from order_service.entrypoints import report_files as files
from order_service.entrypoints import report_schemas as s
from order_service.entrypoints.api import _manager_only, _schema
from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import decode_cursor, encode_cursor
from servicekit.web.problems import NotFound

blp = Blueprint("reports", __name__, url_prefix="/api/v1",
                description="Reports of an order cycle for the shop's managers: packing list, product and supplier "
                            "totals, orders and payments; JSON pages and CSV files.")

REPORTS = "/shops/<shop_id>/order-cycles/<order_cycle_id>/reports"
CSV = {"type": "string", "description": "UTF-8 CSV with a byte order mark and a header row"}


def _cycle(shop_id: str, order_cycle_id: str) -> dict[str, Any]:
    _manager_only(shop_id, "read reports")
    found = reports.report_cycle(request_conn(), shop_id, order_cycle_id)
    if found is None:
        raise NotFound(f"No order cycle {order_cycle_id} in this shop.")
    tz = found["timezone"]
    return {**found, "opens_at_local": local(found["opens_at"], tz), "closes_at_local": local(found["closes_at"], tz)}


def _file(cycle: dict[str, Any], name: str, lang: str | None,
          write: Callable[[Any, files.Context], Iterable[bytes]]) -> Response:
    """A CSV file streamed as it is read (``reports.snapshot``: a connection and a snapshot of its own)."""
    context = files.Context(lang or cycle["locale"], cycle["currency"], cycle["timezone"])
    pool = current_app.extensions["pool"]

    def body() -> Iterator[bytes]:
        with reports.snapshot(pool) as conn:
            yield from write(conn, context)

    closes = cycle["closes_at_local"]
    stem = f"{name}-{closes:%Y-%m-%d}" if closes else f"{name}-{cycle['order_cycle_id']}"
    return Response(body(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{stem}.csv"'})


# -- packing list ----------------------------------------------------------------------------------------------------


def _box(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in ("order_id", "number", "status", "customer_id", "ship_address", "lines")},
            "customer": {"email": row["email"], "first_name": row["first_name"], "last_name": row["last_name"]},
            "shipping_method": {"id": row["shipping_method_id"], "name": row["shipping_method"],
                                "pickup": row["pickup"]}}


@blp.route(REPORTS + "/packing-list", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.PackingList)
@blp.alt_response(404, response="NOT_FOUND")
def packing_list(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """What goes in each box: per order to deliver, the customer, delivery or pickup, the address, the allocated
    quantities; by shipping method, then customer name."""
    cycle = _cycle(shop_id, order_cycle_id)
    after = decode_cursor(args.get("cursor"), ("text", "text", "text", "text"))
    rows = reports.packing_page(request_conn(), shop_id, order_cycle_id, args["limit"] + 1, after)
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]
    cursor = encode_cursor([rows[-1][k] for k in ("k_method", "k_last", "k_first", "number")]) if more else None
    return jsonify(_schema(s.PackingList).dump({"order_cycle": cycle, "items": [_box(r) for r in rows],
                                                "next_cursor": cursor}))


@blp.route(REPORTS + "/packing-list.csv", methods=["GET"])
@blp.arguments(s.FileArgs, location="query")
@blp.response(200, CSV, content_type="text/csv", description="one row per product of each box, in the page's order")
@blp.alt_response(404, response="NOT_FOUND")
def packing_list_file(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """The whole packing list as a CSV file: one row per product in a box, with its customer, delivery or pickup
    and address."""
    cycle = _cycle(shop_id, order_cycle_id)
    return _file(cycle, "packing-list", args.get("lang"), lambda conn, c: files.written(
        reports.PACKING_FILE_COLUMNS, reports.packing_file_rows(conn, shop_id, order_cycle_id, files.packing_words(c)),
        c))


# -- product and supplier totals -------------------------------------------------------------------------------------


@blp.route(REPORTS + "/product-totals", methods=["GET"])
@blp.response(200, s.ProductTotals)
@blp.alt_response(404, response="NOT_FOUND")
def product_totals(shop_id: str, order_cycle_id: str) -> Response:
    """What the hub must order from each producer: allocated quantities and amounts per product, grouped by
    supplier (products whose supplier the catalog does not say in a group of their own, last)."""
    cycle = _cycle(shop_id, order_cycle_id)
    products = reports.product_totals(request_conn(), shop_id, order_cycle_id)
    return jsonify(_schema(s.ProductTotals).dump({"order_cycle": cycle, "suppliers": by_supplier(products),
                                                  "totals": grand_total(products)}))


@blp.route(REPORTS + "/product-totals.csv", methods=["GET"])
@blp.arguments(s.FileArgs, location="query")
@blp.response(200, CSV, content_type="text/csv", description="one row per product, by supplier")
@blp.alt_response(404, response="NOT_FOUND")
def product_totals_file(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """The product totals as a CSV file: one row per product with its supplier."""
    cycle = _cycle(shop_id, order_cycle_id)
    return _file(cycle, "product-totals", args.get("lang"), lambda conn, c: files.chunks(
        files.PRODUCT_TOTALS, reports.product_totals(conn, shop_id, order_cycle_id), c))


@blp.route(REPORTS + "/supplier-totals.csv", methods=["GET"])
@blp.arguments(s.FileArgs, location="query")
@blp.response(200, CSV, content_type="text/csv", description="one row per supplier")
@blp.alt_response(404, response="NOT_FOUND")
def supplier_totals_file(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """The totals per supplier as a CSV file: products, quantity and amount of each (the JSON is product-totals)."""
    cycle = _cycle(shop_id, order_cycle_id)
    return _file(cycle, "supplier-totals", args.get("lang"), lambda conn, c: files.chunks(
        files.SUPPLIER_TOTALS, by_supplier(reports.product_totals(conn, shop_id, order_cycle_id)), c))


# -- orders and payments ---------------------------------------------------------------------------------------------


def _order(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {**{k: row[k] for k in ("order_id", "number", "status", "cancel_cause", "customer_id", "shipping_method",
                                   "payment_method", "payment_kind", "placed_at", "confirmed_at")},
            "customer": {"email": row["email"], "first_name": row["first_name"], "last_name": row["last_name"]},
            "totals": {k: row[k] for k in TOTAL_KEYS},
            "placed_at_local": local(row["placed_at"], tz), "confirmed_at_local": local(row["confirmed_at"], tz),
            "payment": {"state": row["payment_state"], "amount": row["payment_amount"], "paid": row["paid"],
                        "refunded": row["refunded"], "code": row["payment_code"],
                        "updated_at": row["payment_updated_at"]}}


@blp.route(REPORTS + "/orders", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.OrdersReport)
@blp.alt_response(404, response="NOT_FOUND")
def orders_report(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """Every order of the cycle by number with its totals and payment, and the cycle's totals (of the placed and
    confirmed orders: ordered, paid, refunded, unpaid)."""
    cycle = _cycle(shop_id, order_cycle_id)
    after = decode_cursor(args.get("cursor"), ("text",))
    conn = request_conn()
    rows = reports.orders_page(conn, shop_id, order_cycle_id, args["limit"] + 1, after[0] if after else None)
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]
    return jsonify(_schema(s.OrdersReport).dump({
        "order_cycle": cycle, "totals": reports.orders_totals(conn, shop_id, order_cycle_id),
        "items": [_order(r, cycle["timezone"]) for r in rows],
        "next_cursor": encode_cursor([rows[-1]["number"]]) if more else None}))


@blp.route(REPORTS + "/orders.csv", methods=["GET"])
@blp.arguments(s.FileArgs, location="query")
@blp.response(200, CSV, content_type="text/csv", description="one row per order, then a row of totals")
@blp.alt_response(404, response="NOT_FOUND")
def orders_report_file(args: dict[str, Any], shop_id: str, order_cycle_id: str) -> Response:
    """Every order of the cycle with its totals and payment as a CSV file; its last row holds the totals of the
    placed and confirmed orders."""
    cycle = _cycle(shop_id, order_cycle_id)

    def write(conn: Any, c: files.Context) -> Iterable[bytes]:
        return files.chunks(files.ORDERS, reports.order_rows(conn, shop_id, order_cycle_id), c,
                            last=lambda: files.orders_total_row(reports.orders_totals(conn, shop_id, order_cycle_id),
                                                                c))

    return _file(cycle, "orders", args.get("lang"), write)
