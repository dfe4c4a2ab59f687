"""The shop's catalog, as the platform's catalog publishes it: each product's name, the producer the hub orders it
from, its price, its tax category (with the shop's rate for it, from the shop's settings), the stock left after the
orders placed, and whether it is for sale.

Read from order-service's ``GET /api/v1/shops/<shop>/variants`` (catalog.events as it projects them) with the
manager's own token; searched by words of the product's, the variant's or the producer's name; a page at a time
(the API's cursor, carried in the page's address with the search). The catalog is the platform's: nothing is
changed here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request, url_for

from web_app.manage import manager_api, shop_page

bp = Blueprint("manage_catalog", __name__, url_prefix="/manage/shops/<uuid:shop_id>/catalog")

PAGE_SIZE = 50
MAX_SEARCH = 100  # the API's limit on ``q``


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    search = (request.args.get("q") or "").strip()[:MAX_SEARCH] or None
    cursor = request.args.get("cursor") or None
    page = manager_api().get("orders", f"/api/v1/shops/{shop_id}/variants", q=search, limit=PAGE_SIZE, cursor=cursor)
    following = page.get("next_cursor")
    return render_template(
        "manage/catalog.html", variants=page["items"], search=search or "", first_page=cursor is None,
        rates={r["category"]: r["rate_bp"] for r in g.shop.get("tax_rates") or []},
        prices_include_tax=bool(g.shop.get("prices_include_tax")),
        next_url=url_for("manage_catalog.index", shop_id=shop_id, q=search, cursor=following) if following else None,
        first_url=url_for("manage_catalog.index", shop_id=shop_id, q=search))


def variant_label(variant: dict[str, Any]) -> str:
    """A variant as the shop names it: the product, then the variant's own name when it has one."""
    return f"{variant['product_name']} – {variant['variant_name']}" if variant.get("variant_name") else \
        variant["product_name"]


bp.add_app_template_filter(variant_label, "variant_label")
