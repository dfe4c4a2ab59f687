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
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from web_app.api import ApiError
from web_app.forms import show_problem
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


def _page(form: SettingsForm, *, stale: bool = False, status: int = 200) -> Any:
    form.timezone.choices = zone_choices(time_zones(), form.timezone.data)
    return render_template("manage/settings.html", form=form, stale=stale), status


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
