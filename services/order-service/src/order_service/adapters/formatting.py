"""Money and dates as people read them, in English or French. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF"}
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "JPY": "¥"}
NARROW_NBSP = "\u202f"

DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]}
MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"],
          "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre"]}


def money(amount: int | None, currency: str, locale: str = "en") -> str:
    """12,50 € (fr) / €12.50 (en) from 1250 minor units."""
    if amount is None:
        return "?"
    exponent = 0 if currency in ZERO_DECIMAL else 2
    units, cents = divmod(abs(int(amount)), 10 ** exponent)
    sign = "-" if amount < 0 else ""
    if locale == "fr":
        number = f"{units:,}".replace(",", NARROW_NBSP) + (f",{cents:0{exponent}d}" if exponent else "")
        return f"{sign}{number}\u00a0{SYMBOLS.get(currency, currency)}"
    number = f"{units:,}" + (f".{cents:0{exponent}d}" if exponent else "")
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def percent(basis_points: int, locale: str = "en") -> str:
    """5.5 % (en) / 5,5 % (fr) from 550 basis points; 20 % from 2000."""
    whole, rest = divmod(int(basis_points), 100)
    number = f"{whole}" if not rest else f"{whole}.{rest:02d}".rstrip("0")
    return f"{number.replace('.', ',') if locale == 'fr' else number}\u00a0%"


def local(at: datetime | str | None, timezone: str) -> datetime | None:
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    try:
        return at.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return at


def when(at: datetime | str | None, timezone: str, locale: str = "en") -> str:
    """Friday 3 April 2026 at 17:00 / vendredi 3 avril 2026 à 17:00, in the shop's time zone."""
    moment = local(at, timezone)
    if moment is None:
        return "?"
    lang = "fr" if locale == "fr" else "en"
    day, month = DAYS[lang][moment.weekday()], MONTHS[lang][moment.month - 1]
    joiner = "à" if lang == "fr" else "at"
    return f"{day} {moment.day} {month} {moment.year} {joiner} {moment:%H:%M}"


def day(on: str | None, locale: str = "en") -> str:
    """Friday 1 May 2026 / vendredi 1 mai 2026, from an ISO date (a day of the shop's calendar)."""
    if not on:
        return "?"
    moment = datetime.fromisoformat(str(on)[:10])
    lang = "fr" if locale == "fr" else "en"
    return f"{DAYS[lang][moment.weekday()]} {moment.day} {MONTHS[lang][moment.month - 1]} {moment.year}"
