"""The shop's settings, for its managers: what customers may do themselves (change their orders, skip deliveries),
the cut-off reminder, the shop's language and time zone, when a failed card payment is tried again, what happens to
orders the platform could only place after their cycle closed, and whether orders are placed for subscriptions at all
(the kill switch, ``subscriptions_enabled``).

One form, sent to subscription-service's ``PATCH /api/v1/shops/<shop>`` with ``If-Match`` set to the version the
page showed: a shop changed meanwhile (another manager, another tab) is not overwritten; the page says so and shows
the settings as they are now (the API's 412). The API's rules are the only rules: its refusals come back next to
their fields in the manager's language (:mod:`web_app.refusals`). The time zones offered are the ones the API
accepts (``GET /api/v1/time-zones``).
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from web_app import i18n, refusals
from web_app.api import ApiError
from web_app.forms import ConfirmForm, show_problem
from web_app.i18n import use_reader
from web_app.manage import manager_api, shop_page
from web_app.manage.tax_forms import TaxForm, percent_typed, tax_form_of, with_new_rows

bp = Blueprint("manage_settings", __name__, url_prefix="/manage/shops/<uuid:shop_id>/settings")

REFUSALS = (403, 409, 422)  # what a change of settings can be refused with, shown on the form (412: see save)
LANGUAGES = [SelectChoice("en", "English", {"lang": "en"}),  # each in its own language: a reader finds theirs
             SelectChoice("fr", "Français", {"lang": "fr"})]
MAX_RETRIES = 9  # the API's: at most 10 attempts in all
SAVED = "settings-saved"  # the flash category of a save
TIME_ZONES_TTL_S = 3600.0  # the list changes only when subscription-service's time zone data does


def _choice(value: str, label: Any) -> SelectChoice:
    return SelectChoice(value, label)  # type: ignore[arg-type]


class SettingsForm(FlaskForm):
    """The settings a manager changes, named as the API names them (``retry_delays``: ``payment_retry``)."""

    subscriptions_enabled = RadioField(_l("Orders for subscriptions"), choices=[
        _choice("on", _l("On: when an order cycle opens, an order is placed for every active subscription.")),
        _choice("off", _l("Off (the kill switch): no order is placed for any subscription of this shop until you "
                          "turn it back on."))],
        validators=[InputRequired(message=_l("Choose on or off"))])
    allow_order_changes = BooleanField(_l("Customers may change or cancel their placed orders until the order cycle "
                                          "closes"))
    allow_customer_skip = BooleanField(_l("Customers may skip deliveries, take holidays and pause their "
                                          "subscriptions themselves"))
    invoices_enabled = BooleanField(_l("Issue numbered invoices"))
    attach_invoice_to_email = BooleanField(_l("Email the receipt or invoice to the customer when an order is paid"))
    order_reminder_hours_before_close = IntegerField(
        _l("Cut-off reminder: hours before an order cycle closes"),
        validators=[Optional(), NumberRange(min=1, max=168, message=_l("Enter a number from 1 to 168, or leave it "
                                                                         "empty for no reminder"))],
        render_kw={"inputmode": "numeric", "min": 1, "max": 168})
    retry_delays = StringField(_l("Try a failed card payment again after (hours)"),
                               filters=[lambda v: v.strip() if isinstance(v, str) else v],
                               render_kw={"inputmode": "numeric", "spellcheck": "false", "autocomplete": "off"})
    late_placement = RadioField(_l("When the platform could place a cycle's orders only after the cycle closed"),
                                choices=[
        _choice("while_open", _l("Place no order: you are told which subscriptions got none and why.")),
        _choice("always", _l("Place them anyway, late, and confirm them at once: they are charged as usual."))],
        validators=[InputRequired(message=_l("Choose what happens to late orders"))])
    locale = SelectField(_l("Language"), choices=LANGUAGES, validate_choice=False)
    timezone = SelectField(_l("Time zone"), validate_choice=False,
                           validators=[InputRequired(message=_l("Choose a time zone"))])
    version = HiddenField()

    def validate_retry_delays(self, field: StringField) -> None:
        if not field.data:
            return
        parts = [p for p in re.split(r"[\s,;]+", field.data) if p]
        if not all(p.isdigit() for p in parts):
            raise ValidationError(_("Enter whole numbers of hours separated by commas, like 24, 72"))
        if len(parts) > MAX_RETRIES:
            raise ValidationError(_("Enter %(n)s numbers or fewer: at most %(n)s tries again.", n=MAX_RETRIES))

    def delays(self) -> list[int]:
        return [int(p) for p in re.split(r"[\s,;]+", self.retry_delays.data or "") if p]

    def changes(self) -> dict[str, Any]:
        """The settings as the API takes them (the API records only those that really change)."""
        delays = self.delays()
        return {
            "subscriptions_enabled": self.subscriptions_enabled.data == "on",
            "allow_order_changes": bool(self.allow_order_changes.data),
            "allow_customer_skip": bool(self.allow_customer_skip.data),
            "invoices_enabled": bool(self.invoices_enabled.data),
            "attach_invoice_to_email": bool(self.attach_invoice_to_email.data),
            "order_reminder_hours_before_close": self.order_reminder_hours_before_close.data,
            "payment_retry": {"delays_hours": delays, "max_attempts": len(delays) + 1},
            "late_placement": self.late_placement.data,
            "locale": self.locale.data,
            "timezone": self.timezone.data,
        }


def form_of(shop: dict[str, Any]) -> SettingsForm:
    """The form showing the shop's settings as the API answered them."""
    retry = shop.get("payment_retry") or {}
    form = SettingsForm(formdata=None, data={
        "subscriptions_enabled": "on" if shop.get("subscriptions_enabled") else "off",
        "allow_order_changes": bool(shop.get("allow_order_changes")),
        "allow_customer_skip": bool(shop.get("allow_customer_skip")),
        "invoices_enabled": bool(shop.get("invoices_enabled")),
        "attach_invoice_to_email": bool(shop.get("attach_invoice_to_email")),
        "order_reminder_hours_before_close": shop.get("order_reminder_hours_before_close"),
        "retry_delays": ", ".join(str(h) for h in retry.get("delays_hours") or []),
        "late_placement": shop.get("late_placement") or "while_open",
        "locale": shop.get("locale") or "en",
        "timezone": shop.get("timezone") or "UTC",
        "version": str(shop.get("version", "")),
    })
    return form


