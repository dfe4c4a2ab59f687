"""Forms (Flask-WTF: every form carries a CSRF token) and the services' refusals shown next to their fields.

Errors follow the GOV.UK Design System's pattern: a summary at the top of the page linking to each field in
error, the message by the field, and what the person typed kept in the form (``templates/macros/forms.html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, IntegerField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import TextInput

from web_app import refusals
from web_app.api import ApiError
from web_app.i18n import read_day, typed_day

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # the API checks it fully; this catches a typo before the round trip


class DayField(DateField):
    """A day typed as the page's language writes it ("31/12/2026" in French, "12/31/2026" in English, ISO too:
    ``i18n.read_day``), in a plain text box: a browser's own date box shows and reads dates in the browser's
    language, whatever the page's. Shown back as typed when refused, else in the reader's form; ``example`` is the
    hint the field macro shows under its label."""

    widget = TextInput()
    data: Any  # a date once read, else None (the validators' business)

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        render_kw = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false",
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    @staticmethod
    def example() -> str:
        return str(_l("For example, %(example)s", example=typed_day(date(date.today().year, 12, 31))))

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return typed_day(self.data) if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return  # empty: the field's own validators say whether it may be
        try:
            self.data = read_day(str(valuelist[0]))
        except ValueError:
            raise ValueError(str(_l("Enter a real date, for example %(example)s",
                                    example=typed_day(date(date.today().year, 12, 31))))) from None


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        InputRequired(message=_l("Enter your email address")),
        Length(max=254, message=_l("Email address must be 254 characters or fewer")),
        Regexp(EMAIL_SHAPE, message=_l("Enter an email address in the correct format, like name@example.com")),
    ], filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "email", "spellcheck": "false"})
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button and its CSRF token (signing in with a link, signing out, removing a card)."""


class CardForm(FlaskForm):
    """The card setup the customer's browser confirmed with Stripe.js (``static/card.js`` fills it in); the card's
    number never reaches this app. The id is shown to the field of the card's details (``card``) when refused."""

    setup_intent_id = HiddenField(validators=[
        InputRequired(message=_l("Enter your card details")),
        Regexp(r"^seti_[A-Za-z0-9_]{1,250}$", message=_l("Enter your card details")),
    ])


class ConsentForm(FlaskForm):
    """Allowing the shop to charge the card: the box ticked under the text shown, and the language of that text."""

    agree = BooleanField(_l("I agree to the text above"), validators=[
        InputRequired(message=_l("Tick the box to give the shop permission to charge your card")),
    ])
    locale = HiddenField(validators=[AnyOf(("en", "fr"))])


class WithdrawForm(FlaskForm):
    """Withdrawing the permission: the language of the withdrawal text shown."""

    locale = HiddenField(validators=[AnyOf(("en", "fr"))])


class HolidayForm(FlaskForm):
    """Days away: every delivery whose orders close from the first to the last day (the shop's dates) is skipped.
    The API's rules (from today, within a year, a delivery in between) come back by the field."""

    first_day = DayField(_l("First day away"), validators=[InputRequired(message=_l("Enter the first day you are "
                                                                                      "away"))])
    last_day = DayField(_l("Last day away"), validators=[InputRequired(message=_l("Enter the last day you are "
                                                                                    "away"))])

    def validate_last_day(self, field: DayField) -> None:
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError(str(_l("The last day must be on or after the first day")))


class PauseForm(FlaskForm):
    """Pause until a day (the shop's date): the subscription starts again by itself that day. ``open_orders`` is
    asked only when an order is already placed in a cycle still open (the API answers 409 until it is chosen)."""

    until = DayField(_l("Start my deliveries again on"), validators=[
        InputRequired(message=_l("Enter the day your deliveries start again"))])
    open_orders = RadioField(_l("An order is already placed for a delivery still open"), choices=[
        SelectChoice("keep", _l("Keep it: it is delivered and charged as planned")),  # type: ignore[arg-type]
        SelectChoice("cancel", _l("Cancel it"))],  # type: ignore[arg-type]
        validators=[Optional()], validate_choice=False)


def show_problem(form: FlaskForm, error: ApiError, fields: Mapping[str, str] | None = None) -> None:
    """Put a service's refusal on the form, in the reader's language (:mod:`web_app.refusals`): each ``errors``
    entry next to its field (``fields`` maps the API's field names to the form's where they differ), anything else
    in the form's own errors (shown in the summary)."""
    fields = fields or {}
    for name, messages in refusals.field_errors(error).items():
        target = fields.get(name, name)
        if target in form._fields and target != "csrf_token":
            field = form._fields[target]
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not error.errors:
        form.form_errors.append(refusals.problem_message(error))


class QuantityForm(FlaskForm):
    """A new quantity for one line of an order (each line's form has its own prefix, so its own field ids)."""

    quantity = IntegerField(_l("Quantity"), validators=[
        InputRequired(message=_l("Enter a quantity")),
        NumberRange(min=1, max=1_000_000, message=_l("Enter a quantity of 1 or more. To take this product off, "
                                                     "remove it.")),
    ], render_kw={"inputmode": "numeric", "min": 1, "max": 1_000_000})
    version = HiddenField()


class OrderActionForm(FlaskForm):
    """A button on an order (remove a line, cancel, resume) and the version of the order the page showed: a
    change made meanwhile refuses the action (the API's 412) instead of acting on an order the person did not
    see."""

    version = HiddenField()


class AddProductForm(FlaskForm):
    """A manager adds a product to an order: one of those the order can take (order-service's products-to-add, the
    page's choices; the API decides again when it is sent) and how many, with the version of the order shown."""

    variant_id = SelectField(_l("Product"), validators=[InputRequired(message=_l("Choose a product"))],
                             validate_choice=False)
    quantity = IntegerField(_l("Quantity"), default=1, validators=[
        InputRequired(message=_l("Enter a quantity")),
        NumberRange(min=1, max=1_000_000, message=_l("Enter a quantity of 1 or more.")),
    ], render_kw={"inputmode": "numeric", "min": 1, "max": 1_000_000})
    version = HiddenField()
