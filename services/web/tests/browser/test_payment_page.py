"""A customer's payment page, in a real browser on a phone-sized screen against the real stack: signed in by the
emailed link, they save a card with localstripe's Stripe.js stand-in (loaded from the configured Stripe base, which
the page's policy allows for that page only), replace it with one whose bank asks for 3-D Secure (localstripe's
dialog, confirmed), see a declined card and a failed authentication refused by the field with nothing changed,
give the shop permission to charge the card under the text shown in their language, withdraw it, remove the card.
Every state of the page passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devstack.stack import SERVICES
from devstack.testing import rows

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CONSENT_EN = ("I authorise {shop} to charge my saved card, without me being present, for the orders of my "
              "subscriptions with {shop}")
CONSENT_FR = "J'autorise {shop} à débiter ma carte enregistrée, sans ma présence"


@pytest.fixture
def signed_in_customer(web_system, sign_in_customer) -> Any:
    """``signed_in_customer(locale=None)``: a shop and a customer of it, signed in in the browser through the link
    emailed to them (the only session that may save a card or consent), on the payment page."""

    def make(*, locale: str | None = None) -> tuple[Any, Any]:
        shop = web_system.platform.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en",
                                               timezone="Europe/Paris")
        customer = shop.customer("Ann", "Martin", locale=locale)
        sign_in_customer(customer, f"/shops/{shop.id}/payment")
        return shop, customer

    return make


def enter_card(page: Any, number: str, month: str = "12", year: str = "34") -> None:
    """localstripe's card element: plain inputs named by their placeholders (the real one is Stripe's frame)."""
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill(month)
    element.locator("input[placeholder=exp_year]").fill(year)
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("75001")


def press(page: Any, name: str) -> None:
    """Click a button (or link) that loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.get_by_role("link" if name == "Cancel" else "button", name=name, exact=True).click()


def customer_of(shop: Any, customer: Any) -> dict[str, Any]:
    return shop.subs().get(f"{shop.base}/customers/{customer.id}")  # type: ignore[no-any-return]


