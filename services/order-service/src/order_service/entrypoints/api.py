"""REST routes under /api/v1: orders by shop, cycle, customer and status; one order with its lines,
history and payment; edits until the cycle closes; cancel/resume; a cycle's order counts, placement and
confirmation summaries; the shop's catalog (its variants, as catalog.events tell). Managers see their shops'
orders, customers only their own."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Response, g, jsonify, request

from order_service.adapters import views
from order_service.domain import commands
from order_service.entrypoints import api_schemas as s
from order_service.service_layer import handlers, receipts
from servicekit.web.app import now, principal, request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import decode_cursor, encode_cursor, expected_version, idempotent, with_etag
from servicekit.web.problems import Forbidden, NotFound, Unprocessable

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders of the subscriptions, by shop.")

ORDER = "/shops/<shop_id>/orders/<order_id>"


@cache
def _schema(cls: type[Any]) -> Any:
    """One instance per response schema: building one deep-copies its declared fields (and its nested schemas at
    the first dump), a measurable share of a worker's Python time on POST .../lines (bench/README.md, "Measured
    design choices"). Dumping is thread-safe."""
    return cls()


def _request() -> handlers.Request:
    reason = request.headers.get("X-Change-Reason")
    if reason is not None and len(reason) > 500:
        raise Unprocessable(errors={"X-Change-Reason": ["At most 500 characters."]})
    return handlers.Request(principal(), now(), expected_version(), reason or None, g.get("correlation_id"))


def _order_response(shop_id: str, order_id: str, status: int = 200) -> Response:
    view = views.order(request_conn(), shop_id, order_id, now())
    if view is None:
        raise NotFound(f"No order {order_id} in this shop.")
    resp = jsonify(_schema(s.Order).dump(view))
    resp.status_code = status
    return with_etag(resp, view["version"])


def _visible(shop_id: str) -> None:
    handlers.ensure_shop_visible(principal(), shop_id)


def _manager_only(shop_id: str, what: str) -> None:
    _visible(shop_id)
    if principal().is_customer:
        raise Forbidden(f"Only the shop's managers can {what}.")


@blp.route("/shops/<shop_id>/orders", methods=["GET"])
@blp.arguments(s.ListOrdersArgs, location="query")
@blp.response(200, s.OrderPage)
@blp.alt_response(404, response="NOT_FOUND")
def list_orders(args: dict[str, Any], shop_id: str) -> Response:
    """Orders of a shop, newest first; filter by order cycle, customer, subscription, status."""
    return _list(args, shop_id)


def _list(args: dict[str, Any], shop_id: str, customer_id: str | None = None) -> Response:
    """One page of the shop's orders (of one customer's, under /customers/<id>); a parent this service has not
    heard of is a 404, as a single resource would be."""
    _visible(shop_id)
    me = principal()
    after = decode_cursor(args.pop("cursor", None), ("time", "text"))
    if customer_id is not None:
        args["customer_id"] = customer_id
    if me.is_customer:
        if args.get("customer_id") not in (None, me.customer_id):
            return jsonify({"items": [], "next_cursor": None})
        args["customer_id"] = me.customer_id
    limit = args.pop("limit")
    items = views.orders(request_conn(), shop_id, args, limit, after, now())
    if not items and not views.parent_exists(request_conn(), shop_id, customer_id):
        raise NotFound(f"No customer {customer_id} in this shop." if customer_id else "No such shop.")
    has_more = len(items) > limit
    items = items[:limit]
    cursor = encode_cursor([items[-1]["placed_at"], items[-1]["order_id"]]) if has_more else None
    return jsonify(_schema(s.OrderPage).dump({"items": items, "next_cursor": cursor}))


@blp.route("/shops/<shop_id>/customers/<customer_id>/orders", methods=["GET"])
@blp.arguments(s.CustomerOrdersArgs, location="query")
@blp.response(200, s.OrderPage)
@blp.alt_response(404, response="NOT_FOUND")
def customer_orders(args: dict[str, Any], shop_id: str, customer_id: str) -> Response:
    """One customer's orders (a customer may only ask for their own; 404 for a customer not of this shop)."""
    _visible(shop_id)
    if principal().is_customer and principal().customer_id != customer_id:
        raise NotFound(f"No customer {customer_id} in this shop.")
    return _list(args, shop_id, customer_id)


@blp.route(ORDER, methods=["GET"])
@blp.response(200, s.Order)
def get_order(shop_id: str, order_id: str) -> Response:
    """One order with its lines (requested and allocated quantities), payment state and update issues."""
    _visible(shop_id)
    view = views.order(request_conn(), shop_id, order_id, now())
    if view is None or (principal().is_customer and view["customer_id"] != principal().customer_id):
        raise NotFound(f"No order {order_id} in this shop.")
    return with_etag(jsonify(_schema(s.Order).dump(view)), view["version"])


