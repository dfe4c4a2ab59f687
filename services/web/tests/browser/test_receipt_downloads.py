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
import uuid
from datetime import datetime, timedelta
from typing import Any

import pypdf
import pytest

from devstack.scenario import ApiError
from devstack.testing import emailed_sign_in_token, last_message_id, sink_messages, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().replace("\u202f", " ").replace("\xa0", " ").split())
                    for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def paid_order(web_system) -> dict[str, Any]:
    p = web_system.platform
    shop = p.create_shop(name=f"Ruche {uuid.uuid4().hex[:4]}", locale="fr", timezone="Europe/Paris",
                         invoices_enabled=True, attach_invoice_to_email=True)
    ship = shop.shipping_method("Livraison", fee_flat=500)
    card = shop.payment_method("stripe")
    shop.variant("box", "Panier de légumes", 2000, on_hand=100)
    shop.variant("eggs", "Œufs x6", 350, on_hand=100)
    now = p.now()
    cycle = shop.order_cycle("Semaine 1", now + timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Panier hebdo", [cycle["id"]])
    customer = shop.customer("Ann", "Martin", card="4242424242424242", locale="fr")

    def subscribe() -> Any:
        try:
            return shop.subscribe(customer, schedule["id"], ship["id"], card["id"], {"box": 1, "eggs": 2},
                                  begins_at=now)
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    wait_for(subscribe, 30, "the catalog to reach subscription-service")
    p.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
    [order] = shop.wait_orders(1, order_cycle_id=cycle["id"])
    p.advance_to(datetime.fromisoformat(cycle["closes_at"]) + timedelta(minutes=1))
    paid = wait_for(lambda: (lambda o: o if o.get("receipt") else None)(shop.order(order["order_id"])), 90,
                    "the order to be paid and its invoice issued")
    return {"shop": shop, "customer": customer, "order": paid}


def download(page: Any, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    with open(path, "rb") as f:
        return f.read()


def test_the_customer_and_a_manager_download_the_invoice_of_a_paid_order_and_the_email_carries_it(
        web_system, visit, manager_session):
    world = paid_order(web_system)
    shop, customer, order = world["shop"], world["customer"], world["order"]
    number = order["receipt"]["invoice_number"]
    assert number == 1  # the shop's first invoice
    page = visit.page

    order_url = f"{web_system.url}/shops/{shop.id}/orders/{order['order_id']}"
    page.goto(order_url)
    before = last_message_id(web_system.smtp_api)
    page.locator("#email").fill(customer.email)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.goto(f"{web_system.url}/sign-in/{emailed_sign_in_token(web_system.smtp_api, customer.email, before)}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url == order_url
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
