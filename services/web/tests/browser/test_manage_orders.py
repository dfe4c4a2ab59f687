"""Orders of a cycle in the managers' console, in a real browser on a phone-sized screen against the real stack: the
platform places the orders of a cycle open now; the manager finds them counted by state, opens one, is refused more
than the stock by the field, meets a form made stale by a change made meanwhile (said so, the order shown as it is
now, nothing changed), adds a product, reads the update issue a subscription change left on a line changed by hand,
cancels and resumes the order, and filters the cycle's orders by state; in French too. Every state of the pages
passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def cycle_with_orders(web_system, subscribe: Any, *, locale: str = "en") -> dict[str, Any]:
    """A shop with a cycle open now and two customers subscribed to it (Ann: a box and 2 eggs, Bob: a box), with the
    orders the platform placed; eggs 5 in stock, jam 3."""
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=locale, timezone="Europe/Paris")
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    cash = shop.payment_method("cash")
    shop.variant("box", "Vegetable box", 2000, on_hand=100)
    shop.variant("eggs", "Eggs x6", 350, on_hand=5)
    shop.variant("jam", "Jam", 450, on_hand=3)
    now = p.now()
    cycle = shop.order_cycle("Week 1", now - timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Weekly box", [cycle["id"]])
    subs = {}
    for first, items in (("Ann", {"box": 1, "eggs": 2}), ("Bob", {"box": 1})):
        subs[first] = subscribe(shop, shop.customer(first, "Martin"), schedule["id"], ship["id"], cash["id"], items,
                                now - timedelta(hours=1))
    orders = {o["subscription_id"]: o for o in shop.wait_orders(2, order_cycle_id=cycle["id"])}
    return {"shop": shop, "cycle": cycle, "subs": subs,
            "orders": {first: orders[sub["id"]] for first, sub in subs.items()}}


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def words(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def quantities(order: dict[str, Any]) -> dict[str, int]:
    return {line["variant_id"]: line["quantity"] for line in order["lines"] if line["quantity"]}


def test_a_manager_finds_the_cycles_orders_by_state_changes_one_meets_a_stale_form_and_its_update_issue(
        web_system, visit, manager_session, subscribe):
    world = cycle_with_orders(web_system, subscribe)
    shop, ann = world["shop"], world["orders"]["Ann"]
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}")
    page.locator(".console-nav__menu summary").click()
    with page.expect_navigation():
        page.locator(".console-nav__menu").get_by_role("link", name="Orders").click()
    assert page.url == f"{web_system.url}/manage/shops/{shop.id}/orders"
    assert page.get_by_label("Order cycle").input_value() == world["cycle"]["id"]
    assert words(page.locator(".state-filter")) == "All (2) Placed (2) Confirmed (0) Cancelled (0) Empty (0)"
    assert "Open: orders can be changed until" in page.locator("#cycle-dates").inner_text()
    visit.check("orders of a cycle")

    with page.expect_navigation():
        page.get_by_role("link", name=ann["number"]).click()
    order_url = f"{web_system.url}/manage/shops/{shop.id}/orders/{ann['order_id']}"
    assert page.url == order_url
    assert "Ann Martin" in page.locator("#order-customer").inner_text()
    assert page.locator("#order-total").inner_text() == "€32.00"  # 20 + 2 x 3.50 + 5 delivery
    visit.check("an order")

    page.get_by_label("Quantity of Eggs x6").fill("9")
    press(page, "Change the quantity (Eggs x6)")
    field = page.get_by_label("Quantity of Eggs x6")
    assert words(page.locator(f"#{field.get_attribute('aria-describedby')}")) == (
        "Error: Only 5 available: choose 5 or fewer.")
    assert page.title().startswith("Error:") and quantities(shop.order(ann["order_id"])) == {"box": 1, "eggs": 2}
    visit.check("more than the stock refused")

    # meanwhile, someone else changes the order: the form on this page is stale
    page.goto(order_url)
    box = next(line["line_id"] for line in shop.order(ann["order_id"])["lines"] if line["variant_id"] == "box")
    shop.orders_api().patch(f"{shop.base}/orders/{ann['order_id']}/lines/{box}", {"quantity": 2})
    page.get_by_label("Quantity of Eggs x6").fill("3")
    press(page, "Change the quantity (Eggs x6)")
    field = page.get_by_label("Quantity of Eggs x6")
    assert words(page.locator(f"#{field.get_attribute('aria-describedby')}")) == (
        "Error: This order changed since you opened the page: here it is as it is now. Check it and try again.")
    assert page.locator("#order-total").inner_text() == "€52.00"  # the order as it is now: 2 boxes
    assert field.input_value() == "3"  # what the manager typed is kept, to send again
    assert quantities(shop.order(ann["order_id"])) == {"box": 2, "eggs": 2}  # nothing else changed
    visit.check("stale form")
    press(page, "Change the quantity (Eggs x6)")
    assert page.get_by_role("status").inner_text() == "The quantity is changed."
    assert quantities(shop.order(ann["order_id"])) == {"box": 2, "eggs": 3}

    page.get_by_label("Product", exact=True).select_option(label="Jam, €4.50 (3 left)")
    page.get_by_label("Quantity", exact=True).fill("2")
    press(page, "Add to the order")
    assert page.get_by_role("status").inner_text() == "The product is added to the order."
    assert quantities(shop.order(ann["order_id"])) == {"box": 2, "eggs": 3, "jam": 2}
    visit.check("product added")

    # the subscription asks for 4 eggs: the eggs line was changed by hand, so the order keeps it and says so
    subs = shop.subs()
    sub = subs.get(f"{shop.base}/subscriptions/{world['subs']['Ann']['id']}")
    subs.patch(f"{shop.base}/subscriptions/{sub['id']}", {"items": [{"variant_id": "box", "quantity": 1},
                                                                    {"variant_id": "eggs", "quantity": 4}]},
               headers={"If-Match": f'"{sub["version"]}"'})
    wait_for(lambda: shop.order(ann["order_id"])["update_issues"], 60, "the update issue")
    page.reload()
    assert "Eggs x6: changed by hand on this order, so the subscription's change was not applied to it." in (
        page.locator("#issues").inner_text())
    visit.check("update issue")

    press(page, "Cancel the order")
    assert page.get_by_role("status").inner_text() == "The order is cancelled. Nothing will be charged for it."
    assert page.locator("#order-status").inner_text() == "Cancelled"
    assert shop.order(ann["order_id"])["status"] == "cancelled"
    visit.check("cancelled")

    with page.expect_navigation():
        page.get_by_role("link", name="Back to the orders of Week 1").click()
    assert words(page.locator(".state-filter")) == "All (2) Placed (1) Confirmed (0) Cancelled (1) Empty (0)"
    assert "1 order has update issues" in page.locator("#update-issues").inner_text()
    with page.expect_navigation():
        page.locator("#state-cancelled").click()
    assert page.locator("#orders tbody tr").count() == 1 and ann["number"] in page.locator("#orders").inner_text()
    visit.check("cancelled orders of the cycle")

    with page.expect_navigation():
        page.get_by_role("link", name=ann["number"]).click()
    press(page, "Resume the order")
    assert page.get_by_role("status").inner_text() == "The order is back."
    assert shop.order(ann["order_id"])["status"] == "placed"
    visit.check("resumed")


def test_a_french_manager_reads_the_orders_and_an_order_in_french(web_system, visit, manager_session, subscribe):
    world = cycle_with_orders(web_system, subscribe, locale="fr")
    shop, bob = world["shop"], world["orders"]["Bob"]
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/orders")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Commandes"
    assert words(page.locator(".state-filter")).startswith("Toutes (2)")
    visit.check("commandes du cycle")

    with page.expect_navigation():
        page.get_by_role("link", name=bob["number"]).click()
    assert page.get_by_role("heading", name=f"Commande {bob['number']}").is_visible()
    assert "25,00\xa0€" in page.locator("#order-total").inner_text()  # 20 + 5 delivery
    assert "C'est le dernier produit de cette commande" in page.locator("main").inner_text()
    visit.check("une commande")

    page.get_by_label("Quantité", exact=True).fill("0")
    press(page, "Ajouter à la commande")
    summary = page.locator(".error-summary").inner_text()
    assert "Choisissez un produit" in summary and "Saisissez une quantité de 1 ou plus." in summary
    visit.check("ajout refuse")

    press(page, "Annuler la commande")
    assert page.get_by_role("status").inner_text() == "La commande est annulée. Rien ne sera débité pour elle."
    assert "Par la boutique." in page.locator("main").inner_text()
    visit.check("commande annulee")
