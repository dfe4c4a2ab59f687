"""The console's customers pages in a real browser on a phone-sized screen against the real stack: the shop's
manager adds a customer (their refusals by the field first) and invites them at once, the customer receives the
sign-in link email and signs in through it, the manager finds them, changes their details (a change made meanwhile
shown, nothing overwritten), and reads each customer's card on file and permission to charge it; in English and
in French. Every state passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing import emailed_sign_in_token, last_message_id, sink_messages

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CARD_OK = "4242424242424242"


def submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_a_manager_adds_a_customer_invites_them_finds_them_and_changes_their_details(web_system, visit,
                                                                                       manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"Bee Hub {uuid.uuid4().hex[:4]}", locale="en")
    paid_up = shop.customer("Ann", "Martin", card=CARD_OK)  # saved their card and gave permission, in person
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/customers")
    row = page.locator("#customers tbody tr").filter(has_text="Martin, Ann")
    assert "Visa ending in 4242, expires 12/2034" in row.inner_text() and "Given" in row.inner_text()
    visit.check("customers list")

    with page.expect_navigation():
        page.get_by_role("button", name="Add a customer").click()
    visit.check("new customer form")
    email = f"zoe.roux.{uuid.uuid4().hex[:6]}@example.org"
    page.get_by_label("Email address").fill(email)
    page.get_by_label("First name").fill("Zoé")
    page.get_by_label("Last name").fill("Roux")
    page.get_by_label("Address line 1").fill("3 rue Neuve")
    page.get_by_label("Postcode").fill("69001")
    page.get_by_label("Country").fill("fr")
    submit(page, "Add the customer")
    summary = page.locator(".error-summary")
    assert summary.get_by_role("link", name="Enter the town or city").is_visible()
    assert page.title().startswith("Error:")
    visit.check("new customer refused by the field")

    page.get_by_label("Email address").fill(paid_up.email)  # already a customer of this shop
    page.get_by_label("Town or city").fill("Lyon")
    submit(page, "Add the customer")
    assert summary.get_by_role("link", name="Another customer of this shop already has this email address.")\
        .is_visible()
    assert page.locator("#email-error").inner_text().endswith("Another customer of this shop already has this "
                                                              "email address.")
    visit.check("new customer refused by the api")

    page.get_by_label("Email address").fill(email)
    page.get_by_label("Email them a sign-in link now").check()
    before = last_message_id(web_system.smtp_api)
    submit(page, "Add the customer")
    assert page.locator("h1").inner_text() == "Zoé Roux"
    notices = page.locator(".notice").all_inner_texts()
    assert notices[0] == "Zoé Roux is now a customer of the shop."
    assert notices[1].startswith(f"A sign-in link is on its way to {email}.")
    assert page.locator("#card-summary").inner_text() == "No card"
    assert page.locator("#permission-state").inner_text().startswith("Not given")
    visit.check("customer added and invited")

    token = emailed_sign_in_token(web_system.smtp_api, email, before)  # the customer's own sign-in email
    [mail] = [m for m in sink_messages(web_system.smtp_api, email) if m["id"] > before]
    assert mail["subject"] == f"Your sign-in link for {shop.data['name']}"
    p.api("subscription-service").post("/api/v1/sessions", {"token": token})  # they follow it
    page.reload()
    assert page.locator("#email").get_attribute("readonly") is not None  # now theirs to change
    assert "Only the customer can change it" in page.locator("#email-hint").inner_text()

    page.goto(f"{web_system.url}/manage/shops/{shop.id}/customers")
    page.get_by_label("Search the customers").fill("roux")
    submit(page, "Search")
    assert page.locator("#customers tbody tr").all_inner_texts()[0].startswith("Roux, Zoé")
    visit.check("customers searched")
    with page.expect_navigation():
        page.get_by_role("link", name="Roux, Zoé").click()

    customer_id = page.url.rsplit("/", 1)[1]
    page.get_by_label("Phone (optional)").fill("04 72 00 00 00")
    submit(page, "Save the details")
    assert page.locator(".notice").inner_text() == "The customer's details are saved."
    saved = shop.subs().get(f"{shop.base}/customers/{customer_id}")
    assert saved["ship_address"]["phone"] == saved["bill_address"]["phone"] == "04 72 00 00 00"

    shop.subs().patch(f"{shop.base}/customers/{customer_id}", {"first_name": "Zoëlle"})  # meanwhile, elsewhere
    page.get_by_label("Last name").fill("Roux-Petit")
    submit(page, "Save the details")
    assert "Someone changed this customer while you were editing" in page.locator(".error-summary").inner_text()
    assert page.get_by_label("First name").input_value() == "Zoëlle"
    assert page.get_by_label("Last name").input_value() == "Roux"
    assert shop.subs().get(f"{shop.base}/customers/{customer_id}")["last_name"] == "Roux"  # nothing overwritten
    visit.check("customer changed meanwhile")


def test_a_french_hubs_manager_reads_the_card_and_permission_of_each_customer_in_french(web_system, visit,
                                                                                        manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr")
    shop.customer("Ann", "Martin", card=CARD_OK)
    shop.customer("Luc", "Petit")
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/customers")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Clients"
    rows = page.locator("#customers tbody tr")
    assert "Visa se terminant par 4242, expire fin 12/2034" in rows.nth(0).inner_text()
    assert "Donnée" in rows.nth(0).inner_text()
    assert "Aucune carte" in rows.nth(1).inner_text() and "Non donnée" in rows.nth(1).inner_text()
    visit.check("customers in french")
    with page.expect_navigation():
        page.get_by_role("link", name="Petit, Luc").click()
    assert page.locator("#card-summary").inner_text() == "Aucune carte"
    page.get_by_label("Prénom").fill("")
    submit(page, "Enregistrer les coordonnées")
    assert page.locator(".error-summary").get_by_role("link", name="Saisissez le prénom du client").is_visible()
    visit.check("customer refused in french")
    for _ in range(5):
        submit(page, "Lui envoyer un lien de connexion")
    submit(page, "Lui envoyer un lien de connexion")
    assert "Plusieurs liens de connexion ont été envoyés" in page.locator("#invite-error").inner_text()
    visit.check("invitation refused in french")
