"""The shop's customers: a list to search, a customer added or their details changed, an invitation by email, and
what the manager needs to know before charging them: the card on file (brand, last four digits, expiry: never
Stripe's ids, which the API never gives) and whether the customer gave the permission to charge it.

Everything through subscription-service's API with the manager's own token: ``GET/POST .../customers`` (``q``
searches names and emails), ``GET/PATCH .../customers/<id>`` (each change sent with ``If-Match``: a customer changed
meanwhile is shown as they are now, nothing overwritten), and ``POST .../customers/<id>/sign-in-link``, which emails
the customer the sign-in link they would get by asking for one. A refusal is shown by its field, in the manager's
language (:mod:`web_app.refusals`). An address the customer proved (``email_proven``: they signed in with it, saved
a card or consented) is theirs to change: the page says so instead of offering the field.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from web_app import refusals
from web_app.api import ApiError
from web_app.forms import EMAIL_SHAPE, ConfirmForm, show_problem
from web_app.manage import manager_api, shop_page

bp = Blueprint("manage_customers", __name__, url_prefix="/manage/shops/<uuid:shop_id>/customers")

PAGE_SIZE = 50
MAX_SEARCH = 200  # the API's limit on ``q``
ADDRESS_FIELDS = ("address1", "address2", "city", "zipcode", "country", "phone")
NEEDED_IN_AN_ADDRESS = ("address1", "city", "zipcode", "country")
REFUSED = (403, 404, 409, 412, 422)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CustomerForm(FlaskForm):
    """A customer's details. The address (optional as a whole) is where their orders go and what they are billed
    to; the API's field errors about ``ship_address.city``... come back to these fields."""

    email = EmailField(_l("Email address"), validators=[
        InputRequired(message=_l("Enter the customer's email address")),
        Length(max=254, message=_l("Email address must be 254 characters or fewer")),
        Regexp(EMAIL_SHAPE, message=_l("Enter an email address in the correct format, like name@example.com")),
    ], filters=[_strip], render_kw={"autocomplete": "off", "spellcheck": "false"})
    first_name = StringField(_l("First name"), validators=[
        InputRequired(message=_l("Enter the customer's first name")),
        Length(max=100, message=_l("Enter %(n)s characters or fewer.", n=100))], filters=[_strip])
    last_name = StringField(_l("Last name"), validators=[
        InputRequired(message=_l("Enter the customer's last name")),
        Length(max=100, message=_l("Enter %(n)s characters or fewer.", n=100))], filters=[_strip])
    locale = SelectField(_l("Language of their emails"), choices=[
        SelectChoice("", _l("The shop's language")), SelectChoice("en", "English"),  # type: ignore[arg-type]
        SelectChoice("fr", "Français")], default="")
    address1 = StringField(_l("Address line 1"), validators=[Optional(), Length(max=200)], filters=[_strip])
    address2 = StringField(_l("Address line 2 (optional)"), validators=[Optional(), Length(max=200)],
                           filters=[_strip])
    city = StringField(_l("Town or city"), validators=[Optional(), Length(max=100)], filters=[_strip])
    zipcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)], filters=[_strip],
                          render_kw={"autocomplete": "off"})
    country = StringField(_l("Country"), validators=[
        Optional(), Regexp(r"^[A-Za-z]{2}$", message=_l("Enter the country as two letters, like FR"))],
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v], render_kw={"maxlength": 2})
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)], filters=[_strip],
                        render_kw={"type": "tel"})
    invite = BooleanField(_l("Email them a sign-in link now, to save their card and give permission to charge it"))
    version = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        """An address is all or nothing: once a line of it is given, the API needs its street, town, postcode and
        country."""
        ok = super().validate(extra_validators)
        if any(self._fields[n].data for n in ADDRESS_FIELDS):
            for name in NEEDED_IN_AN_ADDRESS:
                field = self._fields[name]
                if not field.data and not field.errors:
                    field.errors = [*field.errors, str(NEEDED[name])]
                    ok = False
        return ok

    def address(self) -> dict[str, Any] | None:
        if not any(self._fields[n].data for n in ADDRESS_FIELDS):
            return None
        return {"first_name": self.first_name.data, "last_name": self.last_name.data,
                "address1": self.address1.data, "address2": self.address2.data or None, "city": self.city.data,
                "zipcode": self.zipcode.data, "state": None, "country": self.country.data,
                "phone": self.phone.data or None}


