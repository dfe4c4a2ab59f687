"""A customer chooses the substitutes of their subscription's products, on their subscriptions page: for each
product line, up to three other products of the shop in order of preference, placed instead when that product
cannot be had at an order's placement.

The products offered are order-service's ``GET .../products`` (the shop's products for sale, as a customer may
read them). The choice is sent as subscription-service's ``PATCH .../subscriptions/<id>`` with the customer's own
session: the subscription's products and quantities as they are, only this line's substitutes changed (all a
customer may change there), with ``If-Match`` the version the page showed. A subscription changed meanwhile is
the API's 412: the page is shown as it is now, saying so, nothing changed. The API's refusals (the same product
twice, the product itself...) come back by the select box they are about, in the customer's words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from web_app import people, refusals
from web_app.api import Api, ApiError
from web_app.i18n import money
from web_app.manage.subscriptions import variant_name
from web_app.views.customer import customer_of_shop, subscriptions_page

bp = Blueprint("substitutes", __name__)

REFUSED = (403, 409, 422)
STALE = _l("This subscription was changed since you opened the page: here it is as it is now. Nothing was "
           "changed. Check it and choose again.")


class SubstitutesForm(FlaskForm):
    """One product line's substitutes, in order of preference (an empty choice is none), with the product they stand
    in for and the version of the subscription the page showed."""

    substitute_1 = SelectField(_l("First substitute"), choices=[], validate_choice=False)
    substitute_2 = SelectField(_l("Second substitute"), choices=[], validate_choice=False)
    substitute_3 = SelectField(_l("Third substitute"), choices=[], validate_choice=False)
    variant_id = HiddenField()
    version = HiddenField()

    def boxes(self) -> tuple[SelectField, SelectField, SelectField]:
        return self.substitute_1, self.substitute_2, self.substitute_3

    def chosen(self) -> list[str]:
        """The substitutes chosen, in order of preference (an empty choice skipped)."""
        return [f.data for f in self.boxes() if f.data]


def products_for_sale(api: Api, shop_id: str) -> list[dict[str, Any]] | None:
    """The shop's products a customer can choose, by name (order-service's list for the shop's customers); None
    when order-service cannot say now (down, or not yet aware of the shop): the page then offers no choice rather
    than failing as a whole."""
    try:
        found = api.all_items("orders", f"/api/v1/shops/{shop_id}/products")
    except ApiError as err:
        if err.status != 404 and err.status < 500:
            raise
        return None
    return sorted(found, key=lambda v: (variant_name(v).casefold(), v["variant_id"]))


def _choices(item: dict[str, Any], products: list[dict[str, Any]], currency: str) -> list[tuple[str, str]]:
    """Every product for sale but the line's own, with its price (and when none is left now); the line's current
    substitutes that are no longer for sale stay choosable, said so, so that saving does not drop them unawares."""
    choices = [("", _("No substitute"))]
    for v in products:
        if v["variant_id"] == item["variant_id"]:
            continue
        label = f"{variant_name(v)} – {money(v['unit_price'], v.get('currency') or currency)}"
        if v.get("in_stock") is False:
            label += " " + _("(out of stock now)")
        choices.append((v["variant_id"], label))
    offered = {v["variant_id"] for v in products}
    names = item.get("substitute_names") or []
    for k, vid in enumerate(item.get("substitutes") or []):
        if vid not in offered:
            name = names[k] if k < len(names) and names[k] else vid
            choices.append((vid, f"{name} " + _("(not available now)")))
    return choices


def _prefix(sub_id: str, n: int) -> str:
    return f"subst-{sub_id}-{n}"


def substitute_forms(sub: dict[str, Any], products: list[dict[str, Any]] | None,
                     refused: tuple[str, FlaskForm] | None) -> list[SubstitutesForm | None]:
    """A form per product line of the subscription (None for a line that gets none: a quantity of 0, never
    ordered), fresh or the refused one with what was chosen and its errors. None at all when the subscription has
    ended or was cancelled, or when the page has no products to offer."""
    if products is None or sub["state"] in ("cancelled", "ended"):
        return []
    forms: list[SubstitutesForm | None] = []
    for n, item in enumerate(sub.get("items") or []):
        if not item.get("quantity"):
            forms.append(None)
            continue
        prefix = _prefix(sub["id"], n)
        form = refused[1] if refused and refused[0] == sub["id"] and isinstance(refused[1], SubstitutesForm) \
            and refused[1]._prefix == prefix + "-" else None
        if form is None:
            chosen = list(item.get("substitutes") or [])[:3]
            form = SubstitutesForm(formdata=None, prefix=prefix, variant_id=item["variant_id"],
                                   version=str(sub.get("version") or ""),
                                   **{f"substitute_{k + 1}": v for k, v in enumerate(chosen)})
        for box in form.boxes():
            box.choices = _choices(item, products, sub.get("currency") or "EUR")
        forms.append(form)
    return forms


def _items_with(sub: dict[str, Any], variant_id: str, chosen: list[str]) -> tuple[list[dict[str, Any]], int] | None:
    """The subscription's items to send back (its products and quantities as they are, a line's old quantity of 0
    too: the API keeps it as it is) with this product's substitutes replaced, and that line's place among them (the
    API's ``items.<n>``); None when the subscription no longer has that product."""
    items: list[dict[str, Any]] = []
    row: int | None = None
    for item in sub.get("items") or []:
        if item["variant_id"] == variant_id:
            row = len(items)
        items.append({"variant_id": item["variant_id"], "quantity": item["quantity"],
                      "substitutes": chosen if item["variant_id"] == variant_id else list(item.get("substitutes")
                                                                                           or [])})
    return (items, row) if row is not None else None


def _show_refusal(form: SubstitutesForm, err: ApiError, row: int) -> None:
    """The API's refusal by the select box it is about (``items.<row>.substitutes.<k>``: the k-th substitute chosen),
    anything else in the summary, in the customer's words."""
    chosen = [f for f in form.boxes() if f.data]
    for name, messages in refusals.field_errors(err).items():
        parts = name.split(".")
        if parts[:3] == ["items", str(row), "substitutes"]:
            k = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0
            box = chosen[k] if k < len(chosen) else form.substitute_1
            box.errors = [*box.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not err.errors:
        form.form_errors.append(refusals.problem_message(err))


@bp.post("/shops/<uuid:shop_id>/subscriptions/<uuid:subscription_id>/lines/<int:line>/substitutes")
@customer_of_shop
def choose(person: people.Person, shop_id: str, subscription_id: Any, line: int):  # type: ignore[no-untyped-def]
    sid = str(subscription_id)
    form = SubstitutesForm(prefix=_prefix(sid, line))
    back = url_for("customer.subscriptions", shop_id=shop_id, _anchor=f"sub-{sid}")
    if not form.validate_on_submit():
        return redirect(back, 303)  # a form without its CSRF token: nothing to say by a field
    api = people.api(person)
    path = f"/api/v1/shops/{shop_id}/subscriptions/{sid}"
    found = _items_with(api.get("subscriptions", path), form.variant_id.data or "", form.chosen())
    if found is None:  # the product is no longer on the subscription: it changed since the page was shown
        flash(str(STALE), "error")
        return subscriptions_page(person, shop_id, status=409)
    items, row = found
    version = form.version.data or ""
    try:
        api.request("PATCH", "subscriptions", path, json={"items": items},
                    headers={"If-Match": f'"{version}"'} if version.isdigit() else {})
    except ApiError as err:
        if err.status == 412:
            flash(str(STALE), "error")
            return subscriptions_page(person, shop_id, status=409)
        if err.status not in REFUSED:
            raise
        _show_refusal(form, err, row)
        return subscriptions_page(person, shop_id, refused=(sid, form), status=422)
    flash(_("Your substitutes are saved.") if form.chosen() else _("This product has no substitute now."))
    return redirect(back, 303)
