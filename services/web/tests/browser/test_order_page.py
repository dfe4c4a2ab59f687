"""A customer's open order, in a real browser on a phone-sized screen against the real stack: the order is placed
by the platform (a cycle open now, a subscription to it), order-service emails its link to the customer (read from
the SMTP sink), the link opens the web app's order page through signing in by email, and the customer changes a
quantity, is refused more than the stock and the removal of the last line (in their language, by the field, nothing
changed), cancels then resumes the order. A session that ended at the API goes through a new link back to the
order. Every state of the page passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from devstack.scenario import ApiError
from devstack.testing import emailed_sign_in_token, last_message_id, sink_messages, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def placed_order(web_system, *, shop_locale: str = "en", customer_locale: str | None = None) -> dict[str, Any]:
    """A shop that lets customers change their orders, a cycle open now, a customer subscribed to a box and eggs
    (only 5 eggs in stock): the order the platform placed, and the link order-service emailed for it."""
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=shop_locale, timezone="Europe/Paris",
                         allow_order_changes=True)
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    cash = shop.payment_method("cash")
    shop.variant("box", "Vegetable box", 2000, on_hand=100)
    shop.variant("eggs", "Eggs x6", 350, on_hand=5)
    now = p.now()
    cycle = shop.order_cycle("Week 1", now - timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Weekly box", [cycle["id"]])
    customer = shop.customer("Ann", "Martin", locale=customer_locale)

    def subscribe() -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule["id"], ship["id"], cash["id"], {"box": 1, "eggs": 2},
                                  begins_at=now - timedelta(hours=1))
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    wait_for(subscribe, 30, "the catalog to reach subscription-service")
    [order] = shop.wait_orders(1)
    link = wait_for(lambda: order_link(web_system.smtp_api, customer.email), 60, "the order placed email")
    return {"shop": shop, "customer": customer, "order": order, "link": link}


def order_link(smtp_api: str, email: str) -> str | None:
    for message in sink_messages(smtp_api, email):
        found = re.search(r"https?://\S+/shops/[0-9a-f-]+/orders/[0-9a-f-]+", message.get("text") or "")
        if found:
            return found.group(0)
    return None


def sign_in_from(page: Any, web_system: Any, email: str, button: str, sign_in: str) -> None:
    """On the sign-in page: ask for a link, open it from the mailbox, press the button."""
    before = last_message_id(web_system.smtp_api)
    page.locator("#email").fill(email)
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    page.goto(f"{web_system.url}/sign-in/{emailed_sign_in_token(web_system.smtp_api, email, before)}")
    with page.expect_navigation():
        page.get_by_role("button", name=sign_in, exact=True).click()


def words(locator: Any) -> str:
    """A locator's text as read aloud: whitespace (a visually hidden "Error:" on its own line) as single spaces."""
    return " ".join(locator.inner_text().split())


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def api_order(world: dict[str, Any]) -> dict[str, Any]:
    return world["shop"].order(world["order"]["order_id"])


def quantities(order: dict[str, Any]) -> dict[str, int]:
    return {line["variant_id"]: line["quantity"] for line in order["lines"] if line["quantity"]}