NEEDED = {"address1": _l("Enter the first line of the address"), "city": _l("Enter the town or city"),
          "zipcode": _l("Enter the postcode"), "country": _l("Enter the country as two letters, like FR")}


def _api_fields() -> dict[str, str]:
    """The API's field names (nested addresses) -> this form's."""
    names = {f"{kind}.{n}": n for kind in ("ship_address", "bill_address") for n in ADDRESS_FIELDS}
    names.update({f"{kind}.{n}": n for kind in ("ship_address", "bill_address") for n in ("first_name", "last_name")})
    names.update(ship_address="address1", bill_address="address1")
    return names


def _path(shop_id: str, customer_id: str | None = None) -> str:
    return f"/api/v1/shops/{shop_id}/customers" + (f"/{customer_id}" if customer_id else "")


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    search = (request.args.get("q") or "").strip()[:MAX_SEARCH] or None
    cursor = request.args.get("cursor") or None
    page = manager_api().get("subscriptions", _path(shop_id), q=search, sort="last_name", limit=PAGE_SIZE,
                             cursor=cursor)
    following = page.get("next_cursor")
    return render_template(
        "manage/customers.html", customers=page["items"], search=search or "", first_page=cursor is None,
        next_url=url_for("manage_customers.index", shop_id=shop_id, q=search, cursor=following) if following else None,
        first_url=url_for("manage_customers.index", shop_id=shop_id, q=search))


def back_here(view: Any) -> Any:
    """A form posted by a manager whose session ended comes back to its page after signing in (``g.back_to``: the
    foundation's sign-in sends them there, never into a post)."""

    @wraps(view)
    def wrapper(shop_id: Any, **kw: Any) -> Any:
        if request.method == "POST":
            g.back_to = url_for("manage_customers.customer", shop_id=shop_id, customer_id=kw["customer_id"]) \
                if "customer_id" in kw else url_for("manage_customers.new", shop_id=shop_id)
        return view(shop_id=shop_id, **kw)

    return wrapper


@bp.route("/new", methods=["GET", "POST"])
@back_here
@shop_page
def new(shop_id: str):  # type: ignore[no-untyped-def]
    form = CustomerForm()
    if form.validate_on_submit():
        body = {"email": form.email.data, "first_name": form.first_name.data, "last_name": form.last_name.data,
                "locale": form.locale.data or None}
        address = form.address()
        if address is not None:
            body.update(bill_address=address, ship_address=address)
        try:
            created = manager_api().post("subscriptions", _path(shop_id), body)
        except ApiError as err:
            if err.status not in REFUSED:
                raise
            show_problem(form, err, _api_fields())
        else:
            flash(_("%(name)s is now a customer of the shop.", name=_name(created)))
            if form.invite.data:
                _invite(shop_id, created)
            return redirect(url_for("manage_customers.customer", shop_id=shop_id, customer_id=created["id"]), 303)
    return render_template("manage/customer_form.html", form=form, customer=None), 422 if form.errors else 200


