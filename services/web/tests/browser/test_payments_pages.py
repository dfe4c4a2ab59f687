"""A customer's payments, in a real browser on a phone-sized screen against the real stack: an order confirmed at
the cycle's close is charged off-session on a 4000002500003155 card, whose bank asks for 3-D Secure; the emailed
link opens the payment's page in the web app (through sign-in), in French; the customer confirms with their bank
(localstripe's Stripe.js stand-in and its dialog, loaded from the configured Stripe base on that page alone) and
the payment shows paid, with its receipt and in the list of their payments. Every state of each page passes
axe-core and is photographed at 375 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.testing import sink_messages, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CARD_3DS = "4000002500003155"


@pytest.fixture
def charged_and_waiting_for_the_bank(web_system, card_subscriber, through_the_cycle) -> dict[str, Any]:
    """A French-speaking customer with a 3155 card and consent, subscribed with card payment to a cycle that
    opens and closes: their payment waits for their authorisation, and the email telling them so has come."""
    world = card_subscriber(CARD_3DS, customer_locale="fr")
    shop, customer = world["shop"], world["customer"]
    through_the_cycle(world)
    payment = wait_for(lambda: next((x for x in shop.payments() if x["status"] == "requires_action"), None), 60,
                       "the payment to wait for the customer's bank")
    page = f"/shops/{shop.id}/payments/{payment['payment_id']}/authorize"
    link = wait_for(lambda: next((m.group(0) for msg in sink_messages(web_system.smtp_api, customer.email)
                                  for m in [re.search(rf"https?://\S+{page}", msg.get("text") or "")] if m), None),
                    60, "the email asking the customer to authorise")
    return {"shop": shop, "customer": customer, "payment": payment, "link": link}


def test_a_payment_needing_3d_secure_is_authorised_from_the_page_in_french_then_shows_paid(
        web_system, visit, sign_in_customer, charged_and_waiting_for_the_bank):
    world = charged_and_waiting_for_the_bank
    shop, payment = world["shop"], world["payment"]
    assert world["link"].startswith(f"{web_system.url}/shops/{shop.id}/payments/")  # the web app, not billing
    # the emailed link opens the page through sign-in (a link emailed to them), then comes back to it
    page = sign_in_customer(world["customer"], world["link"].removeprefix(web_system.url))

    # the payment's page, in French: the amount, the order, one button; Stripe.js from localstripe's base only
    assert page.get_by_role("heading", name="Confirmez votre paiement").is_visible()
    main = page.inner_text("main").replace("\u202f", " ").replace("\xa0", " ")
    assert "32,00 €" in main and payment["order_number"] in main  # 20 + 2 x 3.50 + 5 delivery
    assert page.evaluate("() => [...document.scripts].map(s => new URL(s.src).origin)") == [
        web_system.stack.stripe_url.rstrip("/"), web_system.url]
    visit.check("authorise, waiting for the bank")

    # the list of their payments says what is needed, and links to this page
    with page.expect_navigation():
        page.get_by_role("link", name="Vos paiements", exact=True).click()
    item = page.locator(f"#payment-{payment['payment_id']}")
    assert "Action requise" in item.inner_text()
    visit.check("payments, action needed")
    with page.expect_navigation():
        item.get_by_role("link", name=re.compile("Confirmer le paiement de")).click()

    page.get_by_role("button", name="Confirmer auprès de ma banque").click()
    dialog = page.get_by_role("button", name="Complete authentication")  # localstripe's stand-in for the bank
    dialog.wait_for()
    visit.check("authorise, the bank's check")
    with page.expect_navigation():
        dialog.click()

    # paid: the receipt, with the order's lines, the total, when and with which card
    assert page.url == f"{web_system.url}/shops/{shop.id}/payments/{payment['payment_id']}"
    assert page.get_by_role("status").inner_text() == "Merci : votre paiement est confirmé."
    receipt = page.inner_text("main").replace("\u202f", " ").replace("\xa0", " ")
    assert f"Reçu de la commande {payment['order_number']}" in receipt
    assert "Panier de légumes" in receipt and "Œufs x6" in receipt and "Total payé" in receipt
    assert page.inner_text("#receipt-total").replace("\u202f", " ").replace("\xa0", " ") == "32,00 €"
    assert page.inner_text("#receipt-card") == "Visa se terminant par 3155"
    assert page.inner_text("#receipt-paid-at")  # in the shop's time zone
    assert page.get_by_role("button", name="Imprimer ce reçu").is_visible()  # print.js ran
    visit.check("receipt")
    paid = shop.billing().get(f"{shop.base}/payments/{payment['payment_id']}")
    assert paid["status"] == "succeeded" and paid["card"] == {"brand": "visa", "last4": "3155"}

    with page.expect_navigation():
        page.get_by_role("link", name="Retour à vos paiements").click()
    assert "Payé" in page.locator(f"#payment-{payment['payment_id']}").inner_text()
    visit.check("payments, paid")

    # the emailed link, used again: nothing to confirm any more
    page.goto(world["link"])
    assert "Ce paiement est réglé" in page.inner_text("#pay-state")
    assert page.evaluate("() => document.scripts.length") == 0
    visit.check("authorise, already paid")
