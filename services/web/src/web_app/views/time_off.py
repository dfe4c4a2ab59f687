"""A customer's time off, on their subscriptions page: skip or bring back one delivery, holidays (every delivery
between two days skipped in one step), pause until a day (the subscription starts again by itself then) and
resume now. Each acts through subscription-service's API with the customer's own session; the shop's setting
(``allow_customer_skip``) decides whether the page offers them, and the API refuses them otherwise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from web_app import people
from web_app.api import ApiError
from web_app.forms import ConfirmForm, HolidayForm, PauseForm, show_problem
from web_app.refusals import field_message, problem_message
from web_app.views.customer import customer_of_shop, subscriptions_page

bp = Blueprint("time_off", __name__)

SUB = "/shops/<uuid:shop_id>/subscriptions/<uuid:subscription_id>"
TIME_OFF_REFUSALS = (403, 409, 422)


def time_off_forms(sub: dict[str, Any], refused: tuple[str, FlaskForm] | None) -> dict[str, FlaskForm]:
    """The forms of one subscription's article: fresh, or the refused one with what was typed and its errors.
    Each form's fields are prefixed with the subscription's id (several subscriptions share the page)."""
    sid = sub["id"]
    forms: dict[str, FlaskForm] = {"holiday": HolidayForm(formdata=None, prefix=f"holiday-{sid}"),
                                   "pause": PauseForm(formdata=None, prefix=f"pause-{sid}"),
                                   "confirm": ConfirmForm(formdata=None)}
    if refused and refused[0] == sid and isinstance(refused[1], (HolidayForm, PauseForm)):
        forms["holiday" if isinstance(refused[1], HolidayForm) else "pause"] = refused[1]
    return forms


def _api_path(shop_id: Any, subscription_id: Any, tail: str) -> str:
    return f"/api/v1/shops/{shop_id}/subscriptions/{subscription_id}{tail}"


def _back(shop_id: Any, subscription_id: Any) -> Any:
    return redirect(url_for("customer.subscriptions", shop_id=shop_id, _anchor=f"sub-{subscription_id}"), 303)


def _without_ids(err: ApiError) -> ApiError:
    """The refusal without lists of ids (a 409's ``open_order_cycle_ids``): only messages go by a field."""
    return ApiError(err.status, err.title, err.detail,
                    {k: v for k, v in err.errors.items() if not k.endswith("_ids")}, err.type)


def _occurrence(person: people.Person, shop_id: str, subscription_id: Any, cycle_id: Any, action: str) -> Any:
    if ConfirmForm().validate_on_submit():
        try:
            people.api(person).post("subscriptions", _api_path(shop_id, subscription_id,
                                                               f"/occurrences/{cycle_id}/{action}"))
        except ApiError as err:
            if err.status not in TIME_OFF_REFUSALS:
                raise
            flash(problem_message(err), "error")
        else:
            flash(_("That delivery is skipped.") if action == "skip" else _("That delivery is back on."))
    return _back(shop_id, subscription_id)


@bp.post(f"{SUB}/deliveries/<uuid:cycle_id>/skip")
@customer_of_shop
def skip(person: people.Person, shop_id: str, subscription_id: Any, cycle_id: Any):  # type: ignore[no-untyped-def]
    return _occurrence(person, shop_id, subscription_id, cycle_id, "skip")


@bp.post(f"{SUB}/deliveries/<uuid:cycle_id>/resume")
@customer_of_shop
def resume(person: people.Person, shop_id: str, subscription_id: Any, cycle_id: Any):  # type: ignore[no-untyped-def]
    return _occurrence(person, shop_id, subscription_id, cycle_id, "resume")


@bp.post(f"{SUB}/holidays")
@customer_of_shop
def holidays(person: people.Person, shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    form = HolidayForm(prefix=f"holiday-{subscription_id}")
    if form.validate_on_submit():
        try:
            done = people.api(person).post("subscriptions", _api_path(shop_id, subscription_id, "/holidays"), {
                "from": form.first_day.data.isoformat(), "to": form.last_day.data.isoformat()})
        except ApiError as err:
            if err.status not in TIME_OFF_REFUSALS:
                raise
            show_problem(form, _without_ids(err), {"from": "first_day", "to": "last_day"})
        else:
            count = len(done["occurrences"])
            flash(ngettext("Holidays saved: %(num)d delivery from %(first)s to %(last)s is skipped.",
                           "Holidays saved: %(num)d deliveries from %(first)s to %(last)s are skipped.", count,
                           first=format_date(form.first_day.data, "long"),
                           last=format_date(form.last_day.data, "long")))
            return _back(shop_id, subscription_id)
    return subscriptions_page(person, shop_id, refused=(str(subscription_id), form), status=422)


@bp.post(f"{SUB}/pause")
@customer_of_shop
def pause(person: people.Person, shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    form = PauseForm(prefix=f"pause-{subscription_id}")
    if form.validate_on_submit():
        body: dict[str, Any] = {"until": form.until.data.isoformat()}
        if form.open_orders.data in ("keep", "cancel"):
            body["open_orders"] = form.open_orders.data
        try:
            people.api(person).post("subscriptions", _api_path(shop_id, subscription_id, "/pause"), body)
        except ApiError as err:
            if err.status not in TIME_OFF_REFUSALS:
                raise
            if err.status == 409 and "open_orders" in err.errors:
                form.open_orders.errors = [field_message(m, err) for m in err.errors["open_orders"]]
            else:
                show_problem(form, _without_ids(err))
        else:
            flash(_("Your subscription is paused. Your deliveries start again by themselves on %(day)s.",
                    day=format_date(form.until.data, "long")))
            return _back(shop_id, subscription_id)
    return subscriptions_page(person, shop_id, refused=(str(subscription_id), form), status=422)


@bp.post(f"{SUB}/unpause")
@customer_of_shop
def unpause(person: people.Person, shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    if ConfirmForm().validate_on_submit():
        try:
            people.api(person).post("subscriptions", _api_path(shop_id, subscription_id, "/unpause"))
        except ApiError as err:
            if err.status not in TIME_OFF_REFUSALS:
                raise
            flash(_("Your subscription could not start again: %(reason)s", reason=problem_message(err)), "error")
        else:
            flash(_("Your subscription is active again."))
    return _back(shop_id, subscription_id)
