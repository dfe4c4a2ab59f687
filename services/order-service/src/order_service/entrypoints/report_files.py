"""The reports as CSV files a spreadsheet opens as they are: UTF-8 (with the byte order mark that spreadsheets take
as "this is UTF-8"), a header row in the manager's language, one row per record, comma-separated, quoted as RFC 4180
says; amounts in the currency's units with a point and no thousands separator (``1234.50``); times in the shop's
time zone as ``YYYY-MM-DD HH:MM`` (the zone named in the header); words for the states in the header's language.
Pure: rows in, text out."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from order_service.adapters.formatting import ZERO_DECIMAL, local

BOM = "\ufeff"
CHUNK_ROWS = 500
LANGS = ("en", "fr")

Row = dict[str, Any]
Column = tuple[dict[str, str], Callable[[Row, "Context"], Any]]


class Context:
    """What formats a row: the header's language, the shop's currency and time zone."""

    def __init__(self, lang: str, currency: str, timezone: str) -> None:
        self.lang = lang if lang in LANGS else "en"
        self.currency = currency
        self.timezone = timezone

    def amount(self, minor: int | None) -> str:
        return amount(minor, self.currency)

    def time(self, at: datetime | None) -> str:
        moment = local(at, self.timezone)
        return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")

    def word(self, table: dict[str, dict[str, str]], code: str | None) -> str:
        if code is None:
            return ""
        return table.get(code, {}).get(self.lang, code)


def amount(minor: int | None, currency: str) -> str:
    """1234.50 from 123450 minor units (1234 for a currency without decimals): no thousands separator, a point."""
    if minor is None:
        return ""
    exponent = 0 if currency in ZERO_DECIMAL else 2
    units, cents = divmod(abs(int(minor)), 10 ** exponent)
    sign = "-" if minor < 0 else ""
    return f"{sign}{units}.{cents:0{exponent}d}" if exponent else f"{sign}{units}"


STATUSES = {"placed": {"en": "placed", "fr": "passée"}, "confirmed": {"en": "confirmed", "fr": "confirmée"},
            "cancelled": {"en": "cancelled", "fr": "annulée"}, "empty": {"en": "empty", "fr": "vide"}}
PAYMENT_STATES = {
    "not_due": {"en": "not due yet", "fr": "pas encore dû"}, "not_required": {"en": "none", "fr": "aucun"},
    "requested": {"en": "requested", "fr": "demandé"}, "pending": {"en": "pending", "fr": "en attente"},
    "processing": {"en": "processing", "fr": "en cours"}, "paid": {"en": "paid", "fr": "payé"},
    "failed": {"en": "failed", "fr": "échoué"},
    "authorization_required": {"en": "authentication required", "fr": "authentification requise"},
    "refunded": {"en": "refunded", "fr": "remboursé"},
    "partially_refunded": {"en": "partially refunded", "fr": "remboursé en partie"}}
HOW = {"pickup": {"en": "pickup", "fr": "retrait"}, "delivery": {"en": "delivery", "fr": "livraison"}}
NO_SUPPLIER = {"en": "(no supplier)", "fr": "(sans fournisseur)"}
TOTAL = {"en": "Total", "fr": "Total"}


def _t(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


def _supplier(r: Row, c: Context) -> str:
    return r["supplier"] if r.get("supplier") else NO_SUPPLIER[c.lang]


# The packing list's columns (adapters.reports.PACKING_FILE_COLUMNS): its rows come from the query as written.
PACKING_LIST: dict[str, dict[str, str]] = {
    "number": _t("Order", "Commande"),
    "last_name": _t("Last name", "Nom"),
    "first_name": _t("First name", "Prénom"),
    "email": _t("Email", "E-mail"),
    "phone": _t("Phone", "Téléphone"),
    "shipping_method": _t("Shipping method", "Mode de livraison"),
    "delivery_or_pickup": _t("Delivery or pickup", "Livraison ou retrait"),
    "address1": _t("Address", "Adresse"),
    "address2": _t("Address line 2", "Complément d'adresse"),
    "zipcode": _t("Postcode", "Code postal"),
    "city": _t("City", "Ville"),
    "country": _t("Country", "Pays"),
    "product": _t("Product", "Produit"),
    "variant": _t("Variant", "Variante"),
    "supplier": _t("Supplier", "Fournisseur"),
    "quantity": _t("Quantity", "Quantité"),
}


def packing_words(c: Context) -> dict[str, str]:
    """The words the packing list's query writes: delivery or pickup, and a product without a supplier."""
    return {"pickup": HOW["pickup"][c.lang], "delivery": HOW["delivery"][c.lang], "no_supplier": NO_SUPPLIER[c.lang]}


