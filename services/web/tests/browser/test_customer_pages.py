"""A customer, in a real browser on a phone-sized screen: asks for a sign-in link, reads it in their mailbox (the
SMTP sink), opens it, lands on the page they were going to (their subscriptions, read from subscription-service
with their own session), signs out. Every page passes axe-core and is photographed."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.scenario import ApiError
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def emailed_links(smtp_api: str, to: str) -> list[str]:
    found = requests.get(f"{smtp_api}/messages", params={"to": to}, timeout=10).json()
    return [m.group(0) for msg in found for m in [re.search(r"https?://\S+/sign-in/[A-Za-z0-9_\-]+", msg["text"] or "")]
            if m]


def subscribed_customer(web_system, *, shop_locale: str = "en", customer_locale: str | None = None) -> dict[str, Any]:
    """A shop with a weekly box, a customer subscribed to it, and the next order cycles."""
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=shop_locale, timezone="Europe/Paris")
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    cash = shop.payment_method("cash")
    shop.variant("box", "Vegetable box", 2000, on_hand=100)
    shop.variant("eggs", "Eggs x6", 350, on_hand=100)
    now = p.now()
    cycles = [shop.order_cycle(f"Week {n}", now + timedelta(days=7 * n - 6), now + timedelta(days=7 * n - 4))
              for n in (1, 2)]
    schedule = shop.schedule("Weekly box", [c["id"] for c in cycles])
    customer = shop.customer("Ann", "Martin", locale=customer_locale)

    def subscribe() -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule["id"], ship["id"], cash["id"], {"box": 1, "eggs": 2},
                                  begins_at=now)
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    sub = wait_for(subscribe, 30, "the catalog to reach subscription-service")
    return {"shop": shop, "customer": customer, "subscription": sub, "cycles": cycles}


def test_a_customer_signs_in_with_the_emailed_link_and_sees_their_subscription(web_system, visit):
    world = subscribed_customer(web_system)
    shop, customer = world["shop"], world["customer"]
    page = visit.page
    going = f"{web_system.url}/shops/{shop.id}/subscriptions"

    page.goto(going)
    assert f"/shops/{shop.id}/sign-in" in page.url
    visit.check("sign-in page")

    page.get_by_label("Email address").fill("ann at example")
    page.get_by_role("button", name="Email me a sign-in link").click()
    error = page.locator("#email-error")
    assert "Enter an email address in the correct format" in error.inner_text()
    assert page.locator(".error-summary a[href='#email']").count() == 1
    assert page.get_by_label("Email address").input_value() == "ann at example"
    assert page.title().startswith("Error:")
    visit.check("sign-in page with an error")

    page.get_by_label("Email address").fill(customer.email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    visit.check("check your email")

    link = wait_for(lambda: emailed_links(web_system.smtp_api, customer.email), 30, "the sign-in email")[-1]
    assert link.startswith(f"{web_system.url}/sign-in/")
    page.goto(link)
    visit.check("sign-in link opened")
    page.get_by_role("button", name="Sign in").click()

    assert page.url == going  # where the person was going before signing in
    assert page.get_by_role("heading", name="Your subscriptions").is_visible()
    article = page.get_by_role("article")
    assert "Weekly box" in article.inner_text() and "Active" in article.inner_text()
    rows = {r.locator("th").inner_text(): r.locator("td").all_inner_texts()
            for r in article.locator("tbody tr").all()}
    assert rows["Vegetable box\n€20.00 each"] == ["1", "€20.00"]
    assert rows["Eggs x6\n€3.50 each"] == ["2", "€7.00"]
    assert "€32.00" in article.locator("tfoot").inner_text()  # 20 + 7 + 5 delivery
    deliveries = article.locator(".deliveries li").all_inner_texts()
    assert [d.split("\n")[0].split(" ")[:2] for d in deliveries] == [["Week", "1"], ["Week", "2"]]
    assert all("Upcoming" in d and "Estimated total: €32.00" in d for d in deliveries)
    visit.check("my subscriptions")

    page.get_by_role("button", name="Sign out").click()
    assert f"/shops/{shop.id}/sign-in" in page.url
    page.goto(going)
    assert f"/shops/{shop.id}/sign-in" in page.url  # signed out: the page asks for a link again

    page.goto(link)  # a link works once
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="This link no longer works").is_visible()
    visit.check("used link")


def test_the_pages_speak_the_customers_language_and_an_unknown_address_gets_the_same_answer(web_system, visit):
    world = subscribed_customer(web_system, shop_locale="en", customer_locale="fr")
    shop, customer = world["shop"], world["customer"]
    page = visit.page

    stranger = f"nobody-{uuid.uuid4().hex[:6]}@example.org"
    page.goto(f"{web_system.url}/shops/{shop.id}/sign-in")
    page.get_by_label("Email address").fill(stranger)
    page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()

    page.goto(f"{web_system.url}/shops/{shop.id}/sign-in")
    page.get_by_label("Email address").fill(customer.email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    link = wait_for(lambda: emailed_links(web_system.smtp_api, customer.email), 30, "the sign-in email")[-1]
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()

    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Vos abonnements").is_visible()
    text = page.get_by_role("article").inner_text()
    assert "Actif" in text and "20,00\xa0€" in text and "Livraisons" in text
    visit.check("mes abonnements")
    assert emailed_links(web_system.smtp_api, stranger) == []
