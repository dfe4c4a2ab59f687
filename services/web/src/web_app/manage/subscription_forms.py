"""The forms of the console's Subscriptions page and what they send: a subscription's form (customer, schedule,
products, methods, dates, addresses) turned into subscription-service's create or change, the API's refusals put
back by the field they concern (``items.0.quantity`` -> the first product line sent), and the actions on a
subscription (pause, cancel, holidays), each carrying the version the page showed (a change made meanwhile is the
API's 412: nothing is done).

Dates are days of the shop's time zone: a subscription begins at the start of its first day and ends at the end
of its last (``instant``); the API stores instants.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from web_app import refusals
from web_app.api import ApiError
from web_app.forms import DayField

ADDRESS_FIELDS = ("first_name", "last_name", "address1", "address2", "city", "zipcode", "state", "country", "phone")
BLANK_LINES = 2  # empty product lines offered after the subscription's own ones
MAX_LINES = 200  # the API's limit


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class AddressForm(Form):
    """An address as the API takes it; the API's rules (required, lengths, the country's code) come back by the
    field."""

    first_name = StringField(_l("First name"), filters=[_strip], render_kw={"autocomplete": "off"})
    last_name = StringField(_l("Last name"), filters=[_strip], render_kw={"autocomplete": "off"})
    address1 = StringField(_l("Address"), filters=[_strip], render_kw={"autocomplete": "off"})
    address2 = StringField(_l("Address line 2 (optional)"), filters=[_strip], render_kw={"autocomplete": "off"})
    city = StringField(_l("Town or city"), filters=[_strip], render_kw={"autocomplete": "off"})
    zipcode = StringField(_l("Postcode"), filters=[_strip], render_kw={"autocomplete": "off"})
    state = StringField(_l("Region (optional)"), filters=[_strip], render_kw={"autocomplete": "off"})
    country = StringField(_l("Country code, like FR"), filters=[_strip, lambda v: v.upper() if v else v],
                          render_kw={"autocomplete": "off", "maxlength": 2, "spellcheck": "false"})
    phone = StringField(_l("Phone (optional)"), filters=[_strip], render_kw={"autocomplete": "off",
                                                                                  "inputmode": "tel"})


class LineForm(Form):
    """One product line: a product of the shop's catalog and how many in each order. A line without a product or
    with a quantity of 0 is left out (that is how a product is taken off)."""

    variant_id = SelectField(_l("Product"), choices=[], validate_choice=False)
    quantity = IntegerField(_l("Quantity"), validators=[
        Optional(), NumberRange(min=0, max=1_000_000, message=_l("Enter a number from 0 to 1000000."))],
        render_kw={"inputmode": "numeric", "min": 0})
    substitute_1 = SelectField(_l("First substitute"), choices=[], validate_choice=False)
    substitute_2 = SelectField(_l("Second substitute"), choices=[], validate_choice=False)
    substitute_3 = SelectField(_l("Third substitute"), choices=[], validate_choice=False)

    def substitutes(self) -> list[str]:
        """The substitutes chosen, in order of preference (an empty choice skipped)."""
        return [f.data for f in (self.substitute_1, self.substitute_2, self.substitute_3) if f.data]


class SubscriptionForm(FlaskForm):
    """A subscription's terms. ``customer_id`` is chosen before the form (and never changes); ``schedule_id``
    neither once created (the edit form shows it, without a field)."""

    customer_id = HiddenField()
    schedule_id = SelectField(_l("Schedule"), choices=[], validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)
    shipping_method_id = SelectField(_l("Delivery or pickup"), choices=[], validate_choice=False)
    payment_method_id = SelectField(_l("Payment method"), choices=[], validate_choice=False)
    begins_on = DayField(_l("First day"), validators=[InputRequired(message=_l("Enter the first day"))])
    ends_on = DayField(_l("Last day (optional)"), validators=[Optional()])
    bill_address = FormField(AddressForm, label=_l("Billing address"))
    ship_address = FormField(AddressForm, label=_l("Delivery address"))
    reason = StringField(_l("Why (optional, kept in the history)"), filters=[_strip],
                         validators=[Length(max=500, message=_l("Enter 500 characters or fewer."))])
    version = HiddenField()
    once = HiddenField()  # a new subscription's Idempotency-Key: the form posted twice creates one subscription

    def validate_ends_on(self, field: DayField) -> None:
        if self.begins_on.data and field.data and field.data < self.begins_on.data:
            raise ValidationError(str(_l("The last day must be on or after the first day")))


class ActionForm(FlaskForm):
    """A button on a subscription (unpause, skip or resume a delivery), the version the page showed and an
    optional reason for the history."""

    version = HiddenField()
    reason = StringField(_l("Why (optional, kept in the history)"), filters=[_strip],
                         validators=[Length(max=500, message=_l("Enter 500 characters or fewer."))])


OPEN_ORDERS = [SelectChoice("keep", _l("Keep them: they are delivered and charged as planned")),  # type: ignore[arg-type]
               SelectChoice("cancel", _l("Cancel them"))]  # type: ignore[arg-type]


class ManagerPauseForm(ActionForm):
    """Pause, for good or until a day; ``open_orders`` is asked when orders are already placed in open cycles."""

    until = DayField(_l("Start again by itself on (optional)"), validators=[Optional()])
    open_orders = RadioField(_l("Orders already placed for deliveries still open"), choices=OPEN_ORDERS,
                             validators=[Optional()], validate_choice=False)


class ManagerCancelForm(ActionForm):
    """Cancel for good; ``open_orders`` as for a pause."""

    open_orders = RadioField(_l("Orders already placed for deliveries still open"), choices=OPEN_ORDERS,
                             validators=[Optional()], validate_choice=False)


class ManagerHolidayForm(ActionForm):
    first_day = DayField(_l("First day away"), validators=[InputRequired(message=_l("Enter the first day away"))])
    last_day = DayField(_l("Last day away"), validators=[InputRequired(message=_l("Enter the last day away"))])

    def validate_last_day(self, field: DayField) -> None:
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError(str(_l("The last day must be on or after the first day")))


# -- from the API to the form, and back -------------------------------------------------------------------------


def instant(day: date, timezone: str, *, end: bool = False) -> str:
    """The start (or the last second) of ``day`` in the shop's time zone, as the API's ISO instant."""
    at = datetime.combine(day, time(23, 59, 59) if end else time(), ZoneInfo(timezone))
    return at.isoformat()


def local_day(value: str | None, timezone: str) -> date | None:
    """The shop's day of an instant the API answered."""
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)).date()


