"""The console's Subscriptions page in a real browser on a phone-sized screen against the real stack: a manager
creates a subscription for a customer with the live estimate following the form (refused first by the field),
changes it from a page that became stale (told, shown as it is now, nothing overwritten), pauses it until a day,
starts it again, skips a delivery, takes holidays, cancels it once an order is placed (asked to keep or cancel
it) and reads the history of who changed what, when and why; in French, the list's search and filters and a
refusal by its field. Every state of every page passes axe-core and is photographed."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.scenario import ApiError
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")


def local_day(at: str) -> date:
    return datetime.fromisoformat(at).astimezone(PARIS).date()


def a_shop(web_system, locale: str, weeks: int = 4) -> dict[str, Any]:
    """A shop with home delivery, cash and card, a box and eggs in its catalog (known to order-service's list and
    to subscription-service's estimates), weekly cycles in a schedule."""
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=locale, timezone="Europe/Paris")
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    cash = shop.payment_method("cash")
    card = shop.payment_method("stripe")
    shop.variant("box", "Vegetable box", 2000, on_hand=100)
    shop.variant("eggs", "Eggs", 320, on_hand=100)
    now = p.now()
    cycles = [shop.order_cycle(f"Week {n}", now + timedelta(days=7 * n - 6), now + timedelta(days=7 * n - 4))
              for n in range(1, weeks + 1)]
    schedule = shop.schedule("Weekly box", [c["id"] for c in cycles])

    def catalog_known() -> bool:
        try:
            listed = shop.orders_api().get(f"{shop.base}/variants")["items"]
        except ApiError as exc:  # order-service has not heard of the shop (shops.events: its lists are 404s) or of
            if " -> 404 " not in str(exc) and " -> 401 " not in str(exc):  # the manager's token (identity.events) yet
                raise
            return False
        priced = shop.subs().post(f"{shop.base}/subscriptions/estimate", {"items": [
            {"variant_id": "box", "quantity": 1}, {"variant_id": "eggs", "quantity": 1}]})
        return len(listed) == 2 and priced["estimate"]["item_total"] == 2320

    wait_for(catalog_known, 30, "the catalog to reach order-service and subscription-service")
    return {"shop": shop, "ship": ship, "cash": cash, "card": card, "cycles": cycles, "schedule": schedule,
            "now": now}


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def status(page: Any) -> str:
    return " ".join(page.get_by_role("status").all_inner_texts())