@blp.route(ORDER + "/history", methods=["GET"])
@blp.response(200, s.History)
def order_history(shop_id: str, order_id: str) -> Response:
    """What happened to the order: its events and its payment's, in time order."""
    _visible(shop_id)
    view = views.order(request_conn(), shop_id, order_id, now())
    if view is None or (principal().is_customer and view["customer_id"] != principal().customer_id):
        raise NotFound(f"No order {order_id} in this shop.")
    return jsonify(_schema(s.History).dump({"items": views.history(request_conn(), order_id)}))


@blp.route(ORDER + "/update-issues", methods=["GET"])
@blp.response(200, s.UpdateIssues)
def order_update_issues(shop_id: str, order_id: str) -> Response:
    """Subscription changes that could not be applied to this order (hand-edited lines, stock...)."""
    _manager_only(shop_id, "read update issues")
    if views.order(request_conn(), shop_id, order_id, now()) is None:
        raise NotFound(f"No order {order_id} in this shop.")
    return jsonify(_schema(s.UpdateIssues).dump({"items": views.update_issues(request_conn(), order_id)}))


@blp.route(ORDER, methods=["PATCH"])
@blp.arguments(s.OrderDetails)
@blp.response(200, s.Order)
def change_details(args: dict[str, Any], shop_id: str, order_id: str) -> Response:
    """Change the shipping or payment method or an address (managers, until the cycle closes)."""
    handlers.change_details(request_conn(), commands.ChangeDetails(shop_id, order_id, **args), _request())
    return _order_response(shop_id, order_id)


@blp.route(ORDER + "/products-to-add", methods=["GET"])
@blp.response(200, s.ProductsToAdd)
def products_to_add(shop_id: str, order_id: str) -> Response:
    """The products a manager may add to this order with POST .../lines, by name: sold by the shop, not on the order
    yet, with stock left (managers only; whether the order can still change is the order's ``editable``)."""
    _manager_only(shop_id, "add products to an order")
    found = handlers.products_to_add(request_conn(), shop_id, order_id, principal())
    return jsonify(_schema(s.ProductsToAdd).dump({"items": found}))


@blp.route(ORDER + "/lines", methods=["POST"])
@idempotent
@blp.arguments(s.NewLine)
@blp.response(201, s.Order)
def add_line(args: dict[str, Any], shop_id: str, order_id: str) -> Response:
    """Add a product (managers, within stock, until the cycle closes)."""
    handlers.add_line(request_conn(), commands.AddLine(shop_id, order_id, **args), _request())
    return _order_response(shop_id, order_id, 201)


@blp.route(ORDER + "/lines/<line_id>", methods=["PATCH"])
@blp.arguments(s.LineQuantity)
@blp.response(200, s.Order)
def change_line(args: dict[str, Any], shop_id: str, order_id: str, line_id: str) -> Response:
    """Change a line's quantity (managers; customers when the shop allows it), within stock."""
    handlers.change_line_quantity(request_conn(), commands.ChangeLineQuantity(shop_id, order_id, line_id,
                                                                              args["quantity"]), _request())
    return _order_response(shop_id, order_id)


@blp.route(ORDER + "/lines/<line_id>", methods=["DELETE"])
@blp.response(200, s.Order)
def remove_line(shop_id: str, order_id: str, line_id: str) -> Response:
    """Remove a line; never the last one (cancel the order instead)."""
    handlers.remove_line(request_conn(), commands.RemoveLine(shop_id, order_id, line_id), _request())
    return _order_response(shop_id, order_id)


@blp.route(ORDER + "/cancel", methods=["POST"])
@idempotent
@blp.response(200, s.Order)
def cancel(shop_id: str, order_id: str) -> Response:
    """Cancel the order before its cycle closes (managers; customers when the shop allows it)."""
    handlers.cancel_order(request_conn(), commands.CancelOrder(shop_id, order_id), _request())
    return _order_response(shop_id, order_id)


@blp.route(ORDER + "/resume", methods=["POST"])
@idempotent
@blp.response(200, s.Order)
def resume(shop_id: str, order_id: str) -> Response:
    """Resume a cancelled order before its cycle closes (managers; customers when the shop allows it, an order
    they cancelled themselves); lines are re-allocated within stock."""
    handlers.resume_order(request_conn(), commands.ResumeOrder(shop_id, order_id), _request())
    return _order_response(shop_id, order_id)


@blp.route("/shops/<shop_id>/variants", methods=["GET"])
@blp.arguments(s.VariantsArgs, location="query")
@blp.response(200, s.VariantPage)
@blp.alt_response(404, response="NOT_FOUND")
def list_variants(args: dict[str, Any], shop_id: str) -> Response:
    """The shop's catalog as the platform publishes it (catalog.events), by product and variant name: price,
    stock left after the orders placed, availability, supplier (managers)."""
    _manager_only(shop_id, "read the shop's catalog")
    return _catalog_page(args, shop_id, s.VariantPage, for_sale=False)