def address_of(form: AddressForm) -> dict[str, Any] | None:
    """The address as the API takes it: what was typed, nothing for an empty line (None: nothing typed at all)."""
    data = {name: getattr(form, name).data for name in ADDRESS_FIELDS if getattr(form, name).data}
    return data or None


def same_address(typed: dict[str, Any] | None, known: dict[str, Any] | None) -> bool:
    return {k: v for k, v in (typed or {}).items() if v} == {k: v for k, v in (known or {}).items() if v}


def lines_sent(form: SubscriptionForm) -> tuple[list[dict[str, Any]], list[int]]:
    """The product lines to send (each with a product and a quantity above 0) and, for each, its line on the form
    (the API's ``items.<n>`` is the n-th line sent)."""
    items, rows = [], []
    for n, entry in enumerate(form.lines.entries):
        variant, quantity = entry.form.variant_id.data, entry.form.quantity.data
        if variant and quantity:
            items.append({"variant_id": variant, "quantity": quantity, "substitutes": entry.form.substitutes()})
            rows.append(n)
    return items, rows


def fill(form: SubscriptionForm, sub: dict[str, Any], timezone: str, blank: int = BLANK_LINES) -> None:
    """A form showing ``sub`` (a subscription as the API answers it, or a customer's addresses for a new one)."""
    form.schedule_id.data = sub.get("schedule_id")
    form.shipping_method_id.data = sub.get("shipping_method_id")
    form.payment_method_id.data = sub.get("payment_method_id")
    form.begins_on.data = local_day(sub.get("begins_at"), timezone) or form.begins_on.data
    form.ends_on.data = local_day(sub.get("ends_at"), timezone)
    for name in ("bill_address", "ship_address"):
        for key, value in (sub.get(name) or {}).items():
            if key in ADDRESS_FIELDS:
                getattr(getattr(form, name).form, key).data = value
    while form.lines.entries:
        form.lines.pop_entry()
    for item in sub.get("items") or []:
        chosen = list(item.get("substitutes") or [])[:3]
        form.lines.append_entry({"variant_id": item["variant_id"], "quantity": item["quantity"],
                                 **{f"substitute_{k + 1}": v for k, v in enumerate(chosen)}})
    for _ in range(blank):
        form.lines.append_entry()
    form.version.data = str(sub.get("version") or "")


def add_lines(form: SubscriptionForm, count: int = BLANK_LINES) -> None:
    for _ in range(min(count, MAX_LINES - len(form.lines.entries))):
        form.lines.append_entry()


def create_body(form: SubscriptionForm, timezone: str) -> tuple[dict[str, Any], list[int]]:
    items, rows = lines_sent(form)
    body: dict[str, Any] = {
        "customer_id": form.customer_id.data or None, "schedule_id": form.schedule_id.data or None,
        "shipping_method_id": form.shipping_method_id.data or None,
        "payment_method_id": form.payment_method_id.data or None,
        "bill_address": address_of(form.bill_address.form), "ship_address": address_of(form.ship_address.form),
        "begins_at": instant(form.begins_on.data, timezone),
        "ends_at": instant(form.ends_on.data, timezone, end=True) if form.ends_on.data else None,
        "items": items}
    return {k: v for k, v in body.items() if v is not None or k == "ends_at"}, rows