def time_zones() -> list[str]:
    """The zones a shop may have, as the API lists them; kept for an hour by this process."""
    cached = current_app.extensions.get("manage_time_zones")
    if cached is not None and time.monotonic() - cached[0] < TIME_ZONES_TTL_S:
        return cached[1]  # type: ignore[no-any-return]
    names = [z["name"] for z in manager_api().get("subscriptions", "/api/v1/time-zones")["items"]]
    current_app.extensions["manage_time_zones"] = (time.monotonic(), names)
    return names


def zone_choices(names: list[str], current: str | None) -> list[SelectChoice]:
    """The zones grouped by their area (``Europe``, ``America``...), each shown by its whole name; the shop's own
    zone is kept even if the list lacks it (so a save never changes it unasked)."""
    return [SelectChoice(name, name.replace("_", " "), optgroup=name.split("/", 1)[0])
            for name in sorted({*names, *([current] if current else [])})]


def _page(form: SettingsForm, *, stale: bool = False, status: int = 200,
          method_forms: dict[str, MethodForm] | None = None, tax_form: TaxForm | None = None,
          tax_stale: bool = False) -> Any:
    form.timezone.choices = zone_choices(time_zones(), form.timezone.data)
    shop_id = g.shop["id"]
    method_forms = method_forms or {}
    methods = {kind: manager_api().all_items("subscriptions", f"/api/v1/shops/{shop_id}/{kind}-methods")
               for kind in METHOD_KINDS}
    adding = {kind: method_forms.get(kind) or MethodForm(prefix=kind, formdata=None) for kind in METHOD_KINDS}
    for adding_form in adding.values():
        adding_form.offer_categories(g.shop)
    return render_template("manage/settings.html", form=form, stale=stale, methods=methods, adding=adding,
                           remove_form=ConfirmForm(), tax_form=tax_form or tax_form_of(g.shop),
                           tax_stale=tax_stale, rates=tax_rates(g.shop)), status


