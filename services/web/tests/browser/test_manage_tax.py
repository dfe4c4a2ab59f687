"""The shop's tax in a real browser on a phone-sized screen against the real stack: a French hub's manager sets its
prices as including tax and its rates (5,5 % and 20 %, typed the French way), is refused a rate that is no
percentage by its field, meets a tax form made stale by another manager (said so, nothing overwritten), puts the
delivery's fee in the standard category, reads each product's category and rate in the catalog, and finds the tax of
the order placed afterwards on its page, line by line and in the total; a customer of a hub whose prices exclude tax
reads their order's tax added to the total. Every state of the pages passes axe-core and is photographed at 375 px.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def words(locator: Any) -> str:
    return " ".join(locator.inner_text().replace("\u202f", " ").replace("\xa0", " ").split())


def taxed_variant(shop: Any, variant_id: str, name: str, unit_price: int, category: str | None) -> None:
    """A product of the platform's catalog with its tax category (catalog.events' VariantUpdated)."""
    shop.platform.catalog.variant(shop.id, variant_id, name, unit_price=unit_price, currency=shop.data["currency"],
                                  on_hand=100, tax_category=category)
    shop.platform.catalog.flush()
    shop.variants[variant_id] = {"name": name, "unit_price": unit_price, "on_hand": 100}


def place_order(subscribe: Any, shop: Any, ship: dict[str, Any], items: dict[str, int], *,
                customer_locale: str | None = None) -> dict[str, Any]:
    """A cycle open now and a customer subscribed to ``items`` (``subscribe``: the fixture): the order the platform
    placed."""
    cash = shop.payment_method("cash")
    now = shop.platform.now()
    cycle = shop.order_cycle("Semaine 1", now - timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Panier", [cycle["id"]])
    customer = shop.customer("Ann", "Martin", locale=customer_locale)
    subscription = subscribe(shop, customer, schedule["id"], ship["id"], cash["id"], items, now - timedelta(hours=1))
    [placed] = shop.wait_orders(1, order_cycle_id=cycle["id"])
    return {"order": shop.order(placed["order_id"]), "customer": customer, "subscription": subscription,
            "cycle": cycle}


def test_a_french_manager_sets_the_rates_and_the_order_placed_afterwards_shows_its_tax(
        web_system, visit, manager_session, subscribe):
    shop = web_system.platform.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr")
    ship = shop.shipping_method("Livraison", fee_flat=500)
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/settings#tax")
    assert page.locator("#tax").inner_text() == "TVA"
    visit.check("tax settings, none yet")

    page.get_by_label("Toutes taxes comprises (TTC)").check()
    page.locator("#tax-rates-0-category").fill("reduced")
    page.locator("#tax-rates-0-percent").fill("5,555")
    page.locator("#tax-rates-1-category").fill("standard")
    page.locator("#tax-rates-1-percent").fill("20")
    press(page, "Enregistrer les taux de TVA")
    assert words(page.locator("#tax-rates-0-percent-error")) == (
        "Erreur : Saisissez un pourcentage de 0 à 100 avec au plus deux décimales, par exemple 5,5")
    assert page.locator("#tax-rates-0-percent").input_value() == "5,555"
    visit.check("tax rate refused by its field")
    assert shop.subs().get(shop.base).get("tax_rates") in (None, [])

    page.locator("#tax-rates-0-percent").fill("5,5")
    press(page, "Enregistrer les taux de TVA")
    assert "Les réglages de TVA sont enregistrés." in page.locator("#tax ~ [role=status]").inner_text()
    visit.check("tax rates saved")
    now = shop.subs().get(shop.base)
    assert now["prices_include_tax"] is True
    assert sorted((r["category"], r["rate_bp"]) for r in now["tax_rates"]) == [("reduced", 550), ("standard", 2000)]
    assert page.locator("#tax-rates-0-percent").input_value() in ("5,5", "20")

    shop.subs().patch(shop.base, {"tax_rates": [{"category": "reduced", "rate_bp": 550},  # another manager
                                                {"category": "standard", "rate_bp": 2000},
                                                {"category": "zero", "rate_bp": 0}]})
    page.locator("#tax-rates-2-category").fill("luxe")
    page.locator("#tax-rates-2-percent").fill("33")
    press(page, "Enregistrer les taux de TVA")
    assert "Les réglages de TVA ont été modifiés pendant que vous les changiez" in page.locator(
        "#tax-stale").inner_text()
    assert [r["category"] for r in shop.subs().get(shop.base)["tax_rates"]] == ["reduced", "standard", "zero"]
    visit.check("tax form stale")

    with page.expect_navigation():
        page.get_by_role("link", name="Modifier Livraison").click()
    page.get_by_label("TVA sur ces frais").select_option("standard")
    press(page, "Enregistrer les modifications")
    assert "Livraison est modifié." in page.locator("[role=status]").first.inner_text()
    assert "TVA : standard, 20 %." in words(page.locator("#shipping-methods ~ ul.method-list"))
    assert shop.subs().get(f"{shop.base}/shipping-methods/{ship['id']}")["tax_category"] == "standard"
    visit.check("delivery taxed")

    taxed_variant(shop, "box", "Panier de légumes", 2000, "reduced")
    taxed_variant(shop, "wine", "Vin", 1000, "standard")
    def catalog_shown() -> bool:
        page.goto(f"{web_system.url}/manage/shops/{shop.id}/catalog")
        return page.locator("#catalog tbody tr").count() == 2

    wait_for(catalog_shown, 30, "the catalog to reach order-service")
    assert "reduced, 5,5 %" in words(page.locator("#catalog tbody tr", has_text="Panier de légumes"))
    assert "standard, 20 %" in words(page.locator("#catalog tbody tr", has_text="Vin"))
    visit.check("catalog with tax")

    world = place_order(subscribe, shop, ship, {"box": 1, "wine": 2})
    order = world["order"]
    # TTC: box 20,00 € at 5,5 % -> 1,04 €; wine 20,00 € at 20 % -> 3,33 €; delivery 5,00 € at 20 % -> 0,83 €
    assert [line["tax"] for line in sorted(order["lines"], key=lambda x: x["variant_id"])] == [104, 333]
    assert order["totals"]["tax_total"] == 104 + 333 + 83 and order["totals"]["total"] == 4500
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/orders/{order['order_id']}")
    assert words(page.locator("#prices-note")) == "Les prix sont TTC."
    assert "TVA 5,5 % incluse : 1,04 €" in words(page.locator("tbody tr").filter(has_text="Panier de légumes"))
    assert "TVA 20 % incluse : 3,33 €" in words(page.locator("tbody tr").filter(has_text="Vin"))
    assert words(page.locator("#order-total")) == "45,00 €"
    assert words(page.locator("tr#order-tax")) == "Dont TVA 5,20 €"
    assert "TVA : 0,83 €" in words(page.locator("tfoot tr").filter(has_text="Livraison"))  # the delivery's tax
    visit.check("order with tax")

    page.goto(f"{web_system.url}/manage/shops/{shop.id}/subscriptions/{world['subscription']['id']}")
    assert words(page.locator("tr#estimate-tax")) == "Dont TVA 5,20 €"  # the estimate: the same rule
    visit.check("subscription estimate with tax")
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/reports/{world['cycle']['id']}/orders")
    assert "TVA : 5,20 €" in words(page.locator(".report-orders"))
    visit.check("orders report with tax")
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/reports/{world['cycle']['id']}/product-totals")
    assert "TVA : 4,37 €." in words(page.locator(".grand-total"))  # the lines' tax: 1,04 + 3,33
    visit.check("product totals with tax")


def test_a_customer_reads_the_tax_added_to_their_orders_total_where_prices_exclude_it(web_system, visit,
                                                                                       subscribe, sign_in_customer):
    shop = web_system.platform.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en", currency="GBP",
                                           timezone="Europe/London", prices_include_tax=False,
                                           tax_rates=[{"category": "zero", "rate_bp": 0},
                                                      {"category": "standard", "rate_bp": 2000}])
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    taxed_variant(shop, "veg", "Vegetable box", 2000, "zero")
    taxed_variant(shop, "soap", "Soap", 350, "standard")
    world = place_order(subscribe, shop, ship, {"veg": 1, "soap": 2})
    order = world["order"]
    # excluding tax: soap 7.00 at 20 % -> 1.40; the box at 0 % -> 0; the delivery has no tax category
    assert order["totals"]["tax_total"] == 140 and order["totals"]["total"] == 2000 + 700 + 500 + 140

    # no session yet: a sign-in link first, then the order
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/orders/{order['order_id']}")
    assert page.get_by_role("heading", name=f"Order {order['number']}").is_visible()
    assert words(page.locator("#prices-note")) == "Prices exclude tax: the tax is added to the total."
    assert "Tax 20%: £1.40" in words(page.locator("tbody tr").filter(has_text="Soap"))
    assert "Tax 0%: £0.00" in words(page.locator("tbody tr").filter(has_text="Vegetable box"))
    assert words(page.locator("tr#order-tax")) == "Tax £1.40"
    assert words(page.locator("#order-total")) == "£33.40"
    visit.check("customer order with tax added")