def change_body(form: SubscriptionForm, sub: dict[str, Any], timezone: str) -> tuple[dict[str, Any], list[int]]:
    """Only what the manager changed: a term sent unchanged would be compared with the stored one (an address
    with a blank line, a first day at another hour) and recorded as a change nobody made."""
    items, rows = lines_sent(form)
    body: dict[str, Any] = {}
    def line(i: dict[str, Any]) -> tuple[str, int, list[str]]:
        return i["variant_id"], i["quantity"], list(i.get("substitutes") or [])

    # a line of quantity 0 (saved before 0 was refused) is not on the form's lines sent: it stays as it is
    # unless the products are changed
    if [line(i) for i in items] != [line(i) for i in sub.get("items") or [] if i["quantity"]]:
        body["items"] = items
    for name in ("shipping_method_id", "payment_method_id"):
        if (getattr(form, name).data or None) != sub.get(name):
            body[name] = getattr(form, name).data or None
    for name in ("bill_address", "ship_address"):
        typed = address_of(getattr(form, name).form)
        if not same_address(typed, sub.get(name)):
            body[name] = typed
    if form.begins_on.data != local_day(sub.get("begins_at"), timezone):
        body["begins_at"] = instant(form.begins_on.data, timezone)
    if form.ends_on.data != local_day(sub.get("ends_at"), timezone):
        body["ends_at"] = instant(form.ends_on.data, timezone, end=True) if form.ends_on.data else None
    return body, rows


def estimate_body(form: SubscriptionForm) -> dict[str, Any]:
    items, _ = lines_sent(form)
    return {"items": [{"variant_id": i["variant_id"], "quantity": i["quantity"]} for i in items],
            "shipping_method_id": form.shipping_method_id.data or None,
            "payment_method_id": form.payment_method_id.data or None}


def if_match(version: str | None, reason: str | None = None) -> dict[str, str]:
    """The headers of a change: the version the page showed (412 if it changed since) and the reason given."""
    headers = {"If-Match": f'"{version}"'} if version and version.isdigit() else {}
    if reason:
        headers["X-Change-Reason"] = reason
    return headers


# -- refusals by the field -----------------------------------------------------------------------------------------


API_FIELDS = {"begins_at": "begins_on", "ends_at": "ends_on", "from": "first_day", "to": "last_day",
              "X-Change-Reason": "reason"}


def _target(form: FlaskForm, name: str, rows: list[int]) -> Any:
    """The form's field an API field name points at (``bill_address.city``, ``items.2.quantity``), or None."""
    parts = name.split(".")
    head = API_FIELDS.get(parts[0], parts[0])
    if head == "items" and isinstance(form, SubscriptionForm) and form.lines.entries:
        if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            line = form.lines.entries[rows[int(parts[1])]].form
            if parts[2] == "substitutes":  # items.<n>.substitutes.<k>: the k-th substitute chosen on that line
                chosen = [f for f in (line.substitute_1, line.substitute_2, line.substitute_3) if f.data]
                k = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0
                return chosen[k] if k < len(chosen) else line.substitute_1
            return getattr(line, parts[2], None) if parts[2] in line._fields else line.variant_id
        first = rows[0] if rows else 0
        return form.lines.entries[first].form.variant_id
    field = form._fields.get(head) if head != "csrf_token" else None
    if field is not None and isinstance(field, FormField):
        sub = field.form
        return sub._fields.get(parts[1]) if len(parts) > 1 else sub._fields.get("first_name")
    return field


def show_refusal(form: FlaskForm, err: ApiError, rows: list[int] | None = None) -> None:
    """The API's refusal on the form, in the reader's words: each field's messages by its field (nested and list
    fields included), the rest in the summary. Lists of ids (a 409's ``open_order_cycle_ids``) are not messages."""
    for name, messages in refusals.manager_field_errors(err).items():
        if name.endswith("_ids"):
            continue
        field = _target(form, name, rows or [])
        if field is not None and not isinstance(field, FormField | FieldList):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not err.errors:
        form.form_errors.append(refusals.manager_problem(err))
    if isinstance(form, SubscriptionForm):
        form.lines.errors = [e.errors for e in form.lines.entries] if any(
            e.errors for e in form.lines.entries) else []


def error_list(form: FlaskForm) -> list[tuple[str, str]]:
    """Every error of the form as (the field's id, the message), in the form's order, nested fields included:
    the summary's links (GOV.UK's error summary)."""
    out: list[tuple[str, str]] = []

    def walk(fields: Any) -> None:
        for f in fields:
            if isinstance(f, FormField):
                walk(f.form)
            elif isinstance(f, FieldList):
                for entry in f.entries:
                    walk(entry.form if isinstance(entry, FormField) else [entry])
            elif f.type not in ("CSRFTokenField", "HiddenField"):
                out.extend((f.id, str(m)) for m in f.errors)

    walk(form)
    return out