def tax_rates(shop: dict[str, Any]) -> dict[str, int]:
    """The shop's rates by category, in basis points."""
    return {r["category"]: r["rate_bp"] for r in shop.get("tax_rates") or []}


def _shop_now(shop_id: str) -> None:
    g.shop = manager_api().get("subscriptions", f"/api/v1/shops/{shop_id}")
    use_reader(shop=g.shop)  # its language or time zone may be what changed


def _stale(shop_id: str) -> Any:
    """The form was of another version than the shop's: nothing was saved; the settings as they are now."""
    _shop_now(shop_id)
    return _page(form_of(g.shop), stale=True, status=412)


def _problem_fields(err: ApiError) -> dict[str, str]:
    """The API's field names that are not the form's: the retry policy's (``payment_retry.delays_hours.0``...)."""
    return {name: "retry_delays" for name in err.errors if name.startswith("payment_retry")}


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    return _page(form_of(g.shop))


@bp.post("")
@shop_page
def save(shop_id: str):  # type: ignore[no-untyped-def]
    form = SettingsForm()
    if form.validate_on_submit():
        version = form.version.data or ""
        if not version.isdigit():  # never sent without If-Match: that would overwrite whatever is there now
            return _stale(shop_id)
        try:
            manager_api().request("PATCH", "subscriptions", f"/api/v1/shops/{shop_id}", json=form.changes(),
                                  headers={"If-Match": f'"{version}"'})
        except ApiError as err:
            if err.status == 412:  # changed meanwhile
                return _stale(shop_id)
            if err.status not in REFUSALS:
                raise
            show_problem(form, err, _problem_fields(err))
        else:
            flash("saved", SAVED)  # told in the language of the page that shows it: the one just saved
            return redirect(url_for("manage_settings.index", shop_id=shop_id), 303)
    return _page(form, status=422)


@bp.post("/tax")
@shop_page
def save_tax(shop_id: str):  # type: ignore[no-untyped-def]
    """Prices with or without tax and the rates: the whole list sent in one ``PATCH`` with ``If-Match`` (a 412:
    the tax settings as they are now, said so, nothing saved); the API's refusals by their rows' fields."""
    form = TaxForm(prefix="tax")
    if form.validate_on_submit():
        version = form.version.data or ""
        if not version.isdigit():
            return _stale_tax(shop_id)
        try:
            manager_api().request("PATCH", "subscriptions", f"/api/v1/shops/{shop_id}", json=form.changes(),
                                  headers={"If-Match": f'"{version}"'})
        except ApiError as err:
            if err.status == 412:
                return _stale_tax(shop_id)
            if err.status not in REFUSALS:
                raise
            _show_tax_problem(form, err)
        else:
            flash(_("The tax settings are saved."), "tax")
            return redirect(url_for("manage_settings.index", shop_id=shop_id) + "#tax", 303)
    return _page(form_of(g.shop), tax_form=with_new_rows(form), status=422)


def _stale_tax(shop_id: str) -> Any:
    _shop_now(shop_id)
    return _page(form_of(g.shop), tax_form=tax_form_of(g.shop), tax_stale=True, status=412)


def _show_tax_problem(form: TaxForm, err: ApiError) -> None:
    for name, messages in refusals.field_errors(err).items():
        field = form.field_of(name)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    if not err.errors:
        form.form_errors.append(refusals.problem_message(err))


# -- shipping and payment methods (the set-up checklist sends managers here to add one of each) -------------------

METHOD_KINDS = ("shipping", "payment")
METHOD_FIELDS = {"fee_flat": "fee", "fee_percent_bp": "percent"}  # the API's names -> the form's


def _amount(text: str) -> Decimal:
    try:
        return Decimal(parse_decimal(text, locale=get_locale()))
    except (NumberFormatError, ValueError, ArithmeticError):
        raise ValidationError(_("Enter a number, like %(example)s", example=_decimal_example())) from None


def _decimal_example() -> str:
    return "4,50" if str(get_locale()).startswith("fr") else "4.50"