@blp.route("/shops/<shop_id>/products", methods=["GET"])
@blp.arguments(s.ProductsArgs, location="query")
@blp.response(200, s.ProductPage)
@blp.alt_response(404, response="NOT_FOUND")
def list_products(args: dict[str, Any], shop_id: str) -> Response:
    """The products a customer of the shop can choose (to name substitutes on their subscription): the available
    variants of the catalog, by product and variant name, with price and whether any is in stock; no stock count
    or supplier (those are the managers' `GET .../variants`). The shop's customers and managers."""
    _visible(shop_id)
    return _catalog_page(args, shop_id, s.ProductPage, for_sale=True)


def _catalog_page(args: dict[str, Any], shop_id: str, page: type[s.VariantPage] | type[s.ProductPage], *,
                  for_sale: bool) -> Response:
    """One page of the shop's catalog, the managers' or the customers' (``for_sale``): one query, one cursor."""
    after = decode_cursor(args.get("cursor"), ("text", "text", "text"))
    limit = args["limit"]
    items = views.variants(request_conn(), shop_id, args.get("q"), limit, after, for_sale=for_sale)
    if not items and not views.parent_exists(request_conn(), shop_id, None):
        raise NotFound("No such shop.")
    last = items[limit - 1] if len(items) > limit else None
    cursor = encode_cursor([last["product_name"], last["variant_name"] or "", last["variant_id"]]) if last else None
    return jsonify(_schema(page).dump({"items": items[:limit], "next_cursor": cursor}))


@blp.route("/shops/<shop_id>/order-cycles/<order_cycle_id>/order-counts", methods=["GET"])
@blp.response(200, s.CycleOrderCounts)
def order_counts(shop_id: str, order_cycle_id: str) -> Response:
    """The cycle's orders counted by status (placed, confirmed, cancelled, empty) and those with update issues,
    and whether it is still open: the heading of a manager's list of the cycle's orders (the list itself is
    GET .../orders?order_cycle_id=&status=). 404 for a cycle this service has not heard of."""
    _manager_only(shop_id, "read a cycle's order counts")
    found = views.order_counts(request_conn(), shop_id, order_cycle_id, now())
    if found is None:
        raise NotFound(f"No order cycle {order_cycle_id} in this shop.")
    return jsonify(_schema(s.CycleOrderCounts).dump(found))


@blp.route("/shops/<shop_id>/order-cycles/<order_cycle_id>/placement-summary", methods=["GET"])
@blp.response(200, s.PlacementSummary)
def placement_summary(shop_id: str, order_cycle_id: str) -> Response:
    """What was placed for the cycle: dues, orders, capped and empty ones (with their lines), runs."""
    _manager_only(shop_id, "read placement summaries")
    found = views.placement_summary(request_conn(), shop_id, order_cycle_id)
    if found is None:
        raise NotFound(f"No order cycle {order_cycle_id} in this shop.")
    return jsonify(_schema(s.PlacementSummary).dump(found))


@blp.route("/shops/<shop_id>/order-cycles/<order_cycle_id>/confirmation-summary", methods=["GET"])
@blp.response(200, s.ConfirmationSummary)
def confirmation_summary(shop_id: str, order_cycle_id: str) -> Response:
    """What was confirmed at the close and what became of the payments (failed, authorisation required...)."""
    _manager_only(shop_id, "read confirmation summaries")
    found = views.confirmation_summary(request_conn(), shop_id, order_cycle_id)
    if found is None:
        raise NotFound(f"No order cycle {order_cycle_id} in this shop.")
    return jsonify(_schema(s.ConfirmationSummary).dump(found))


@blp.route(ORDER + "/receipt.pdf", methods=["GET"])
@blp.arguments(s.ReceiptArgs, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
              description="the receipt, or the invoice in a shop that issues invoices (`invoices_enabled`)")
@blp.alt_response(404, response="NOT_FOUND")
def receipt_pdf(args: dict[str, Any], shop_id: str, order_id: str) -> Response:
    """The paid order's receipt (an invoice with its number in a shop that issues invoices) as a PDF, in `lang`,
    else the customer's language, else the shop's. The order's customer and the shop's managers; 404 for an order
    not paid yet, another customer's or another shop's."""
    _visible(shop_id)
    view = views.order(request_conn(), shop_id, order_id, now())
    if view is None or (principal().is_customer and view["customer_id"] != principal().customer_id):
        raise NotFound(f"No order {order_id} in this shop.")
    made = receipts.pdf(request_conn(), shop_id, order_id, args.get("lang"))
    if made is None:
        raise NotFound(f"Order {order_id} has no receipt: it is not paid.")
    name, body = made
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