def test_a_manager_creates_changes_pauses_and_cancels_a_subscription_and_reads_who_did_what(
        web_system, visit, manager_session):
    world = a_shop(web_system, "en")
    shop, cycles = world["shop"], world["cycles"]
    shop.customer("Ann", "Martin")
    manager = manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/subscriptions")
    assert page.locator("h1").inner_text() == "Subscriptions"
    assert "No subscription matches." in page.locator("main").inner_text()
    visit.check("no subscription yet")

    with page.expect_navigation():
        page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Customer's name or email").fill("martin")
    press(page, "Search")
    visit.check("choose the customer")
    with page.expect_navigation():
        page.get_by_role("link", name="New subscription for Ann Martin").click()
    page.locator("#schedule_id").select_option(label="Weekly box")
    page.locator("#lines-0-variant_id").select_option("box")
    page.locator("#lines-0-quantity").fill("2")
    page.locator("#lines-1-variant_id").select_option("eggs")
    page.locator("#lines-1-quantity").fill("6")
    page.locator("#shipping_method_id").select_option(world["ship"]["id"])
    page.locator("#payment_method_id").select_option(world["card"]["id"])
    estimate = page.locator("#estimate")
    wait_for(lambda: "€64.20" in estimate.inner_text(), 10, "the live estimate (2 × €20 + 6 × €3.20 + €5)")
    assert "Vegetable box" in estimate.inner_text() and "€19.20" in estimate.inner_text()
    assert page.locator("#bill_address-address1").input_value() == "12 rue des Lilas"  # the customer's address
    visit.check("the form with its live estimate")

    press(page, "Create the subscription")
    assert page.title().startswith("Error:")
    assert "This customer has no card saved" in page.locator("#payment_method_id-error").inner_text()
    assert page.locator(".error-summary a[href='#payment_method_id']").count() >= 1
    assert page.locator("#lines-1-quantity").input_value() == "6"
    assert shop.subs().get(f"{shop.base}/subscriptions")["items"] == []
    visit.check("refused by the field")

    page.locator("#payment_method_id").select_option(world["cash"]["id"])
    press(page, "Create the subscription")
    assert "The subscription is saved." in status(page)
    sub = shop.subs().get(f"{shop.base}/subscriptions")["items"][0]
    assert page.url == f"{web_system.url}/manage/shops/{shop.id}/subscriptions/{sub['id']}"
    assert [(i["variant_id"], i["quantity"]) for i in sub["items"]] == [("box", 2), ("eggs", 6)]
    # the form starts on today in the shop's zone: the web app's day, not the test clock's (other tests move that)
    assert sub["estimate"]["total"] == 6420 and local_day(sub["begins_at"]) == datetime.now(PARIS).date()
    visit.check("the subscription")

    with page.expect_navigation():
        page.get_by_role("link", name="Change products, methods, dates or addresses").click()
    shop.subs().patch(f"{shop.base}/subscriptions/{sub['id']}", {"items": [
        {"variant_id": "box", "quantity": 1}, {"variant_id": "eggs", "quantity": 12}]})  # someone else, meanwhile
    page.locator("#lines-0-quantity").fill("3")
    press(page, "Save the changes")
    assert "changed by someone else" in page.get_by_role("alert").first.inner_text()
    assert page.locator("#lines-0-quantity").input_value() == "1"
    assert page.locator("#lines-1-quantity").input_value() == "12"
    assert [i["quantity"] for i in shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["items"]] == [1, 12]
    visit.check("a stale change told and shown as it is")
    page.locator("#lines-0-quantity").fill("3")
    page.get_by_label("Why (optional, kept in the history)").fill("asked by phone")
    press(page, "Save the changes")
    assert "The subscription is saved." in status(page)

    resume_day = local_day(cycles[1]["closes_at"]) + timedelta(days=1)
    page.locator("#pause-until").fill(resume_day.isoformat())
    press(page, "Pause the subscription")
    assert "The subscription is paused until" in status(page)
    assert "Starts again by itself on" in page.locator("main").inner_text()
    visit.check("paused until a day")
    press(page, "Start the subscription again now")
    assert "The subscription is active again." in status(page)

    press(page, "Skip this delivery (Week 2)")
    assert "That delivery is skipped." in status(page)
    third = local_day(cycles[2]["closes_at"])
    page.get_by_label("First day away").fill(third.isoformat())
    page.get_by_label("Last day away").fill(third.isoformat())
    press(page, "Skip these deliveries")
    assert "Holidays saved" in status(page)
    states = {li.locator("strong").inner_text(): li.locator(".state").inner_text()
              for li in page.locator(".deliveries li").all()}
    assert states["Week 2"] == "Skipped" and states["Week 3"] == "Skipped" and states["Week 1"] == "Upcoming"
    visit.check("a delivery skipped and holidays")

    web_system.platform.advance_to(datetime.fromisoformat(cycles[0]["opens_at"]) + timedelta(hours=1))
    shop.wait_orders(1, subscription_id=sub["id"])
    wait_for(lambda: shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}/occurrences")["items"][0]["state"]
             == "placed", 30, "subscription-service to know of the order placed")
    page.reload()
    press(page, "Cancel the subscription")
    choice = page.locator("#cancel-open_orders")
    assert "Choose whether to keep or cancel the orders already placed" in choice.inner_text()
    assert shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["state"] == "active"
    visit.check("cancel asks keep or cancel")
    page.get_by_label("Keep them: they are delivered and charged as planned").check()
    press(page, "Cancel the subscription")
    assert "The subscription is cancelled." in status(page)
    assert shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["state"] == "cancelled"
    assert [o["status"] for o in shop.orders(subscription_id=sub["id"])] == ["placed"]
    visit.check("cancelled")

    with page.expect_navigation():
        page.get_by_role("link", name="History of changes").click()
    entries = [" ".join(li.inner_text().split()) for li in page.locator("ol.history > li").all()]
    assert [e.split(" ")[0] for e in entries] == ["Created", "Changed", "Changed", "Paused", "Started",
                                                  "Delivery", "Delivery", "Cancelled"]
    assert all(f"By {manager.email}" in e for e in entries[:1] + entries[2:])
    assert f"By manager of {shop.data['name']}" in entries[1]  # the change made meanwhile, with the API
    assert "Vegetable box: 1 → 3" in entries[2] and "Why: asked by phone" in entries[2]
    assert "Week 2" in entries[5] and "Holidays from" in entries[6] and "Orders already placed were kept." in \
        entries[7]
    visit.check("the history of changes")


