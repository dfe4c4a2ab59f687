"""Receipts and invoices: when one is issued, what it says, and the document's words in English and French (no I/O:
the HTML the PDF is made from, and the money and rates as each language writes them)."""

from datetime import UTC, datetime

from order_unit_builders import order

from order_service.adapters import receipt_pdf
from order_service.domain import receipts

PAID = receipts.Paid("pay-1", 3640, datetime(2026, 4, 3, 15, 0, tzinfo=UTC))


def test_a_confirmed_order_gets_one_receipt_carrying_its_invoice_number_and_what_was_paid():
    [event] = receipts.receipt(order(status="confirmed"), PAID, 42)
    assert event.event_type == "ReceiptIssued"
    assert event.payload == {"number": "R00000001", "payment_id": "pay-1", "amount": 3640, "currency": "EUR",
                             "paid_at": PAID.paid_at, "invoice_number": 42}


def test_no_second_receipt_and_none_for_an_order_not_confirmed():
    assert receipts.receipt_due(order(status="confirmed"), already_issued=False)
    assert not receipts.receipt_due(order(status="confirmed"), already_issued=True)
    assert not receipts.receipt_due(order(status="placed"), already_issued=False)
    assert not receipts.receipt_due(order(status="cancelled"), already_issued=False)


def document(**kw):
    doc = {"number": "R00000001", "invoice_number": None, "currency": "EUR", "paid_at": PAID.paid_at,
           "shop": {"name": "La Ruche", "timezone": "Europe/Paris", "contact_email": "bonjour@ruche.example"},
           "customer": {"email": "ann@example.org", "first_name": "Ann", "last_name": "Martin"},
           "bill_address": None, "item_total": 640, "shipping_fee": 500, "payment_fee": 0, "paid_amount": 1140,
           "lines": [{"name": "Oeufs", "quantity": 2, "unit_price": 320, "total": 640}]}
    doc.update(kw)
    return doc


def flat(text):
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def test_a_receipt_in_english_and_an_invoice_in_french_in_the_shops_time_zone():
    english = flat(receipt_pdf.html(document(), "en"))
    assert "<h1>Receipt</h1>" in english and "Paid on 3 April 2026, 17:00" in english and "€11.40" in english
    assert "Tax" not in english  # an order from before taxes shows none
    french = flat(receipt_pdf.html(document(invoice_number=7), "fr"))
    assert "<h1>Facture</h1>" in french and "Facture n° 7" in french and "Payée le 3 avril 2026, 17:00" in french
    assert "11,40 €" in french
    assert receipt_pdf.file_name(document(invoice_number=7), "fr") == "facture-7.pdf"
    assert receipt_pdf.file_name(document(), "fr") == "recu-R00000001.pdf"


def test_the_tax_of_each_line_and_the_tax_total_are_shown_when_the_order_carries_them():
    taxed = document(tax_total=33, prices_include_tax=True,
                     lines=[{"name": "Oeufs", "quantity": 2, "unit_price": 320, "total": 640, "tax": 33,
                             "tax_rate_bp": 550}])
    french = flat(receipt_pdf.html(taxed, "fr"))
    assert "Taux de TVA" in french and "5,5 %" in french and "0,33 €" in french and "Dont TVA" in french
    assert "5.5 %" in flat(receipt_pdf.html(taxed, "en"))
    untaxed = document(tax_total=0, lines=[{"name": "Oeufs", "quantity": 2, "unit_price": 320, "total": 640, "tax": 0,
                                            "tax_category": None, "tax_rate_bp": 0}])
    assert "TVA" not in flat(receipt_pdf.html(untaxed, "fr"))  # nothing taxed: no tax columns
