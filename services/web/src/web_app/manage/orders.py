"""Orders of a cycle, for the shop's managers: pick an order cycle, see its orders by state (placed, confirmed,
cancelled, empty) with their counts, a page at a time; open one to change its lines, add a product, cancel or
resume it while the cycle is open, and read the update issues a subscription change left on it.

Everything goes through the services' REST APIs with the manager's own credential: the cycles from
subscription-service (``GET .../order-cycles``), the counts, the orders and every change from order-service
(``GET .../order-cycles/<cycle>/order-counts``, ``GET .../orders?order_cycle_id=&status=``, ``GET .../orders/<order>``,
``.../products-to-add``, ``POST .../lines``, ``PATCH``/``DELETE .../lines/<line>``, ``POST .../cancel``/``resume``).
An order's page is the customer's order page's parts (``views/orders.py``, ``templates/macros/order.html``) in the
shop's words: each change is sent with ``If-Match``, the version the page showed, so a form from a page that became
stale is refused by the API (412) and the page says so, showing the order as it is now, nothing changed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web_app import forms as web_forms
from web_app.api import ApiError
from web_app.manage import endpoint_exists, manager_api, shop_page
from web_app.views import orders as order_page

bp = Blueprint("manage_orders", __name__, url_prefix="/manage/shops/<uuid:shop_id>/orders")

STATES = ("placed", "confirmed", "cancelled", "empty")
PAGE_SIZE = 50
CYCLES_SHOWN = 100  # the picker's cycles: the open ones and the latest closed ones, latest close first


def _base(shop_id: str) -> str:
    return f"/api/v1/shops/{shop_id}"


def cycles(shop_id: str) -> list[dict[str, Any]]:
    """The cycles that can have orders (open or closed; an upcoming one has none yet), latest close first."""
    return manager_api().get("subscriptions", f"{_base(shop_id)}/order-cycles", status=["open", "closed"],
                             sort="-closes_at", limit=CYCLES_SHOWN)["items"]


def default_cycle(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cycle a manager most likely means: the open one closing first, else the one that closed last."""
    open_ones = [c for c in found if c["status"] == "open"]
    return open_ones[-1] if open_ones else (found[0] if found else None)


def counts(shop_id: str, cycle_id: str) -> dict[str, Any]:
    """The cycle's orders counted by state; all none while order-service has not heard of the cycle yet."""
    try:
        return manager_api().get("orders", f"{_base(shop_id)}/order-cycles/{cycle_id}/order-counts")["counts"]
    except ApiError as err:
        if err.status != 404:
            raise
        return {state: 0 for state in (*STATES, "orders", "with_update_issues")}


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    found = cycles(shop_id)
    wanted = request.args.get("cycle")
    cycle = next((c for c in found if c["id"] == wanted), None) if wanted else default_cycle(found)
    if wanted and cycle is None:
        abort(404)
    state = request.args.get("state") if request.args.get("state") in STATES else None
    if cycle is None:
        schedules = url_for("manage_schedules.index", shop_id=shop_id) \
            if endpoint_exists("manage_schedules.index") else None
        return render_template("manage/orders.html", cycles=found, cycle=None, state=state, schedules_url=schedules)
    try:
        page = manager_api().get("orders", f"{_base(shop_id)}/orders", order_cycle_id=cycle["id"], status=state,
                                 limit=PAGE_SIZE, cursor=request.args.get("cursor"))
    except ApiError as err:
        if err.status != 400:  # a cursor that is not one of this list's (edited, or of another state): page one
            raise
        return redirect(url_for("manage_orders.index", shop_id=shop_id, cycle=cycle["id"], state=state), 303)
    return render_template("manage/orders.html", cycles=found, cycle=cycle, state=state,
                           counts=counts(shop_id, cycle["id"]), orders=page["items"],
                           next_cursor=page.get("next_cursor"), first_page=not request.args.get("cursor"))


# -- one order -------------------------------------------------------------------------------------------------------


back_to_order = order_page.back_to("manage_orders.order")


def why_not(order: dict[str, Any]) -> str | None:
    """Why the order cannot be changed now, in the shop's words (None: it can)."""
    if order["editable"]["by_manager"]:
        return None
    if order["status"] == "empty":
        return _("Nothing the customer asked for was available, so this order is empty and nothing will be charged.")
    return _("Orders of this cycle have closed: this order can no longer be changed.")


