"""A paid order's invoice, in a real browser on a phone-sized screen against the real stack: a French shop that
issues invoices and attaches them to the email has a customer charged off-session at the cycle's close
(localstripe, 4242 card); the customer opens their order from the email, signs in and downloads the invoice from the
order page, and a manager downloads the same invoice from the console's order view. The PDF's text is read back
(pypdf); the email telling the customer the order is paid carries it too. Each page passes axe-core and is
photographed at 375 px."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pypdf
import pytest

from devstack.testing import sink_messages, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().replace("\u202f", " ").replace("\xa0", " ").split())
                    for p in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def paid_order(card_subscriber, through_the_cycle) -> dict[str, Any]:
    """A French shop that issues invoices and attaches them to the email, its French customer's order paid by card
    at the cycle's close and its invoice issued."""
    world = card_subscriber("4242424242424242", locale="fr", customer_locale="fr", shipping="Livraison",
                            invoices_enabled=True, attach_invoice_to_email=True)
    [order] = through_the_cycle(world)
    shop = world["shop"]
    paid = wait_for(lambda: (lambda o: o if o.get("receipt") else None)(shop.order(order["order_id"])), 90,
                    "the order to be paid and its invoice issued")
    return {"shop": shop, "customer": world["customer"], "order": paid}


def download(page: Any, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    with open(path, "rb") as f:
        return f.read()


def test_the_customer_and_a_manager_download_the_invoice_of_a_paid_order_and_the_email_carries_it(
        web_system, visit, manager_session, sign_in_customer, paid_order):
    world = paid_order
    shop, customer, order = world["shop"], world["customer"], world["order"]
    number = order["receipt"]["invoice_number"]
    assert number == 1  # the shop's first invoice
    page = visit.page

    sign_in_customer(customer, f"/shops/{shop.id}/orders/{order['order_id']}")  # the order's page, through sign-in
    link = f"Télécharger la facture n° {number} (PDF)"
    assert page.get_by_role("link", name=link).is_visible()
    visit.check("a paid order with its invoice")
    text = pdf_text(download(page, link))
    assert f"Facture Facture n° {number} Commande {order['number']}" in text and shop.data["name"] in text
    assert "Panier de légumes 1 20,00 € 20,00 €" in text and "Œufs x6 2 3,50 € 7,00 €" in text
    assert "Livraison 5,00 €" in text and "Ann Martin" in text

    manager_session(shop)
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/orders/{order['order_id']}")
    visit.check("the console's paid order with its invoice")
    assert f"Facture n° {number}" in pdf_text(download(page, link))

    paid_mail = wait_for(lambda: next((m for m in sink_messages(web_system.smtp_api, customer.email)
                                       if m.get("attachments")), None), 60, "the paid confirmation with its PDF")
    [attached] = paid_mail["attachments"]
    assert attached["filename"] == f"facture-{number}.pdf"
    assert f"Facture n° {number}" in pdf_text(base64.b64decode(attached["base64"]))
    assert re.search(r"confirm", paid_mail["headers"].get("X-Notification-Kind", ""))
