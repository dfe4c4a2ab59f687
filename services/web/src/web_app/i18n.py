"""Languages, dates and money, as the reader reads them (Flask-Babel and Babel's CLDR data).

The language of a page: the signed-in customer's ``locale`` (a field of the customer), else their shop's, else the
browser's ``Accept-Language``, else ``DEFAULT_LOCALE``; only languages we have complete translations for (en, fr).
A page that read the customer and the shop calls :func:`use_reader`, so the choice is made from the API's data;
the session remembers it for the pages that read neither (signing in, errors).
Dates and times are shown in the shop's time zone; money is an integer of minor units in its ISO currency.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton, format_time, get_date_format, get_datetime_format
from babel.numbers import format_percent, get_currency_precision
from flask import current_app, g, request, session
from flask_babel import Babel, format_currency, format_date, get_locale, refresh, to_user_timezone

from web_app.config import LOCALES


def pick(*candidates: str | None) -> str | None:
    """The first of the candidates that is a language we have (``fr_CA`` counts as ``fr``)."""
    for c in candidates:
        if c and c.replace("-", "_").split("_")[0].lower() in LOCALES:
            return c.replace("-", "_").split("_")[0].lower()
    return None


def select_locale() -> str:
    return (g.get("locale") or session.get("locale")
            or pick(request.accept_languages.best_match(LOCALES) if request else None)
            or current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return g.get("timezone") or session.get("timezone") or "UTC"


def use_reader(*, customer: dict[str, Any] | None = None, shop: dict[str, Any] | None = None) -> None:
    """This page speaks the customer's language (else the shop's) and shows the shop's time zone."""
    locale = pick((customer or {}).get("locale"), (shop or {}).get("locale"))
    if locale:
        g.locale = session["locale"] = locale
    if shop and shop.get("timezone"):
        g.timezone = session["timezone"] = shop["timezone"]
    refresh()


def _when(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def money(minor: int | None, currency: str) -> str:
    """``money(1250, "EUR")`` -> "€12.50" (en) / "12,50 €" (fr): integer minor units, never a float."""
    if minor is None:
        return ""
    return format_currency(Decimal(minor).scaleb(-get_currency_precision(currency)), currency)


def minor_units(text: str | None, currency: str) -> int | None:
    """An amount a person typed in the currency's major unit ("12.50", "12,50", "12") -> integer minor units
    (1250), exactly, through Decimal; None when it is not such an amount (more decimals than the currency has,
    a sign, letters). The inverse of :func:`money`."""
    digits = get_currency_precision(currency)
    cleaned = (text or "").strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    pattern = r"\d{1,12}" + (rf"(\.\d{{1,{digits}}})?" if digits else "")
    if not re.fullmatch(pattern, cleaned):
        return None
    return int(Decimal(cleaned).scaleb(digits))


def percent(basis_points: int | None) -> str:
    """A rate in basis points as the reader writes a percentage, by CLDR's pattern of their language:
    ``percent(550)`` is "5.5" then the sign in English, "5,5", a narrow no-break space, then the sign in French; as
    many decimals as the rate has (at most two), none added or cut. ``None`` (no rate) -> "". The inverse of
    :func:`basis_points`."""
    if basis_points is None:
        return ""
    return format_percent(Decimal(basis_points).scaleb(-4), locale=get_locale(), decimal_quantization=False)


def basis_points(text: str | None) -> int | None:
    """A percentage a person typed ("5,5", "5.5", "5.5 %", "20") -> basis points (550, 2000), exactly, through
    Decimal (a comma or a point before the decimals, as :func:`minor_units` reads amounts); None when it is not
    a percentage from 0 to 100 with at most two decimals. The inverse of :func:`percent`."""
    cleaned = re.sub(r"[\s\u00a0\u202f]*%?\Z", "", (text or "").strip())
    if not re.fullmatch(r"\d{1,3}([.,]\d{1,2})?", cleaned):  # at most 100: no group separator to read
        return None
    bp = int(Decimal(cleaned.replace(",", ".")).scaleb(2))  # exact: two decimals at most
    return bp if bp <= 10_000 else None


def when(value: str | datetime | None) -> str:
    """A date and time to the minute, in the page's time zone (the shop's) and language, joined as CLDR joins
    them for that language: "Wed, Dec 9, 2026, 3:04 AM", "mer. 9 déc. 2026, 03:04"."""
    if not value:
        return ""
    local, locale = to_user_timezone(_when(value)), get_locale()
    joined = str(get_datetime_format("medium", locale=locale))
    return joined.replace("{1}", format_skeleton("yMMMEd", local, locale=locale)).replace(
        "{0}", format_time(local, "short", tzinfo=local.tzinfo, locale=locale))


def day(value: str | datetime | None, fmt: str = "full") -> str:
    """A date alone, as the shop's time zone sees it."""
    if not value:
        return ""
    return format_date(to_user_timezone(_when(value)).date(), fmt)


def _typed_pattern(locale: Any) -> str:
    """The reader's short date pattern (CLDR) with two-digit days and months and four-digit years: "dd/MM/yyyy"
    in French, "MM/dd/yyyy" in English."""
    pattern = str(get_date_format("short", locale=locale).pattern)
    return re.sub(r"y+", "yyyy", re.sub(r"M+", "MM", re.sub(r"d+", "dd", pattern)))


def typed_day(value: date) -> str:
    """A day as the reader types it (``read_day`` reads it back): "31/12/2026" (fr), "12/31/2026" (en)."""
    locale = get_locale()
    return babel_format_date(value, _typed_pattern(locale), locale=locale)


def read_day(text: str) -> date:
    """A day typed by the reader: three numbers in their language's order (its CLDR short date pattern: day first
    in French, month first in English), any separator, a two-digit year this century's; or ISO 8601 (2026-12-31,
    what another client sends). ValueError when it is no real day (a month of 13 is not read as a day)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    found = re.fullmatch(r"(\d{1,2})[ ./-](\d{1,2})[ ./-](\d{2}|\d{4})", text)
    if found is None:
        raise ValueError(f"not a day: {text!r}")
    order = sorted("dMy", key=_typed_pattern(get_locale()).index)
    if order[2] != "y":  # a language whose short dates start with the year: read ISO-like day order only
        raise ValueError(f"not a day: {text!r}")
    parts = dict(zip(order, (int(n) for n in found.groups()), strict=True))
    year = parts["y"] + 2000 if len(found.group(3)) == 2 else parts["y"]
    return date(year, parts["M"], parts["d"])


def init_app(app: Any) -> Babel:
    babel = Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(money=money, when=when, day=day, percent=percent)
    return babel
