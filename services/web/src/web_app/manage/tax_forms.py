"""The shop's tax, as its managers set it on the settings page: whether its prices include tax, and its rates, one
per tax category (a slug such as ``reduced``, the API's ``[a-z0-9_-]{1,40}``) typed as a percentage in the
manager's number format and sent as basis points (5.5 % = 550, :func:`web_app.i18n.basis_points`).

The form shows the shop's rates and a few empty rows for new ones; a row emptied is a rate removed. What it sends
is the whole list (``tax_rates``), as subscription-service's ``PATCH /api/v1/shops/<shop>`` takes it, so the API's
refusals name rows of the list it was sent (``tax_rates.1.rate_bp``): :meth:`TaxForm.field_of` finds the row's
field on the form again.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from web_app.i18n import basis_points, percent

CATEGORY = re.compile(r"[a-z0-9_-]{1,40}")
NEW_ROWS = 2  # empty rows offered for new rates
MAX_RATES = 20


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class RateForm(Form):
    """One rate: its category and its percentage (both empty: no rate)."""

    category = StringField(_l("Tax category"), filters=[_strip],
                           render_kw={"spellcheck": "false", "autocomplete": "off", "autocapitalize": "none"})
    percent = StringField(_l("Rate (%)"), filters=[_strip], render_kw={"inputmode": "decimal", "autocomplete": "off"})

    def empty(self) -> bool:
        return not self.category.data and not self.percent.data


class TaxForm(FlaskForm):
    """Prices with or without tax, and the rates (``rates``: the form's rows, named ``rates-0-category``...)."""

    prices_include_tax = RadioField(_l("The prices of the catalog and of the fees"), choices=[
        SelectChoice("include", _l("Include tax: the tax is part of each price")),  # type: ignore[arg-type]
        SelectChoice("exclude", _l("Exclude tax: the tax is added to the order's total"))],  # type: ignore[arg-type]
        validators=[InputRequired(message=_l("Choose whether the prices include tax"))])
    rates = FieldList(FormField(RateForm), min_entries=1, max_entries=MAX_RATES + NEW_ROWS)
    version = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return self._rows_valid() and valid

    def _rows_valid(self) -> bool:
        """Each row filled is a category in the API's shape and a percentage from 0 to 100; no category twice.
        The errors are the rows' own fields' (shown by each and in the summary)."""
        seen: set[str] = set()
        failed = False
        for row in self.rates:
            rate: RateForm = row.form
            if rate.empty():
                continue
            category = rate.category.data or ""
            if not category:
                rate.category.errors = [_("Enter the tax category of this rate")]
            elif not CATEGORY.fullmatch(category):
                rate.category.errors = [_("Enter a category of small letters, digits, - or _ (40 at most), like "
                                          "reduced")]
            elif category in seen:
                rate.category.errors = [_("This category already has a rate: each category has one")]
            seen.add(category)
            if not rate.percent.data:
                rate.percent.errors = [_("Enter the rate of %(category)s", category=category or "…")]
            elif basis_points(rate.percent.data) is None:
                rate.percent.errors = [_("Enter a percentage from 0 to 100 with at most two decimals, like "
                                         "%(example)s", example=percent_typed(550))]
            failed = failed or bool(rate.category.errors or rate.percent.errors)
        return not failed

    def row_errors(self) -> list[tuple[Any, str]]:
        """Each row's field in error and its message, in the page's order (for the error summary)."""
        return [(f, message) for row in self.rates for f in (row.form.category, row.form.percent)
                for message in f.errors]

    @staticmethod
    def example() -> str:
        return percent_typed(550)

    def sent_rows(self) -> list[RateForm]:
        """The rows sent, in order: those filled."""
        return [row.form for row in self.rates if not row.form.empty()]

    def changes(self) -> dict[str, Any]:
        """The tax settings as the API takes them: the whole list of rates, each in basis points."""
        return {"prices_include_tax": self.prices_include_tax.data == "include",
                "tax_rates": [{"category": r.category.data, "rate_bp": basis_points(r.percent.data)}
                              for r in self.sent_rows()]}

    def field_of(self, api_name: str) -> Any:
        """The form's field an API error names (``tax_rates.1.rate_bp`` -> the second filled row's percentage),
        or None (the refusal is then the form's own)."""
        if api_name == "prices_include_tax":
            return self.prices_include_tax
        found = re.fullmatch(r"tax_rates\.(\d+)(?:\.(category|rate_bp))?", api_name)
        rows = self.sent_rows()
        if not found or int(found[1]) >= len(rows):
            return None
        row = rows[int(found[1])]
        return row.percent if found[2] == "rate_bp" else row.category


def tax_form_of(shop: dict[str, Any]) -> TaxForm:
    """The form showing the shop's tax settings as the API answered them, with empty rows for new rates."""
    rates = [{"category": r["category"], "percent": percent_typed(r["rate_bp"])} for r in shop.get("tax_rates") or []]
    form = TaxForm(formdata=None, data={
        "prices_include_tax": "include" if shop.get("prices_include_tax") else "exclude",
        "rates": [*rates, *({"category": "", "percent": ""} for _ in range(NEW_ROWS))],
        "version": str(shop.get("version", "")),
    }, prefix="tax")
    return form


def percent_typed(bp: int) -> str:
    """A rate as a manager would type it back in their format: "5,5" (fr), "5.5" (en); no sign."""
    return percent(bp).replace("%", "").strip("\u202f\xa0 ")


def with_new_rows(form: TaxForm) -> TaxForm:
    """A form sent back with its errors keeps what was typed, and still offers an empty row for a new rate."""
    if not any(row.form.empty() for row in form.rates) and len(form.rates) < MAX_RATES + NEW_ROWS:
        form.rates.append_entry()
    return form
