"""The console's catalog page in a real browser on a phone-sized screen against the real stack: the platform's
catalog publishes a shop's products (catalog.events, some naming their producer), order-service projects them, and
the shop's manager reads them with their producer, price, stock and whether they are for sale, searches them and
pages through them, in the shop's language. Every state passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def catalog_page(web_system, visit, shop, rows: int):
    """The catalog page, once order-service has projected ``rows`` products of the shop (catalog.events arrive
    a moment after they are published)."""
    page = visit.page

    def shown():
        page.goto(f"{web_system.url}/manage/shops/{shop.id}/catalog")
        return page.locator("#catalog tbody tr").count() >= rows

    wait_for(shown, 60, f"{rows} products on the catalog page", interval=0.5)
    return page


def test_a_french_hubs_manager_reads_its_products_with_their_producer_price_and_stock_and_searches_them(
        web_system, visit, manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr")
    p.catalog.variant(shop.id, "eggs-12", "Œufs", unit_price=600, currency="EUR", on_hand=40, variant_name="douzaine",
                      supplier="Ferme du Pré")
    p.catalog.variant(shop.id, "honey", "Miel", unit_price=900, currency="EUR", on_hand=None, available=False)
    p.catalog.variant(shop.id, "apples", "Pommes", unit_price=250, currency="EUR", on_hand=12,
                      supplier="Vergers Martin")
    p.catalog.flush()
    manager_session(shop)
    page = catalog_page(web_system, visit, shop, 3)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Catalogue"
    rows = [" | ".join(t.split("\t")) for t in page.locator("#catalog tbody tr").all_inner_texts()]
    assert [r.split(" | ")[0] for r in rows] == ["Miel", "Pommes", "Œufs – douzaine"]
    honey, apples, eggs = (page.locator("#catalog tbody tr").nth(i) for i in range(3))
    assert "Non renseigné" in honey.inner_text() and "Illimité" in honey.inner_text()
    assert "Pas en vente" in honey.inner_text()
    assert "Vergers Martin" in apples.inner_text() and "12" in apples.inner_text()
    assert "Ferme du Pré" in eggs.inner_text() and "6,00" in eggs.inner_text() and "Oui" in eggs.inner_text()
    assert page.locator(".console-nav__row a[aria-current=page]").inner_text() == "Catalogue"
    visit.check("catalog in french")

    page.get_by_label("Rechercher dans le catalogue").fill("ferme")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    assert page.locator("#catalog tbody tr").count() == 1 and "Ferme du Pré" in page.locator("#catalog").inner_text()
    assert page.locator("caption").inner_text() == "Produits correspondant à « ferme »"
    visit.check("catalog searched")

    page.get_by_label("Rechercher dans le catalogue").fill("fromage")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    assert page.locator("#nothing-found").inner_text().startswith("Aucun produit ne correspond à « fromage ».")
    visit.check("catalog nothing found")


def test_an_english_hubs_manager_pages_through_a_catalog_of_more_than_a_page(web_system, visit, manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"Bee Hub {uuid.uuid4().hex[:4]}", locale="en")
    names = [f"Product {n:02d}" for n in range(53)]
    for n, name in enumerate(names):
        p.catalog.variant(shop.id, f"v{n:02d}", name, unit_price=100 + n, currency="EUR", on_hand=n,
                          supplier=f"Farm {n % 3}")
    p.catalog.flush()
    manager_session(shop)
    page = visit.page

    wait_for(lambda: len(shop.orders_api().all_pages(f"{shop.base}/variants")) == 53, 60,
             "the whole catalog projected by order-service", interval=0.5)
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/catalog")
    first = [t.split("\t")[0] for t in page.locator("#catalog tbody tr").all_inner_texts()]
    assert first == names[:50]
    assert "€1.00" in page.locator("#catalog tbody tr").first.inner_text()
    visit.check("catalog first page")
    with page.expect_navigation():
        page.get_by_role("link", name="Next page").click()
    assert [t.split("\t")[0] for t in page.locator("#catalog tbody tr").all_inner_texts()] == names[50:]
    assert page.get_by_role("link", name="Next page").count() == 0
    visit.check("catalog last page")
    with page.expect_navigation():
        page.get_by_role("link", name="First page").click()
    assert page.locator("#catalog tbody tr").count() == 50