def test_a_customer_opens_the_emailed_order_changes_it_is_refused_the_last_line_cancels_and_resumes(web_system,
                                                                                                  visit):
    world = placed_order(web_system)
    page, shop, order = visit.page, world["shop"], world["order"]
    assert world["link"] == f"{web_system.url}/shops/{shop.id}/orders/{order['order_id']}"  # the web app, not the API

    page.goto(world["link"])
    assert f"/shops/{shop.id}/sign-in" in page.url  # no session yet: the order asks for a link, then comes back
    visit.check("sign-in from the order email")
    sign_in_from(page, web_system, world["customer"].email, "Email me a sign-in link", "Sign in")
    assert page.url == world["link"]
    assert page.get_by_role("heading", name=f"Order {order['number']}").is_visible()
    text = page.locator("main").inner_text()
    assert "Vegetable box" in text and "Eggs x6" in text and "€32.00" in text  # 20 + 2 x 3.50 + 5 delivery
    assert "You can change this order until orders close" in text
    visit.check("the order")

    page.get_by_label("Quantity of Eggs x6").fill("4")
    press(page, "Change the quantity (Eggs x6)")
    assert page.get_by_role("status").inner_text() == "The quantity is changed."
    assert page.locator("#order-total").inner_text() == "€39.00"
    assert quantities(api_order(world)) == {"box": 1, "eggs": 4}
    visit.check("quantity changed")

    page.get_by_label("Quantity of Eggs x6").fill("9")
    press(page, "Change the quantity (Eggs x6)")
    field = page.get_by_label("Quantity of Eggs x6")
    error_id = field.get_attribute("aria-describedby")
    assert words(page.locator(f"#{error_id}")) == "Error: Only 5 available: choose 5 or fewer."
    assert field.input_value() == "9" and page.title().startswith("Error:")
    assert page.locator(".error-summary a").inner_text() == "Only 5 available: choose 5 or fewer."
    assert quantities(api_order(world)) == {"box": 1, "eggs": 4}  # nothing changed
    visit.check("more than the stock refused")

    press(page, "Remove Eggs x6")
    assert page.get_by_role("status").inner_text() == "The product is removed from your order."
    assert "This is the last product of your order" in page.locator("main").inner_text()
    visit.check("one line left")
    press(page, "Remove Vegetable box")
    assert words(page.locator("main .error-message").first) == (
        "Error: This is the last product of your order, so it cannot be removed. Cancel the order instead.")
    assert quantities(api_order(world)) == {"box": 1}
    visit.check("last line refused")

    press(page, "Cancel the order")
    assert page.get_by_role("status").inner_text() == "Your order is cancelled. Nothing will be charged for it."
    assert page.locator("#order-status").inner_text() == "Cancelled"
    assert api_order(world)["status"] == "cancelled"
    visit.check("cancelled")

    press(page, "Resume the order")
    assert page.get_by_role("status").inner_text() == "Your order is back."
    assert page.locator("#order-status").inner_text() == "Placed"
    resumed = api_order(world)
    assert resumed["status"] == "placed" and quantities(resumed) == {"box": 1}
    visit.check("resumed")

    page.goto(f"{web_system.url}/shops/{shop.id}/subscriptions")  # each placed delivery links to its order
    with page.expect_navigation():
        page.get_by_role("link", name=f"See order {order['number']}").click()
    assert page.url == world["link"]


def test_a_french_customer_reads_the_order_and_its_refusals_in_french(web_system, visit):
    world = placed_order(web_system, shop_locale="en", customer_locale="fr")
    page = visit.page
    page.goto(world["link"])
    sign_in_from(page, web_system, world["customer"].email, "Email me a sign-in link", "Sign in")  # not known yet
    assert page.url == world["link"] and page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name=f"Commande {world['order']['number']}").is_visible()
    assert "32,00\xa0€" in page.locator("main").inner_text()
    visit.check("la commande")

    page.get_by_label("Quantité de Eggs x6").fill("9")
    press(page, "Modifier la quantité (Eggs x6)")
    field = page.get_by_label("Quantité de Eggs x6")
    assert words(page.locator(f"#{field.get_attribute('aria-describedby')}")) == (
        "Erreur : Seulement 5 disponibles : choisissez 5 ou moins.")
    assert quantities(api_order(world)) == {"box": 1, "eggs": 2}
    visit.check("stock insuffisant")

    press(page, "Retirer Eggs x6")
    press(page, "Retirer Vegetable box")
    assert "C'est le dernier produit de votre commande : il ne peut pas être retiré. Annulez plutôt la commande." in (
        page.locator(".error-summary").inner_text())
    assert quantities(api_order(world)) == {"box": 1}
    visit.check("dernier produit refuse")


def test_a_session_that_ended_goes_through_a_new_link_back_to_the_order(web_system, visit):
    world = placed_order(web_system)
    page, shop, customer = visit.page, world["shop"], world["customer"]
    page.goto(world["link"])
    sign_in_from(page, web_system, customer.email, "Email me a sign-in link", "Sign in")
    assert page.url == world["link"]

    admin = web_system.platform.admin  # the session ends at the API (expired or revoked: the API answers 401)
    sessions = [t for t in admin.all_pages("/api/v1/tokens", {"shop_id": shop.id, "role": "customer"})
                if t["customer_id"] == customer.id and t["obtained_by"] == "email_sign_in_link"]
    assert len(sessions) == 1
    admin.delete(f"/api/v1/tokens/{sessions[0]['id']}")
    page.reload()
    assert f"/shops/{shop.id}/sign-in" in page.url
    visit.check("session ended: sign in again")
    sign_in_from(page, web_system, customer.email, "Email me a sign-in link", "Sign in")
    assert page.url == world["link"]
    assert page.get_by_role("heading", name=f"Order {world['order']['number']}").is_visible()

    visit.page.context.clear_cookies()  # the browser's session is gone (its cookie expired): the same way back
    page.goto(world["link"])
    assert f"/shops/{shop.id}/sign-in" in page.url
    sign_in_from(page, web_system, customer.email, "Email me a sign-in link", "Sign in")
    assert page.url == world["link"]
    visit.check("back on the order")