@bp.route("/<uuid:customer_id>", methods=["GET", "POST"])
@back_here
@shop_page
def customer(shop_id: str, customer_id: Any):  # type: ignore[no-untyped-def]
    customer_id = str(customer_id)
    current = manager_api().get("subscriptions", _path(shop_id, customer_id))
    if request.method == "GET":
        return _customer_page(current, _filled(current))
    form = CustomerForm()
    if not form.validate_on_submit():
        return _customer_page(current, form, 422)
    try:
        changed = manager_api().request("PATCH", "subscriptions", _path(shop_id, customer_id),
                                        json=_changes(current, form), headers=_if_match(form.version.data))
    except ApiError as err:
        if err.status not in REFUSED:
            raise
        if err.status == 412:  # changed meanwhile: show them as they are now, what was typed is not sent
            now = manager_api().get("subscriptions", _path(shop_id, customer_id))
            fresh = _filled(now)
            fresh.form_errors.append(_("Someone changed this customer while you were editing: here they are as they "
                                       "are now. Nothing you typed was saved: check and change them again."))
            return _customer_page(now, fresh, 409)
        show_problem(form, err, _api_fields())
        form.version.data = str(current["version"])
        return _customer_page(current, form, 422)
    flash(_("The customer's details are saved.") if changed["version"] != current["version"]
          else _("Nothing was changed."))
    return redirect(url_for("manage_customers.customer", shop_id=shop_id, customer_id=customer_id), 303)


@bp.post("/<uuid:customer_id>/invite")
@back_here
@shop_page
def invite(shop_id: str, customer_id: Any):  # type: ignore[no-untyped-def]
    customer_id = str(customer_id)
    current = manager_api().get("subscriptions", _path(shop_id, customer_id))
    invite_form = ConfirmForm()
    if not invite_form.validate_on_submit():
        abort(400)
    try:
        _invite(shop_id, current, raising=True)
    except ApiError as err:
        if err.status not in REFUSED:
            raise
        invite_form.form_errors.append(refusals.problem_message(err))
        return _customer_page(current, _filled(current), 422, invite_form=invite_form)
    return redirect(url_for("manage_customers.customer", shop_id=shop_id, customer_id=customer_id), 303)


def _invite(shop_id: str, customer: dict[str, Any], raising: bool = False) -> None:
    """Email the customer a sign-in link; said on the next page (refused: raised, or said when ``raising`` is
    off, as after adding a customer, which stays done)."""
    try:
        sent = manager_api().post("subscriptions", f"{_path(shop_id, customer['id'])}/sign-in-link")
    except ApiError as err:
        if raising or err.status not in REFUSED:
            raise
        flash(refusals.problem_message(err), "error")
    else:
        flash(_("A sign-in link is on its way to %(email)s. It works once, within a quarter of an hour; after that "
                "the customer asks for a new one from the sign-in page.", email=sent["email"]))


def _name(customer: dict[str, Any]) -> str:
    return f"{customer.get('first_name', '')} {customer.get('last_name', '')}".strip() or customer["email"]


def _filled(customer: dict[str, Any]) -> CustomerForm:
    """The form showing the customer as the API has them, at their version."""
    address = customer.get("ship_address") or customer.get("bill_address") or {}
    form = CustomerForm(formdata=None, email=customer["email"], first_name=customer["first_name"],
                        last_name=customer["last_name"], locale=customer.get("locale") or "",
                        **{n: address.get(n) or "" for n in ADDRESS_FIELDS})
    form.version.data = str(customer["version"])
    return form


def _changes(current: dict[str, Any], form: CustomerForm) -> dict[str, Any]:
    """What the form says, for the API (which records only what differs). An address the customer proved is not
    sent: it is theirs to change. The billing address follows the delivery address only where they were the same
    (or there was none): a different one, set another way, is kept."""
    body: dict[str, Any] = {"first_name": form.first_name.data, "last_name": form.last_name.data,
                            "locale": form.locale.data or None}
    if not current.get("email_proven"):
        body["email"] = form.email.data
    address = form.address()
    body["ship_address"] = address
    if current.get("bill_address") in (None, current.get("ship_address")):
        body["bill_address"] = address
    return body


def _if_match(version: str | None) -> dict[str, str]:
    return {"If-Match": f'"{version}"'} if version and version.isdigit() else {}


def _customer_page(customer: dict[str, Any], form: CustomerForm, status: int = 200,
                   invite_form: ConfirmForm | None = None) -> Any:
    return render_template("manage/customer_form.html", customer=customer, form=form,
                           invite_form=invite_form or ConfirmForm(formdata=None)), status