def _page(shop_id: str, order_id: str, *, forms: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The order's page; ``forms``: those to show as the manager sent them, with their errors (keys as in
    :func:`web_app.views.orders.order_forms`, and ``add`` for adding a product)."""
    api = manager_api()
    order = api.get("orders", order_page.order_path(shop_id, order_id))
    lines, order_form = order_page.order_forms(order, forms or {})
    changeable = order["status"] == "placed" and order["editable"]["by_manager"]
    add_form = (forms or {}).get("add") or web_forms.AddProductForm(prefix="add", formdata=None)
    add_form.version.data = str(order["version"])
    products = api.get("orders", f"{order_page.order_path(shop_id, order_id)}/products-to-add")["items"] \
        if changeable else []
    add_form.variant_id.choices = [("", _("Choose a product"))] + [
        (p["variant_id"], product_label(p, order["currency"])) for p in products]
    errors = order_page.page_errors(lines, order_form)
    errors += [(add_form[name].id, m) for name in ("variant_id", "quantity") for m in add_form[name].errors]
    errors += [("add-product", m) for m in add_form.form_errors]
    issues = [{**issue, "words": issue_words(issue, order["lines"])} for issue in order.get("update_issues") or []]
    return render_template("manage/order.html", order=order, lines=lines, order_form=order_form, add_form=add_form,
                           products=products, changeable=changeable, why_not=why_not(order), errors=errors,
                           may_remove=order_page.may_remove(lines), issues=issues), status


def product_label(product: dict[str, Any], currency: str) -> str:
    from web_app.i18n import money

    if product["available"] is None:
        return _("%(name)s, %(price)s", name=product["name"], price=money(product["unit_price"], currency))
    return _("%(name)s, %(price)s (%(n)s left)", name=product["name"], price=money(product["unit_price"], currency),
             n=product["available"])


def issue_words(issue: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """An update issue in the manager's words: its kind, about its product (named as on the order)."""
    from web_app import words

    name = next((line["name"] for line in lines if line["variant_id"] == issue.get("variant_id")),
                issue.get("variant_id") or "")
    return words.update_issue(issue["kind"], name)


@bp.get("/<uuid:order_id>")
@shop_page
def order(shop_id: str, order_id: Any):  # type: ignore[no-untyped-def]
    return _page(shop_id, str(order_id))


@bp.get("/<uuid:order_id>/receipt.pdf")
@shop_page
def receipt(shop_id: str, order_id: Any):  # type: ignore[no-untyped-def]
    """The paid order's receipt or invoice, as the customer gets it (in the manager's language)."""
    return order_page.receipt_file(manager_api(), shop_id, str(order_id))


def _submit(shop_id: str, order_id: str, form: Any, key: str, done: str, on_refusal: Any, send: Any) -> Any:
    return order_page.submit(form, key, done, on_refusal, send,
                             back=lambda: url_for("manage_orders.order", shop_id=shop_id, order_id=order_id),
                             page=lambda forms: _page(shop_id, order_id, forms=forms, status=422))


def _send(method: str, path: str, version: str | None, json: Any = None) -> None:
    order_page.send(manager_api(), method, path, version, json)


@bp.post("/<uuid:order_id>/lines/<line_id>")
@back_to_order
@shop_page
def change_quantity(shop_id: str, order_id: str, line_id: str):  # type: ignore[no-untyped-def]
    form = web_forms.QuantityForm(prefix=f"line-{line_id}")

    def refused(err: ApiError) -> None:
        form.quantity.errors = [*form.quantity.errors, *order_page.messages(err, "quantity")]

    return _submit(shop_id, order_id, form, f"quantity:{line_id}", _("The quantity is changed."), refused,
                   lambda: _send("PATCH", f"{order_page.order_path(shop_id, order_id)}/lines/{line_id}",
                                 form.version.data, {"quantity": form.quantity.data}))


@bp.post("/<uuid:order_id>/lines/<line_id>/remove")
@back_to_order
@shop_page
def remove_line(shop_id: str, order_id: str, line_id: str):  # type: ignore[no-untyped-def]
    form = web_forms.OrderActionForm(prefix=f"remove-{line_id}")
    return _submit(shop_id, order_id, form, f"remove:{line_id}", _("The product is removed from the order."),
                   lambda err: form.form_errors.extend(order_page.messages(err, "line_id")),
                   lambda: _send("DELETE", f"{order_page.order_path(shop_id, order_id)}/lines/{line_id}",
                                 form.version.data))


@bp.post("/<uuid:order_id>/lines")
@back_to_order
@shop_page
def add_product(shop_id: str, order_id: str):  # type: ignore[no-untyped-def]
    form = web_forms.AddProductForm(prefix="add")

    def refused(err: ApiError) -> None:
        web_forms.show_problem(form, err)

    return _submit(shop_id, order_id, form, "add", _("The product is added to the order."), refused,
                   lambda: _send("POST", f"{order_page.order_path(shop_id, order_id)}/lines", form.version.data,
                                 {"variant_id": form.variant_id.data, "quantity": form.quantity.data}))


def _order_action(shop_id: str, order_id: str, action: str, done: str) -> Any:
    form = web_forms.OrderActionForm(prefix="order")
    return _submit(shop_id, order_id, form, "order", done,
                   lambda err: form.form_errors.extend(order_page.messages(err, action)),
                   lambda: _send("POST", f"{order_page.order_path(shop_id, order_id)}/{action}", form.version.data))


@bp.post("/<uuid:order_id>/cancel")
@back_to_order
@shop_page
def cancel(shop_id: str, order_id: str):  # type: ignore[no-untyped-def]
    return _order_action(shop_id, order_id, "cancel", _("The order is cancelled. Nothing will be charged for it."))


@bp.post("/<uuid:order_id>/resume")
@back_to_order
@shop_page
def resume(shop_id: str, order_id: str):  # type: ignore[no-untyped-def]
    return _order_action(shop_id, order_id, "resume", _("The order is back."))