def test_a_french_manager_finds_subscriptions_by_search_and_state_and_reads_a_refusal_by_its_field(
        web_system, visit, manager_session):
    world = a_shop(web_system, "fr", weeks=2)
    shop = world["shop"]
    ann, bob = shop.customer("Ann", "Martin"), shop.customer("Bob", "Durand")
    subs = {c.data["first_name"]: shop.subscribe(c, world["schedule"]["id"], world["ship"]["id"],
                                                 world["cash"]["id"], {"box": 1}, begins_at=world["now"])
            for c in (ann, bob)}
    shop.subs().post(f"{shop.base}/subscriptions/{subs['Bob']['id']}/pause", {})
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/subscriptions")
    assert page.locator("html").get_attribute("lang") == "fr"
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    visit.check("la liste")

    page.get_by_label("Nom ou e-mail du client").fill("durand")
    press(page, "Afficher")
    assert rows.count() == 1 and "Bob Durand" in rows.first.inner_text() and "En pause" in rows.first.inner_text()
    page.get_by_label("Nom ou e-mail du client").fill("")
    page.get_by_label("Actif").check()
    press(page, "Afficher")
    assert rows.count() == 1 and "Ann Martin" in rows.first.inner_text()
    visit.check("la liste filtrée")

    with page.expect_navigation():
        rows.first.get_by_role("link").click()
    lonely = local_day(world["cycles"][0]["closes_at"]) + timedelta(days=2)  # no delivery closes that day
    page.get_by_label("Premier jour d'absence").fill(lonely.isoformat())
    page.get_by_label("Dernier jour d'absence").fill(lonely.isoformat())
    press(page, "Sauter ces livraisons")
    assert page.title().startswith("Erreur")
    refused = page.locator("#holiday-first_day-error").inner_text()
    assert "Aucune des livraisons de cet abonnement ne tombe entre ces dates" in refused
    history = shop.subs().get(f"{shop.base}/subscriptions/{subs['Ann']['id']}/history")["items"]
    assert [h["event_type"] for h in history] == ["SubscriptionCreated"]  # nothing was skipped
    visit.check("un refus par son champ")


def test_a_french_manager_chooses_a_lines_substitutes_in_order_and_reads_a_refused_one_by_its_field(
        web_system, visit, manager_session):
    world = a_shop(web_system, "fr", weeks=2)
    shop = world["shop"]
    ann = shop.customer("Ann", "Martin")
    sub = shop.subscribe(ann, world["schedule"]["id"], world["ship"]["id"], world["cash"]["id"], {"box": 1},
                         begins_at=world["now"])
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/subscriptions/{sub['id']}/edit")
    page.get_by_text("Produits de remplacement, s'il manque").first.click()
    page.locator("#lines-0-substitute_1").select_option("box")  # the product itself: refused by the API
    page.locator("#lines-0-substitute_2").select_option("eggs")
    visit.check("les produits de remplacement d'une ligne")
    press(page, "Enregistrer les modifications")
    assert page.title().startswith("Erreur")
    assert "Choisissez un autre produit que celui qu'il remplace." in page.locator(
        "#lines-0-substitute_1-error").inner_text()
    assert page.locator(".error-summary a[href='#lines-0-substitute_1']").count() == 1
    assert shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["items"][0]["substitutes"] == []
    visit.check("un produit de remplacement refusé par son champ")

    page.locator("#lines-0-substitute_1").select_option("")
    press(page, "Enregistrer les modifications")
    saved = shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")
    assert saved["items"][0]["substitutes"] == ["eggs"]
    assert "S'il manque : Eggs" in page.locator("main").inner_text()
    visit.check("l'abonnement et son produit de remplacement")