def written(columns: Iterable[str], batches: Iterable[list[tuple[Any, ...]]], c: Context) -> Iterator[bytes]:
    """A file whose rows come ready from the query (``columns`` name them, in order, for the header), a batch of
    rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([PACKING_LIST[name][c.lang] for name in columns])
    for batch in batches:
        writer.writerows(batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


PRODUCT_TOTALS: list[Column] = [
    (_t("Supplier", "Fournisseur"), _supplier),
    (_t("Product", "Produit"), lambda r, _c: r["product_name"]),
    (_t("Variant", "Variante"), lambda r, _c: r["variant_name"] or ""),
    (_t("Variant id", "Identifiant de la variante"), lambda r, _c: r["variant_id"]),
    (_t("Quantity", "Quantité"), lambda r, _c: r["quantity"]),
    (_t("Orders", "Commandes"), lambda r, _c: r["orders"]),
    (_t("Amount", "Montant"), lambda r, c: c.amount(r["amount"])),
    (_t("Tax", "TVA"), lambda r, c: c.amount(r["tax"])),
    (_t("Currency", "Devise"), lambda _r, c: c.currency),
]

SUPPLIER_TOTALS: list[Column] = [
    (_t("Supplier", "Fournisseur"), _supplier),
    (_t("Products", "Produits"), lambda r, _c: len(r["products"])),
    (_t("Quantity", "Quantité"), lambda r, _c: r["quantity"]),
    (_t("Amount", "Montant"), lambda r, c: c.amount(r["amount"])),
    (_t("Tax", "TVA"), lambda r, c: c.amount(r["tax"])),
    (_t("Currency", "Devise"), lambda _r, c: c.currency),
]


ORDERS: list[Column] = [
    (_t("Order", "Commande"), lambda r, _c: r["number"]),
    (_t("Status", "État"), lambda r, c: c.word(STATUSES, r["status"])),
    (_t("Last name", "Nom"), lambda r, _c: r["last_name"] or ""),
    (_t("First name", "Prénom"), lambda r, _c: r["first_name"] or ""),
    (_t("Email", "E-mail"), lambda r, _c: r["email"] or ""),
    (_t("Shipping method", "Mode de livraison"), lambda r, _c: r["shipping_method"] or ""),
    (_t("Payment method", "Moyen de paiement"), lambda r, _c: r["payment_method"] or ""),
    (_t("Placed at", "Passée le"), lambda r, c: c.time(r["placed_at"])),
    (_t("Confirmed at", "Confirmée le"), lambda r, c: c.time(r["confirmed_at"])),
    (_t("Products", "Produits"), lambda r, c: c.amount(r["item_total"])),
    (_t("Shipping fee", "Frais de livraison"), lambda r, c: c.amount(r["shipping_fee"])),
    (_t("Payment fee", "Frais de paiement"), lambda r, c: c.amount(r["payment_fee"])),
    (_t("Tax", "TVA"), lambda r, c: c.amount(r["tax_total"])),
    (_t("Total", "Total"), lambda r, c: c.amount(r["total"])),
    (_t("Payment", "Paiement"), lambda r, c: c.word(PAYMENT_STATES, r["payment_state"])),
    (_t("Paid", "Payé"), lambda r, c: c.amount(r["paid"])),
    (_t("Refunded", "Remboursé"), lambda r, c: c.amount(r["refunded"])),
    (_t("Currency", "Devise"), lambda _r, c: c.currency),
]
TIME_HEADERS = {"Placed at", "Confirmed at"}


def header(columns: list[Column], c: Context) -> list[str]:
    """The header row; a time column names the shop's time zone."""
    out = []
    for names, _ in columns:
        name = names[c.lang]
        out.append(f"{name} ({c.timezone})" if names["en"] in TIME_HEADERS else name)
    return out


def orders_total_row(totals: Row, c: Context) -> list[Any]:
    """The last row of the orders file: the sums of the placed and confirmed orders, as the page shows them."""
    by_header = {"Order": TOTAL[c.lang], "Products": c.amount(totals["item_total"]),
                 "Shipping fee": c.amount(totals["shipping_fee"]), "Payment fee": c.amount(totals["payment_fee"]),
                 "Tax": c.amount(totals["tax_total"]), "Total": c.amount(totals["total"]),
                 "Paid": c.amount(totals["paid"]),
                 "Refunded": c.amount(totals["refunded"]), "Currency": c.currency}
    return [by_header.get(names["en"], "") for names, _ in ORDERS]


def chunks(columns: list[Column], rows: Iterable[Row], c: Context, last: Callable[[], list[Any]] | None = None
           ) -> Iterator[bytes]:
    """The file in pieces of ``CHUNK_ROWS`` rows, UTF-8: the BOM and header first, ``last()`` (a totals row) after
    the rows when given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header(columns, c))
    for count, row in enumerate(rows, 1):
        writer.writerow([fn(row, c) for _, fn in columns])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if last is not None:
        writer.writerow(last())
    yield buffer.getvalue().encode()
