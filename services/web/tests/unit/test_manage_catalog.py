"""The console's catalog page, from order-service's answers: the shop's products with their producer, price, stock
and whether they are for sale; searched and paged through the API's own cursor, with the manager's token."""

from __future__ import annotations

import pytest


@pytest.fixture
def manager(console_manager):
    return console_manager()


EGGS = {"variant_id": "eggs-12", "product_name": "Eggs", "variant_name": "dozen", "unit_price": 600,
        "currency": "EUR", "on_hand": 6, "available": True, "supplier": "Ferme du Pré"}
HONEY = {"variant_id": "honey", "product_name": "Honey", "variant_name": None, "unit_price": 900, "currency": "EUR",
         "on_hand": None, "available": False, "supplier": None}


def test_the_catalog_shows_each_product_with_its_producer_price_stock_and_sale_state(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/variants")] = (200, {"items": [EGGS, HONEY],
                                                                             "next_cursor": None})
    page = manager.get(f"/manage/shops/{shop_id}/catalog").get_data(as_text=True)
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Eggs – dozen" in rows and "Ferme du Pré" in rows and "€6.00" in rows and ">6<" in rows
    assert "Honey" in rows and "Not said" in rows and "Unlimited" in rows and "Not for sale" in rows
    [asked] = [s for s in fake_http.sent if s["path"].endswith("/variants")]
    assert asked["params"] == {"limit": 50} and asked["headers"]["Authorization"] == "Bearer rop_manager"
    assert 'rel="next"' not in page and "First page" not in page


def test_the_catalog_is_searched_and_paged_with_the_search_kept_in_the_next_pages_address(manager, fake_http,
                                                                                         shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/variants")] = (200, {"items": [EGGS], "next_cursor": "c2"})
    page = manager.get(f"/manage/shops/{shop_id}/catalog?q=ferme").get_data(as_text=True)
    assert fake_http.sent[-1]["params"] == {"q": "ferme", "limit": 50}
    assert f'href="/manage/shops/{shop_id}/catalog?q=ferme&amp;cursor=c2" rel="next"' in page
    assert 'value="ferme"' in page
    manager.get(f"/manage/shops/{shop_id}/catalog?q=ferme&cursor=c2")
    assert fake_http.sent[-1]["params"] == {"q": "ferme", "limit": 50, "cursor": "c2"}


def test_an_empty_catalog_and_a_search_finding_nothing_say_so_in_french(console_manager, fake_http, shop_id):
    manager = console_manager("fr")
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/variants")] = (200, {"items": [], "next_cursor": None})
    page = manager.get(f"/manage/shops/{shop_id}/catalog").get_data(as_text=True)
    assert "Le catalogue de la plateforme ne propose encore aucun produit" in page
    page = manager.get(f"/manage/shops/{shop_id}/catalog?q=miel").get_data(as_text=True)
    assert "Aucun produit ne correspond à « miel »." in page


def test_the_catalog_is_the_shops_managers_alone(client, fake_http, shop_id):
    assert client.get(f"/manage/shops/{shop_id}/catalog").status_code == 302
    with client.session_transaction() as session:
        session.update(token="rop_manager", role="manager", shop_ids=["another-shop"], signed_in_at=0)
    assert client.get(f"/manage/shops/{shop_id}/catalog").status_code == 404
    assert not fake_http.sent


def test_each_product_shows_its_tax_category_with_the_shops_rate_in_the_managers_format(
        console_manager, fake_http, shop_id, text_of):
    manager = console_manager("fr")
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")][1].update(
        prices_include_tax=True, tax_rates=[{"category": "reduced", "rate_bp": 550},
                                            {"category": "standard", "rate_bp": 2000}])
    wine = {**HONEY, "variant_id": "wine", "product_name": "Vin", "tax_category": "alcohol"}
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/variants")] = (200, {"items": [
        {**EGGS, "tax_category": "reduced"}, {**HONEY, "tax_category": "standard"}, wine,
        {**EGGS, "variant_id": "bag", "product_name": "Sac", "tax_category": None}], "next_cursor": None})
    page = manager.get(f"/manage/shops/{shop_id}/catalog").get_data(as_text=True)
    rows = [text_of(r).replace("\u202f", " ").replace("\xa0", " ")
            for r in page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr")[1:]]
    assert "reduced, 5,5 %" in rows[0] and "standard, 20 %" in rows[1]
    assert "alcohol : pas de taux, non taxé" in rows[2]
    assert "Non taxé" in rows[3]
    assert "Les prix sont TTC." in text_of(page)
