"""A customer's order at a shop: its lines, quantities, prices and totals; until the cycle closes, and as the shop
allows, change a quantity, remove a line (never the last one), cancel the order and resume it.

Everything is done through order-service's REST API with the customer's own session
(``/api/v1/shops/<shop>/orders/<order>``: GET, ``lines/<line>`` PATCH and DELETE, ``cancel``, ``resume``), each
change sent with ``If-Match`` set to the version the page showed, so an order changed meanwhile (by the shop, a
subscription change) is not acted on unseen: the API's 412 shows the order as it is now. The API decides what is
allowed; the page shows only what the API says the customer may do now (``editable.by_customer``), says why not
otherwise, and shows any refusal next to the field or button it concerns, in the customer's language
(:mod:`web_app.refusals`), with nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from web_app import people, refusals
from web_app.api import ApiError
from web_app.forms import OrderActionForm, QuantityForm
from web_app.i18n import use_reader
from web_app.views.customer import customer_of_shop

bp = Blueprint("orders", __name__)

LINE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")  # order-service's line ids (l-1, l-2...): nothing else reaches a path
REFUSALS = (403, 404, 409, 412, 422)  # what a change can be refused with; the page shows them (404: a line gone)


def back_to(page: str) -> Callable[[Any], Any]:
    """A post about an order comes back to the order's page (the endpoint ``page``: the customer's, a manager's),
    also through signing in again (``next``); a line id that is not one of order-service's is not found."""

    def decorate(view: Any) -> Any:
        @wraps(view)
        def wrapper(shop_id: Any, order_id: Any, **kw: Any) -> Any:
            if not LINE_ID.fullmatch(kw.get("line_id", "l")):
                abort(404)
            g.back_to = url_for(page, shop_id=shop_id, order_id=order_id)
            return view(shop_id=shop_id, order_id=str(order_id), **kw)

        return wrapper

    return decorate


back_to_order = back_to("orders.order")


def order_path(shop_id: str, order_id: str) -> str:
    return f"/api/v1/shops/{shop_id}/orders/{order_id}"


def _why_not(order: dict[str, Any]) -> str | None:
    """Why the customer cannot change the order now, in their words (None: they can)."""
    editable = order.get("editable") or {}
    if editable.get("by_customer"):
        return None
    status = order["status"]
    if status == "confirmed" or (status in ("placed", "cancelled") and not editable.get("by_manager")):
        return _("Orders for this delivery closed: this order can no longer be changed.")
    if status == "empty":
        return _("Nothing you asked for was available, so this order is empty and nothing will be charged.")
    if status == "cancelled":
        return _("This order was cancelled by the shop or by a change to your subscription: only the shop can "
                 "resume it. Write to the shop.")
    return _("This shop does not let customers change or cancel their orders. Write to the shop to change this "
             "order.")


