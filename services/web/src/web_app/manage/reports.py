"""The console's reports of an order cycle (order-service's ``.../order-cycles/<cycle>/reports``): pick a cycle (the
shop's open and closed ones, newest first), then its packing list (what goes in each box, delivery or pickup, the
address), its totals per product grouped by supplier (what the hub orders from each farm), and its orders with their
payments and totals; each a page at a time, and each as a CSV file of the whole cycle, passed on as order-service
streams it, its header in the page's language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale

from web_app.api import ApiError
from web_app.manage import manager_api, shop_page

bp = Blueprint("manage_reports", __name__, url_prefix="/manage/shops/<uuid:shop_id>/reports")

PAGE = 50
CYCLES = 20
FILES = ("packing-list", "product-totals", "supplier-totals", "orders")
CHUNK = 64 * 1024


def _reports(shop_id: str, cycle_id: Any) -> str:
    return f"/api/v1/shops/{shop_id}/order-cycles/{cycle_id}/reports"


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    """The cycles that have orders (open and closed), newest first, each with its three reports."""
    cursor = request.args.get("cursor") or None
    try:
        found = manager_api().get("subscriptions", f"/api/v1/shops/{shop_id}/order-cycles", sort="-opens_at",
                                  status=["open", "closed"], limit=CYCLES, cursor=cursor)
    except ApiError as err:
        if err.status == 400 and cursor:  # a cursor from an old or altered address: the first page
            return redirect(url_for("manage_reports.index", shop_id=shop_id), 303)
        raise
    return render_template("manage/reports.html", cycles=found["items"], next_cursor=found.get("next_cursor"),
                           first=cursor is None)


def _page(shop_id: str, cycle_id: Any, report: str, template: str, **params: Any) -> Any:
    """One page of a report, or the first page again when its cursor is refused (an old or altered address)."""
    cursor = request.args.get("cursor") or None
    try:
        found = manager_api().get("orders", f"{_reports(shop_id, cycle_id)}/{report}", cursor=cursor, **params)
    except ApiError as err:
        if err.status == 400 and cursor:
            return redirect(url_for(request.endpoint or "", shop_id=shop_id, cycle_id=cycle_id), 303)
        raise
    return render_template(template, report=found, cycle=found["order_cycle"], cycle_id=str(cycle_id),
                           first=cursor is None)


@bp.get("/<uuid:cycle_id>/packing-list")
@shop_page
def packing_list(shop_id: str, cycle_id: Any):  # type: ignore[no-untyped-def]
    return _page(shop_id, cycle_id, "packing-list", "manage/reports_packing.html", limit=PAGE)


@bp.get("/<uuid:cycle_id>/product-totals")
@shop_page
def product_totals(shop_id: str, cycle_id: Any):  # type: ignore[no-untyped-def]
    return _page(shop_id, cycle_id, "product-totals", "manage/reports_products.html")


@bp.get("/<uuid:cycle_id>/orders")
@shop_page
def orders(shop_id: str, cycle_id: Any):  # type: ignore[no-untyped-def]
    return _page(shop_id, cycle_id, "orders", "manage/reports_orders.html", limit=PAGE)


@bp.get("/<uuid:cycle_id>/<any(" + ", ".join(f'"{f}"' for f in FILES) + "):report>.csv")
@shop_page
def download(shop_id: str, cycle_id: Any, report: str):  # type: ignore[no-untyped-def]
    """The whole report as order-service writes it, passed on as it comes (a cycle of any size: constant memory)."""
    upstream = manager_api().download("orders", f"{_reports(shop_id, cycle_id)}/{report}.csv", lang=str(get_locale()))

    def body() -> Any:
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": upstream.headers.get("Content-Disposition", f'attachment; filename="{report}.csv"')})
