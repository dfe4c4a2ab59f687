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

from web_app import refusals
from web_app.api import ApiError
from web_app.forms import ConfirmForm, show_problem
from web_app.i18n import use_reader
from web_app.manage import manager_api, shop_page

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
          method_forms: dict[str, MethodForm] | None = None) -> Any:
    form.timezone.choices = zone_choices(time_zones(), form.timezone.data)
    shop_id = g.shop["id"]
    method_forms = method_forms or {}
    methods = {kind: [{**m, "percent": format_decimal(Decimal(m["fee_percent_bp"]).scaleb(-2))}
                      for m in manager_api().all_items("subscriptions", f"/api/v1/shops/{shop_id}/{kind}-methods")]
               for kind in METHOD_KINDS}
    adding = {kind: method_forms.get(kind) or MethodForm(prefix=kind, formdata=None) for kind in METHOD_KINDS}
    return render_template("manage/settings.html", form=form, stale=stale, methods=methods, adding=adding,
                           remove_form=ConfirmForm()), status


def _stale(shop_id: str) -> Any:
    """The form was of another version than the shop's: nothing was saved; the settings as they are now."""
    g.shop = manager_api().get("subscriptions", f"/api/v1/shops/{shop_id}")
    use_reader(shop=g.shop)  # its language or time zone may be what changed
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

    def validate_fee(self, field: StringField) -> None:
        if field.data:
            value = _amount(field.data)
            if value < 0 or value != round(value, self.precision):
                raise ValidationError(_("Enter an amount of 0 or more, like %(example)s",
                                        example=_decimal_example()))

    def validate_percent(self, field: StringField) -> None:
        if field.data:
            value = _amount(field.data)
            if not 0 <= value <= 100 or value != round(value, 2):
                raise ValidationError(_("Enter a percentage from 0 to 100, like %(example)s",
                                        example="1,5" if str(get_locale()).startswith("fr") else "1.5"))

    precision = 2

    def body(self, kind: str) -> dict[str, Any]:
        fee = _amount(self.fee.data) if self.fee.data else Decimal(0)
        percent = _amount(self.percent.data) if self.percent.data else Decimal(0)
        body: dict[str, Any] = {"name": self.name.data, "fee_flat": int(fee.scaleb(self.precision)),
                                "fee_percent_bp": int(percent * 100)}
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
