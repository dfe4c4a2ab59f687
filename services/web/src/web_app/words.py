"""The words for the API's codes (states), translated: one table, used by every page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SUBSCRIPTION_STATES = {
    "active": _l("Active"),
    "pending": _l("Not started yet"),
    "paused": _l("Paused"),
    "ended": _l("Ended"),
    "cancelled": _l("Cancelled"),
}

DELIVERY_STATES = {  # subscription-service's occurrence states
    "pending": _l("Upcoming"),
    "due": _l("Upcoming"),
    "placed": _l("Order placed"),
    "confirmed": _l("Confirmed"),
    "skipped": _l("Skipped"),
    "paused": _l("Paused"),
    "cancelled": _l("Cancelled"),
    "empty": _l("Nothing available"),
    "not_placed": _l("Not placed"),
    "missed": _l("Missed (platform delay)"),
    "paid": _l("Paid"),
    "payment_failed": _l("Payment failed"),
    "authorization_required": _l("Action needed"),
    "refunded": _l("Refunded"),
}

CARD_BRANDS = {  # Stripe's card brands
    "visa": _l("Visa"),
    "mastercard": _l("Mastercard"),
    "amex": _l("American Express"),
    "discover": _l("Discover"),
    "diners": _l("Diners Club"),
    "jcb": _l("JCB"),
    "unionpay": _l("UnionPay"),
    "cartes_bancaires": _l("Cartes Bancaires"),
    "unknown": _l("Card"),
}


def label(table: dict[str, object], code: str | None) -> str:
    return str(table.get(code or "", code or ""))
