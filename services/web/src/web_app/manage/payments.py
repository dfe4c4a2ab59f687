"""The shop's payments needing attention, for its managers: failed ones with why in plain words, those waiting for
the customer's bank check (3-D Secure: the customer was sent a link), cash still to collect, and the paid ones;
on a payment's page: retry now, mark paid by other means, refund (in part or all, never more than was charged).

Everything goes through billing-service's REST API with the manager's own token (``manager_api()``): the list
``GET .../payments?status=...``, one payment with its attempts and refunds, and the commands ``retry``,
``mark-paid`` and ``refunds``. Each command is sent with ``If-Match`` (the version the page showed: a payment
changed meanwhile is a 412, shown as it is now, nothing done) and an ``Idempotency-Key`` made when the form was
shown, so a form sent twice (a double click, a reload) retries, marks paid or refunds once. A refund's amount is
typed in the currency's major unit and sent in integer minor units (:func:`web_app.i18n.minor_units`); billing
refuses more than what is left to refund, and the page says so by the field.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from web_app import refusals
from web_app.api import Api, ApiError
from web_app.i18n import minor_units
from web_app.manage import manager_api, shop_page

bp = Blueprint("manage_payments", __name__, url_prefix="/manage/shops/<uuid:shop_id>/payments")

PAGE = 50
SHOWN = {  # the list's tabs: which of billing's states each shows
    "attention": ("failed", "requires_action"),
    "waiting": ("pending", "processing"),
    "paid": ("succeeded", "paid", "refunded"),
}
TABS = (("attention", _l("Needing attention")), ("waiting", _l("To collect")), ("paid", _l("Paid and refunded")))
REFUSALS = (403, 404, 409, 412, 422, 502)  # what a command can be refused with; the page shows them
RETRYABLE = ("failed",)
MARKABLE = ("pending", "failed", "requires_action")
REFUNDABLE = ("succeeded", "paid")


class CommandForm(FlaskForm):
    """A command on a payment: the version the page showed (If-Match) and the key of this form (Idempotency-Key),
    made when it was shown: the same form sent again is the same request."""

    version = HiddenField()
    key = HiddenField()


class MarkPaidForm(CommandForm):
    note = StringField(_l("How was it paid? (optional)"), validators=[
        Optional(), Length(max=500, message=_l("Enter 500 characters or fewer."))])


class RefundForm(CommandForm):
    amount = StringField(_l("Amount to refund"), validators=[InputRequired(message=_l("Enter the amount to "
                                                                                       "refund"))],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField(_l("Why? (optional, kept with the refund)"), validators=[
        Optional(), Length(max=500, message=_l("Enter 500 characters or fewer."))])

    def __init__(self, *args: Any, currency: str = "EUR", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.currency = currency

    def validate_amount(self, field: StringField) -> None:
        if minor_units(field.data, self.currency) in (None, 0):
            raise ValidationError(_("Enter an amount like 12.50"))


def _path(shop_id: Any, payment_id: Any = None) -> str:
    base = f"/api/v1/shops/{shop_id}/payments"
    return f"{base}/{payment_id}" if payment_id else base


@bp.get("/")
@shop_page
def index(shop_id: Any):  # type: ignore[no-untyped-def]
    show = request.args.get("show", "attention")
    show = show if show in SHOWN else "attention"
    cursor = request.args.get("cursor") or None
    try:
        found = manager_api().get("billing", _path(shop_id), status=list(SHOWN[show]), limit=PAGE, cursor=cursor)
    except ApiError as err:
        if err.status == 404 and cursor is None:  # billing has not heard of the shop yet: nothing to pay yet
            found = {"items": [], "next_cursor": None}
        elif err.status == 400:  # a cursor from an old or altered address: the first page
            return redirect(url_for("manage_payments.index", shop_id=shop_id, show=show), 303)
        else:
            raise
    return render_template("manage/payments.html", shop=g.shop, show=show, tabs=TABS, payments=found["items"],
                           next_cursor=found.get("next_cursor"), first=cursor is None)


def _page(shop_id: Any, payment_id: Any, *, sent: FlaskForm | None = None, action: str = "",
          problems: list[str] | None = None, status: int = 200) -> Any:
    """A payment's page with the actions its state allows; ``sent``: the form of ``action`` as the manager sent it
    (with its errors, a new key: a refused request stored nothing), ``problems``: refusals about the payment."""
    api = manager_api()
    payment = api.get("billing", _path(shop_id, payment_id))
    attempts = api.get("billing", _path(shop_id, payment_id) + "/attempts", limit=200)["items"]
    refunds = api.get("billing", _path(shop_id, payment_id) + "/refunds", limit=200)["items"] \
        if payment["amount_refunded"] else []
    forms = {"retry": CommandForm(prefix="retry", formdata=None),
             "mark_paid": MarkPaidForm(prefix="paid", formdata=None),
             "refund": RefundForm(prefix="refund", formdata=None, currency=payment["currency"])}
    if sent is not None:
        forms[action] = sent
    for form in forms.values():
        form.version.data = str(payment["version"])
        form.key.data = uuid.uuid4().hex
    errors = [(f"{name}-form", m) for name, form in forms.items() for m in form.form_errors]
    errors += [(f.id, m) for form in forms.values() for f in form if f.type not in ("CSRFTokenField", "HiddenField")
               for m in f.errors]
    errors += [("payment", m) for m in problems or []]
    return render_template("manage/payment.html", shop=g.shop, payment=payment, attempts=attempts, refunds=refunds,
                           forms=forms, errors=errors, may_retry=payment["status"] in RETRYABLE
                           and payment["method"] == "stripe", may_mark_paid=payment["status"] in MARKABLE,
                           may_refund=payment["status"] in REFUNDABLE
                           and payment["collected_amount"] > payment["amount_refunded"],
                           refundable=payment["collected_amount"] - payment["amount_refunded"]), status


@bp.get("/<uuid:payment_id>")
@shop_page
def payment(shop_id: Any, payment_id: Any):  # type: ignore[no-untyped-def]
    return _page(shop_id, payment_id)


def _send(api: Api, shop_id: Any, payment_id: Any, action: str, form: CommandForm, json: Any = None,
          reason: str | None = None) -> Any:
    headers = {"Idempotency-Key": form.key.data or uuid.uuid4().hex}
    if form.version.data and str(form.version.data).isdigit():
        headers["If-Match"] = f'"{form.version.data}"'
    if reason:
        headers["X-Change-Reason"] = reason
    return api.post("billing", _path(shop_id, payment_id) + action, json=json, headers=headers)


def _command(shop_id: Any, payment_id: Any, action: str, form: CommandForm, done: str, send: Any) -> Any:
    """A command's form posted: sent to billing; done, back to the payment saying ``done``; refused, the payment's
    page again (as it is now) with the refusal by the form's field or button."""
    if form.validate_on_submit():
        try:
            send()
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            _show_refusal(form, err)
        else:
            flash(done)
            return redirect(url_for("manage_payments.payment", shop_id=shop_id, payment_id=payment_id), 303)
    return _page(shop_id, payment_id, sent=form, action=action, status=422)