class MethodForm(FlaskForm):
    """A shipping method (``pickup``: delivery or pickup) or a payment method (``kind``: cash or card) and its fee:
    an amount in the shop's currency and a percentage of the order (sent as minor units and basis points)."""

    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Enter a name")),
                                               Length(max=200, message=_l("Enter 200 characters or fewer."))],
                       filters=[lambda v: v.strip() if isinstance(v, str) else v])
    fee = StringField(_l("Fee per order (amount)"), render_kw={"inputmode": "decimal"},
                      filters=[lambda v: v.strip() if isinstance(v, str) else v])
    percent = StringField(_l("Fee per order (percentage of the order)"), render_kw={"inputmode": "decimal"},
                          filters=[lambda v: v.strip() if isinstance(v, str) else v])
    pickup = RadioField(_l("How customers get their order"), choices=[
        _choice("delivery", _l("Delivered to them")), _choice("pickup", _l("They pick it up"))], default="delivery",
        validate_choice=False)
    kind = RadioField(_l("How customers pay"), choices=[
        _choice("cash", _l("Cash or cheque, outside the platform")),
        _choice("stripe", _l("Card, charged by the platform when the order cycle closes"))], default="cash",
        validate_choice=False)

    tax_category = SelectField(_l("Tax on this fee"), validate_choice=False)
    active = BooleanField(_l("Offered to new subscriptions"))

    def offer_categories(self, shop: dict[str, Any], current: str | None = None) -> None:
        """The shop's tax categories, each with its rate, and "not taxed"; a method's own category is kept even
        when the shop has no rate for it any more (a save never changes it unasked)."""
        rates = tax_rates(shop)
        names = sorted({*rates, *([current] if current else [])})
        self.tax_category.choices = [
            _choice("", _l("Not taxed")),
            *(_choice(c, _("%(category)s (%(rate)s)", category=c, rate=i18n.percent(rates[c])) if c in rates
                      else _("%(category)s (no rate)", category=c)) for c in names)]

    def validate_fee(self, field: StringField) -> None:
        if field.data:
            value = _amount(field.data)
            if value < 0 or value != round(value, self.precision):
                raise ValidationError(_("Enter an amount of 0 or more, like %(example)s",
                                        example=_decimal_example()))

    def validate_percent(self, field: StringField) -> None:
        if field.data and i18n.basis_points(field.data) is None:
            raise ValidationError(_("Enter a percentage from 0 to 100, like %(example)s",
                                    example="1,5" if str(get_locale()).startswith("fr") else "1.5"))

    precision = 2

    def body(self, kind: str) -> dict[str, Any]:
        fee = _amount(self.fee.data) if self.fee.data else Decimal(0)
        body: dict[str, Any] = {"name": self.name.data, "fee_flat": int(fee.scaleb(self.precision)),
                                "fee_percent_bp": i18n.basis_points(self.percent.data) or 0}
        if self.tax_category.data:
            body["tax_category"] = self.tax_category.data
        if kind == "shipping":
            body["pickup"] = self.pickup.data == "pickup"
        else:
            body["kind"] = self.kind.data
        return body


@bp.post("/<any(shipping, payment):kind>-methods")
@shop_page
def add_method(shop_id: str, kind: str):  # type: ignore[no-untyped-def]
    form = MethodForm(prefix=kind)
    form.precision = get_currency_precision(g.shop["currency"])
    form.offer_categories(g.shop)
    if form.validate_on_submit():
        try:
            manager_api().post("subscriptions", f"/api/v1/shops/{shop_id}/{kind}-methods", form.body(kind))
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            show_problem(form, err, METHOD_FIELDS)
        else:
            flash(_("%(name)s is added.", name=form.name.data), "methods")
            return redirect(url_for("manage_settings.index", shop_id=shop_id) + f"#{kind}-methods", 303)
    return _page(form_of(g.shop), method_forms={kind: form}, status=422)