def order_forms(order: dict[str, Any], forms: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """The order's lines to show, each with its quantity and remove forms, and the order's own form (cancel,
    resume): the ones in ``forms`` as the person sent them (with their errors), keyed ``quantity:<line>``,
    ``remove:<line>`` and ``order``; fresh ones otherwise. Each carries the version the page shows (If-Match)."""
    version = str(order["version"])
    lines = []
    for line in order["lines"]:
        if line["quantity"] == 0 and line["requested_quantity"] == 0:
            continue
        quantity = forms.get(f"quantity:{line['line_id']}") or QuantityForm(prefix=f"line-{line['line_id']}",
                                                                             formdata=None, quantity=line["quantity"])
        remove = forms.get(f"remove:{line['line_id']}") or OrderActionForm(prefix=f"remove-{line['line_id']}",
                                                                            formdata=None)
        quantity.version.data = remove.version.data = version  # the page shows this version now
        lines.append({**line, "form": quantity, "remove_form": remove})
    order_form = forms.get("order") or OrderActionForm(prefix="order", formdata=None)
    order_form.version.data = version
    return lines, order_form


def may_remove(lines: list[dict[str, Any]]) -> bool:
    """A line may be removed while another has something on it (never the last: the API refuses it)."""
    return sum(1 for line in lines if line["quantity"] > 0) > 1


def page_errors(lines: list[dict[str, Any]], order_form: Any, problems: list[str] | None = None
                ) -> list[tuple[str, str]]:
    """The error summary's entries: (the id of the field or button, the message)."""
    errors = []
    for line in lines:
        errors += [(line["form"].quantity.id, m) for m in line["form"].quantity.errors]
        errors += [(f"remove-{line['line_id']}", m) for m in line["remove_form"].form_errors]
    return errors + [("order-actions", m) for m in order_form.form_errors] + [("order", m) for m in problems or []]


def _page(person: people.Person, shop_id: str, order_id: str, *, forms: dict[str, Any] | None = None,
          problems: list[str] | None = None, status: int = 200) -> Any:
    """The order's page. ``forms``: forms to show as the person sent them (with their errors), keyed by line id or
    by ``cancel``/``resume``; ``problems``: refusals about the whole order, at the top."""
    api = people.api(person)
    shop = api.get("subscriptions", f"/api/v1/shops/{shop_id}")
    customer = api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers/{person.customer_id}")
    use_reader(customer=customer, shop=shop)
    order = api.get("orders", order_path(shop_id, order_id))
    lines, order_form = order_forms(order, forms or {})
    return render_template("order.html", shop=shop, customer=customer, order=order, lines=lines,
                           order_form=order_form, why_not=_why_not(order),
                           errors=page_errors(lines, order_form, problems), may_remove=may_remove(lines)), status


@bp.get("/shops/<uuid:shop_id>/orders/<uuid:order_id>")
@customer_of_shop
def order(person: people.Person, shop_id: str, order_id: Any):  # type: ignore[no-untyped-def]
    return _page(person, shop_id, str(order_id))


def receipt_file(api: Any, shop_id: str, order_id: str) -> Response:
    """The paid order's receipt (or invoice) as order-service makes it, in the page's language, passed on as it
    comes; the customer's page and the managers' console both give it this way (an order not paid: 404)."""
    upstream = api.download("orders", f"{order_path(shop_id, order_id)}/receipt.pdf", accept="application/pdf",
                            lang=str(get_locale()))

    def body() -> Any:
        try:
            yield from upstream.iter_content(64 * 1024)
        finally:
            upstream.close()

    return Response(stream_with_context(body()), mimetype="application/pdf", headers={
        "Content-Disposition": upstream.headers.get("Content-Disposition", 'inline; filename="receipt.pdf"')})


@bp.get("/shops/<uuid:shop_id>/orders/<uuid:order_id>/receipt.pdf")
@customer_of_shop
def receipt(person: people.Person, shop_id: str, order_id: Any):  # type: ignore[no-untyped-def]
    api = people.api(person)
    use_reader(customer=api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers/{person.customer_id}"),
               shop=api.get("subscriptions", f"/api/v1/shops/{shop_id}"))
    return receipt_file(api, str(shop_id), str(order_id))


def send(api: people.Api, method: str, path: str, version: str | None, json: Any = None) -> None:
    """One change of an order, sent with ``If-Match``: the version the page showed (a change made meanwhile is a 412,
    nothing done)."""
    headers = {"If-Match": f'"{version}"'} if version and version.isdigit() else {}
    api.request(method, "orders", path, json=json, headers=headers)


def _send(person: people.Person, method: str, path: str, version: str | None, json: Any = None) -> None:
    send(people.api(person), method, path, version, json)


def refused(err: ApiError) -> bool:
    """A refusal the page shows by its form (anything else is the app's error page)."""
    return err.status in REFUSALS


@bp.post("/shops/<uuid:shop_id>/orders/<uuid:order_id>/lines/<line_id>")
@back_to_order
@customer_of_shop
def change_quantity(person: people.Person, shop_id: str, order_id: str, line_id: str):  # type: ignore[no-untyped-def]
    form = QuantityForm(prefix=f"line-{line_id}")

    def refused(err: ApiError) -> None:
        form.quantity.errors = [*form.quantity.errors, *messages(err, "quantity")]

    return _submit(person, shop_id, order_id, form, f"quantity:{line_id}", _("The quantity is changed."), refused,
                   lambda: _send(person, "PATCH", f"{order_path(shop_id, order_id)}/lines/{line_id}",
                                 form.version.data, {"quantity": form.quantity.data}))


def _submit(person: people.Person, shop_id: str, order_id: str, form: Any, key: str, done: str,
            refused: Callable[[ApiError], None], send: Callable[[], Any]) -> Any:
    return submit(form, key, done, refused, send,
                  back=lambda: url_for("orders.order", shop_id=shop_id, order_id=order_id),
                  page=lambda forms: _page(person, shop_id, order_id, forms=forms, status=422))


def submit(form: Any, key: str, done: str, on_refusal: Callable[[ApiError], None], send: Callable[[], Any], *,
           back: Callable[[], str], page: Callable[[dict[str, Any]], Any]) -> Any:
    """A form of an order's page posted (the customer's, a manager's): ``send`` it to the API; done, back to the page
    (``back``) saying ``done``; refused (closed, not allowed, a stale version...), the ``page`` again with the form
    as sent (under ``key``) and the refusal where ``on_refusal`` puts it."""
    if form.validate_on_submit():
        try:
            send()
        except ApiError as err:
            if not refused(err):
                raise
            on_refusal(err)
        else:
            flash(done)
            return redirect(back(), 303)
    return page({key: form})


def messages(err: ApiError, field: str) -> list[str]:
    """The refusal's messages for one field or button: its field errors in our words, else the refusal as a
    whole."""
    errors = refusals.field_errors(err)
    if errors:
        return [m for messages in errors.values() for m in messages]
    return [refusals.problem_message(err)]


@bp.post("/shops/<uuid:shop_id>/orders/<uuid:order_id>/lines/<line_id>/remove")
@back_to_order
@customer_of_shop
def remove_line(person: people.Person, shop_id: str, order_id: str, line_id: str):  # type: ignore[no-untyped-def]
    form = OrderActionForm(prefix=f"remove-{line_id}")
    return _submit(person, shop_id, order_id, form, f"remove:{line_id}", _("The product is removed from your order."),
                   lambda err: form.form_errors.extend(messages(err, "line_id")),
                   lambda: _send(person, "DELETE", f"{order_path(shop_id, order_id)}/lines/{line_id}",
                                 form.version.data))


def _order_action(person: people.Person, shop_id: str, order_id: str, action: str, done: str) -> Any:
    form = OrderActionForm(prefix="order")
    return _submit(person, shop_id, order_id, form, "order", done,
                   lambda err: form.form_errors.extend(messages(err, action)),
                   lambda: _send(person, "POST", f"{order_path(shop_id, order_id)}/{action}", form.version.data))


@bp.post("/shops/<uuid:shop_id>/orders/<uuid:order_id>/cancel")
@back_to_order
@customer_of_shop
def cancel(person: people.Person, shop_id: str, order_id: str):  # type: ignore[no-untyped-def]
    return _order_action(person, shop_id, order_id, "cancel", _("Your order is cancelled. Nothing will be charged "
                                                                "for it."))


@bp.post("/shops/<uuid:shop_id>/orders/<uuid:order_id>/resume")
@back_to_order
@customer_of_shop
def resume(person: people.Person, shop_id: str, order_id: str):  # type: ignore[no-untyped-def]
    return _order_action(person, shop_id, order_id, "resume", _("Your order is back."))