def consent_events(web_system, customer_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The consent records (internal events: the API shows whether charges are allowed, not the record)."""
    dsn = web_system.stack.db_url(next(s for s in SERVICES if s.name == "subscription-service").database)
    found = rows(dsn, "SELECT event_type, body FROM event_store WHERE aggregate_id = %s AND event_type LIKE "
                      "'CustomerCharges%%' ORDER BY position", [customer_id])
    return [(t, json.loads(bytes(b))["payload"]) for t, b in found]


def test_a_customer_saves_a_card_replaces_it_with_3d_secure_and_gives_then_withdraws_consent(web_system, visit,
                                                                                             signed_in_customer):
    shop, customer = signed_in_customer()
    page = visit.page
    assert page.get_by_role("heading", name="Payment", exact=True).is_visible()
    assert "You have no card saved at this shop." in page.inner_text("main")
    assert "Save a card first" in page.inner_text("#permission-state")
    assert page.get_by_role("link", name="Payment", exact=True).get_attribute("aria-current") == "page"
    visit.check("payment page without a card")

    press(page, "Add a card")
    assert page.get_by_role("heading", name="Your card").is_visible()
    assert page.locator("#card-element input").count() == 5  # Stripe.js (localstripe's) mounted its element
    visit.check("card form")

    # a declined card: the message by the field and in the summary, nothing saved
    enter_card(page, "4000000000000002")
    page.get_by_role("button", name="Save this card").click()
    page.locator("#card-error:not([hidden])").wait_for()
    assert "Your card could not be saved: Your card was declined." in page.inner_text("#card-error")
    assert page.locator("#error-summary a[href='#card-element']").inner_text().endswith("Your card was declined.")
    assert page.title().startswith("Error:")
    visit.check("card declined")
    assert customer_of(shop, customer)["card"] is None

    press(page, "Cancel")
    press(page, "Add a card")
    enter_card(page, "4242424242424242")
    press(page, "Save this card")
    assert page.url == f"{web_system.url}/shops/{shop.id}/payment"
    assert page.get_by_role("status").inner_text() == "Your card is saved."
    assert page.inner_text("#card-summary") == "Visa ending in 4242"
    assert page.inner_text("#card-expiry") == "12/2034"
    assert customer_of(shop, customer)["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12,
                                                   "exp_year": 2034}
    visit.check("card saved")

    # a card whose bank asks for 3-D Secure: failing it changes nothing, completing it saves the card
    press(page, "Replace your card")
    enter_card(page, "4000002500003155", "11", "33")
    page.get_by_role("button", name="Save this card").click()
    page.get_by_role("button", name="Fail authentication").click()
    page.locator("#card-error:not([hidden])").wait_for()
    assert "authentication failed" in page.inner_text("#card-error")
    assert customer_of(shop, customer)["card"]["last4"] == "4242"

    press(page, "Cancel")
    press(page, "Replace your card")
    enter_card(page, "4000002500003155", "11", "33")
    page.get_by_role("button", name="Save this card").click()
    dialog = page.get_by_role("button", name="Complete authentication")
    dialog.wait_for()
    visit.check("3-D Secure asked")
    with page.expect_navigation():
        dialog.click()
    assert page.inner_text("#card-summary") == "Visa ending in 3155"
    assert page.inner_text("#card-expiry") == "11/2033"
    assert customer_of(shop, customer)["card"]["last4"] == "3155"

    # the permission: the box must be ticked, the text shown is the one recorded, in the customer's language
    assert "Not given" in page.inner_text("#permission-state")
    shown = page.inner_text("#consent-text")
    assert shown.startswith(CONSENT_EN.format(shop=shop.data["name"]))
    visit.check("card saved, permission not given")
    press(page, "Give permission")
    assert "Tick the box to give the shop permission to charge your card" in page.inner_text("#agree-error")
    assert page.locator(".error-summary a[href='#agree']").count() == 1
    assert page.title().startswith("Error:")
    visit.check("permission without the box ticked")
    assert customer_of(shop, customer)["allow_charges"] is False and consent_events(web_system, customer.id) == []

    page.get_by_label("I agree to the text above").check()
    press(page, "Give permission")
    assert page.get_by_role("status").inner_text() == "You gave the shop permission to charge your card."
    assert "Given" in page.inner_text("#permission-state")
    withdrawal = page.inner_text("#withdrawal-text")
    visit.check("permission given")
    assert customer_of(shop, customer)["allow_charges"] is True
    [(kind, allowed)] = consent_events(web_system, customer.id)
    assert kind == "CustomerChargesAllowed"
    assert allowed["consent"]["text"] == shown and allowed["consent"]["locale"] == "en"
    assert allowed["consent"]["method"] == "email_sign_in_link"

    press(page, "Withdraw the permission")
    assert page.get_by_role("status").inner_text() == "You withdrew the shop's permission to charge your card."
    assert "Not given" in page.inner_text("#permission-state")
    visit.check("permission withdrawn")
    assert customer_of(shop, customer)["allow_charges"] is False
    (_, _), (kind, withdrawn) = consent_events(web_system, customer.id)
    assert kind == "CustomerChargesRevoked"
    assert withdrawn["consent"]["text"] == withdrawal and withdrawn["consent"]["locale"] == "en"

    press(page, "Remove your card")
    assert page.get_by_role("status").inner_text() == "Your card is removed. The shop can no longer charge it."
    assert "You have no card saved at this shop." in page.inner_text("main")
    visit.check("card removed")
    assert customer_of(shop, customer)["card"] is None


def test_a_french_customer_reads_and_gives_the_consent_in_french(web_system, visit, signed_in_customer):
    shop, customer = signed_in_customer(locale="fr")
    page = visit.page
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Paiement", exact=True).is_visible()
    press(page, "Ajouter une carte")
    enter_card(page, "4242424242424242")
    press(page, "Enregistrer cette carte")
    assert page.inner_text("#card-summary") == "Visa se terminant par 4242"
    shown = page.inner_text("#consent-text")
    assert shown.startswith(CONSENT_FR.format(shop=shop.data["name"]))
    assert page.locator("#consent-text").get_attribute("lang") == "fr"
    visit.check("paiement, autorisation non donnee")
    page.get_by_label("J'accepte le texte ci-dessus").check()
    press(page, "Donner l'autorisation")
    assert "Donnée" in page.inner_text("#permission-state")
    visit.check("autorisation donnee")
    [(_, allowed)] = consent_events(web_system, customer.id)
    assert allowed["consent"]["text"] == shown and allowed["consent"]["locale"] == "fr"
    assert customer_of(shop, customer)["allow_charges"] is True