@bp.post("/<any(shipping, payment):kind>-methods/<uuid:method_id>/remove")
@shop_page
def remove_method(shop_id: str, kind: str, method_id: Any):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    version = request.form.get("version", "")
    if not version.isdigit():  # never removed unseen: the version the page showed, or nothing is done
        abort(400)
    if form.validate_on_submit():
        try:
            manager_api().request("DELETE", "subscriptions", f"/api/v1/shops/{shop_id}/{kind}-methods/{method_id}",
                                  headers={"If-Match": f'"{version}"'})
        except ApiError as err:
            if err.status not in (*REFUSALS, 404, 412):
                raise
            flash(refusals.problem_message(err), "methods")
        else:
            flash(_("The method is removed. Subscriptions that use it keep it until they are changed."), "methods")
    return redirect(url_for("manage_settings.index", shop_id=shop_id) + f"#{kind}-methods", 303)


class EditMethodForm(MethodForm):
    """A method changed: its fields as they were shown, and the version shown (``If-Match``)."""

    version = HiddenField()

    def body(self, kind: str) -> dict[str, Any]:
        return {**super().body(kind), "tax_category": self.tax_category.data or None, "active": bool(self.active.data)}


def _method_path(shop_id: str, kind: str, method_id: Any) -> str:
    return f"/api/v1/shops/{shop_id}/{kind}-methods/{method_id}"


def edit_form_of(method: dict[str, Any], kind: str) -> EditMethodForm:
    """The form showing a method as the API answered it: its fee in the manager's number format."""
    precision = get_currency_precision(g.shop["currency"])
    form = EditMethodForm(formdata=None, data={
        "name": method.get("name"),
        "fee": format_decimal(Decimal(method["fee_flat"]).scaleb(-precision),
                              format="#,##0" + ("." + "0" * precision if precision else ""))
        if method.get("fee_flat") else "",
        "percent": percent_typed(method["fee_percent_bp"]) if method.get("fee_percent_bp") else "",
        "pickup": "pickup" if method.get("pickup") else "delivery",
        "kind": method.get("kind") or "cash",
        "tax_category": method.get("tax_category") or "",
        "active": bool(method.get("active", True)),
        "version": str(method.get("version", "")),
    })
    form.precision = precision
    form.offer_categories(g.shop, method.get("tax_category"))
    return form


def _method_page(kind: str, method: dict[str, Any], form: EditMethodForm, *, stale: bool = False,
                 status: int = 200) -> Any:
    return render_template("manage/settings_method.html", kind=kind, method=method, form=form, stale=stale,
                           rates=tax_rates(g.shop)), status


@bp.get("/<any(shipping, payment):kind>-methods/<uuid:method_id>")
@shop_page
def method(shop_id: str, kind: str, method_id: Any):  # type: ignore[no-untyped-def]
    found = manager_api().get("subscriptions", _method_path(shop_id, kind, method_id))
    return _method_page(kind, found, edit_form_of(found, kind))


@bp.post("/<any(shipping, payment):kind>-methods/<uuid:method_id>")
@shop_page
def update_method(shop_id: str, kind: str, method_id: Any):  # type: ignore[no-untyped-def]
    """A method's name, fee, tax category and whether it is offered: one ``PATCH`` with ``If-Match`` (the version
    shown; a 412 shows the method as it is now, nothing saved)."""
    form = EditMethodForm()
    form.precision = get_currency_precision(g.shop["currency"])
    form.offer_categories(g.shop, form.tax_category.data or None)
    version = form.version.data or ""
    if form.validate_on_submit():
        if not version.isdigit():
            abort(400)
        try:
            manager_api().request("PATCH", "subscriptions", _method_path(shop_id, kind, method_id),
                                  json=form.body(kind), headers={"If-Match": f'"{version}"'})
        except ApiError as err:
            if err.status == 412:
                now = manager_api().get("subscriptions", _method_path(shop_id, kind, method_id))
                return _method_page(kind, now, edit_form_of(now, kind), stale=True, status=412)
            if err.status not in REFUSALS:
                raise
            show_problem(form, err, METHOD_FIELDS)
        else:
            flash(_("%(name)s is changed.", name=form.name.data), "methods")
            return redirect(url_for("manage_settings.index", shop_id=shop_id) + f"#{kind}-methods", 303)
    shown = {"id": str(method_id), "name": form.name.data}
    return _method_page(kind, shown, form, status=422)
