"""A receipt or invoice as a PDF: HTML from a Jinja2 template (``templates/receipt/receipt.html.j2``), in English or
French, money and dates through Babel (the shop's time zone), made into a PDF by WeasyPrint. Fonts are the machine's
(fontconfig); nothing is fetched from the network."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined

WORDS: dict[str, dict[str, str]] = {
    "en": {"receipt": "Receipt", "invoice": "Invoice", "number": "Invoice number", "order": "Order",
           "paid_on": "Paid on", "billed_to": "Billed to", "product": "Product", "quantity": "Quantity",
           "unit_price": "Unit price", "tax_rate": "Tax rate", "tax": "Tax", "total": "Total",
           "items": "Items", "shipping": "Delivery", "payment_fee": "Payment fee", "tax_total": "Of which tax",
           "tax_added": "Tax", "grand_total": "Total paid", "contact": "Contact", "issued": "Issued on",
           "thanks": "Thank you for your order."},
    "fr": {"receipt": "Reçu", "invoice": "Facture", "number": "Facture n°", "order": "Commande",
           "paid_on": "Payée le", "billed_to": "Facturé à", "product": "Produit", "quantity": "Quantité",
           "unit_price": "Prix unitaire", "tax_rate": "Taux de TVA", "tax": "TVA", "total": "Total",
           "items": "Produits", "shipping": "Livraison", "payment_fee": "Frais de paiement",
           "tax_total": "Dont TVA", "tax_added": "TVA", "grand_total": "Total payé", "contact": "Contact",
           "issued": "Émis le", "thanks": "Merci pour votre commande."},
}


@cache
def _template() -> Any:
    env = Environment(loader=PackageLoader("order_service", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("receipt/receipt.html.j2")


def _lang(locale: str) -> str:
    return "fr" if (locale or "").startswith("fr") else "en"


def _exponent(currency: str) -> int:
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(currency))


def money(minor: int | None, currency: str, locale: str) -> str:
    """Integer minor units as the reader writes the amount (1250 EUR: 12,50 € in French, €12.50 in English)."""
    from decimal import Decimal

    value = Decimal(int(minor or 0)).scaleb(-_exponent(currency))
    return format_currency(value, currency, locale=_lang(locale))


def rate(bp: int | None, locale: str) -> str:
    """Basis points as a percentage: 550 -> 5.5 % / 5,5 %."""
    from decimal import Decimal

    return format_decimal(Decimal(int(bp or 0)).scaleb(-2), locale=_lang(locale)) + "\u00a0%"


def file_name(doc: dict[str, Any], locale: str) -> str:
    words = WORDS[_lang(locale)]
    if doc.get("invoice_number") is not None:
        return f"{words['invoice'].lower()}-{doc['invoice_number']}.pdf"
    return f"{words['receipt'].lower()}-{doc['number']}.pdf".replace("ç", "c")


def html(doc: dict[str, Any], locale: str) -> str:
    """The document as HTML (what the PDF shows)."""
    lang = _lang(locale)
    shop, customer = doc["shop"], doc.get("customer") or {}
    tz = ZoneInfo(shop.get("timezone") or "UTC")
    currency = doc["currency"]
    paid_at = doc["paid_at"]
    if isinstance(paid_at, str):
        paid_at = datetime.fromisoformat(paid_at)
    lines = doc["lines"]
    # an order from before tax (or of a shop that taxes nothing) shows no tax columns: its lines have no category
    taxed = bool(doc.get("tax_total")) or any(line.get("tax") or line.get("tax_category") for line in lines)
    return str(_template().render(
        lang=lang, w=WORDS[lang], doc=doc, shop=shop, customer=customer, lines=lines, taxed=taxed,
        address=doc.get("bill_address") or {},
        paid_on=format_datetime(paid_at, "d MMMM y, HH:mm", tzinfo=tz, locale=lang),
        issued_on=format_date(paid_at.astimezone(tz), "long", locale=lang),
        money=lambda minor: money(minor, currency, lang), rate=lambda bp: rate(bp, lang),
        prices_include_tax=bool(doc.get("prices_include_tax"))))


def render(doc: dict[str, Any], locale: str) -> bytes:
    """The document as PDF bytes."""
    from weasyprint import HTML  # imported when a PDF is made: the workers that never make one do not load it

    return bytes(HTML(string=html(doc, locale)).write_pdf())