def _show_refusal(form: CommandForm, err: ApiError) -> None:
    if err.status == 412:
        form.form_errors.append(_("This payment changed since you opened the page: here it is as it is now. Check "
                                  "it and try again. Nothing was done."))
        return
    if err.status == 502:  # Stripe refused what billing asked of it (a refund, cancelling a waiting payment)
        form.form_errors.append(_("The card payment service refused this. Try again in a few minutes."))
        return
    for name, messages in refusals.field_errors(err).items():
        target = form._fields.get(name)
        if target is not None and name not in ("csrf_token", "version", "key"):
            target.errors = [*target.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not err.errors:
        form.form_errors.append(refusals.problem_message(err))


@bp.post("/<uuid:payment_id>/retry")
@shop_page
def retry(shop_id: Any, payment_id: Any):  # type: ignore[no-untyped-def]
    form = CommandForm(prefix="retry")
    return _command(shop_id, payment_id, "retry", form,
                    _("The card is being charged again. Reload the page in a moment to see the outcome."),
                    lambda: _send(manager_api(), shop_id, payment_id, "/retry", form))


@bp.post("/<uuid:payment_id>/mark-paid")
@shop_page
def mark_paid(shop_id: Any, payment_id: Any):  # type: ignore[no-untyped-def]
    form = MarkPaidForm(prefix="paid")
    return _command(shop_id, payment_id, "mark_paid", form, _("The payment is marked paid."),
                    lambda: _send(manager_api(), shop_id, payment_id, "/mark-paid", form,
                                  {"note": form.note.data or None}))


@bp.post("/<uuid:payment_id>/refund")
@shop_page
def refund(shop_id: Any, payment_id: Any):  # type: ignore[no-untyped-def]
    currency = manager_api().get("billing", _path(shop_id, payment_id))["currency"]
    form = RefundForm(prefix="refund", currency=currency)
    return _command(shop_id, payment_id, "refund", form, _("The refund is made."),
                    lambda: _send(manager_api(), shop_id, payment_id, "/refunds", form,
                                  {"amount": minor_units(form.amount.data, currency)}, form.reason.data or None))
