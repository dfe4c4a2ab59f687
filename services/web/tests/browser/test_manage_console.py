"""The console's foundation in a real browser on a phone-sized screen against the real stack: a visitor is sent to
the managers' sign-in, a manager of two shops picks one and finds its home and the menu of its pages (in the shop's
language), a manager of one shop goes straight to it and finds another shop's pages not there, and signing out ends
the session at the API. Every page passes axe-core and is photographed."""

from __future__ import annotations

import uuid

import pytest

from devstack.scenario import ApiError

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_managers_sign_in(web_system, visit):
    shop = web_system.platform.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}")
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}")
    assert page.url == f"{web_system.url}/manage/sign-in?next=/manage/shops/{shop.id}"
    assert page.locator("h1").inner_text() == "Sign in to manage your shop"
    visit.check("manager sign-in")


def test_a_manager_of_two_shops_picks_one_and_finds_its_pages_in_the_shops_language(web_system, visit,
                                                                                      manager_session):
    p = web_system.platform
    ruche = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr")
    abeille = p.create_shop(name=f"Abeille {uuid.uuid4().hex[:4]}", locale="en")
    manager = manager_session(ruche, abeille)
    page = visit.page
    page.goto(f"{web_system.url}/manage")
    assert page.locator("h1").inner_text() == "Your shops"
    assert page.locator(".shop-list a").all_inner_texts() == [abeille.data["name"], ruche.data["name"]]
    visit.check("shop picker")

    with page.expect_navigation():
        page.get_by_role("link", name=ruche.data["name"]).click()
    assert page.url == f"{web_system.url}/manage/shops/{ruche.id}"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == ruche.data["name"]
    menu = page.locator(".console-nav__menu")
    assert " ".join(menu.locator("summary").inner_text().split()) == "Menu (Mise en place)"
    assert not menu.locator("a").first.is_visible()  # closed on a phone, the row hidden
    assert not page.locator(".console-nav__row").is_visible()
    visit.check("shop home in french")
    menu.locator("summary").click()
    current = menu.get_by_role("link", name="Mise en place")
    assert current.is_visible() and current.get_attribute("aria-current") == "page"
    visit.check("shop home menu open")
    page.set_viewport_size({"width": 1024, "height": 768})
    assert page.locator(".console-nav__row").is_visible() and not menu.is_visible()
    page.set_viewport_size({"width": 375, "height": 812})

    page.goto(f"{web_system.url}/manage/shops/{abeille.id}")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Your shops").is_visible()
    visit.check("shop home in english")
    assert manager.shop_ids == (ruche.id, abeille.id)


def test_a_manager_of_one_shop_goes_straight_to_it_finds_another_shop_not_there_and_signs_out(
        web_system, visit, manager_session):
    p = web_system.platform
    mine, theirs = (p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en") for _ in range(2))
    manager = manager_session(mine)
    page = visit.page
    page.goto(f"{web_system.url}/manage")
    assert page.url == f"{web_system.url}/manage/shops/{mine.id}"
    assert page.get_by_role("link", name="Your shops").count() == 0
    visit.check("shop home of the only shop")

    resp = page.goto(f"{web_system.url}/manage/shops/{theirs.id}")
    assert resp.status == 404
    visit.check("another shop not found")

    page.goto(f"{web_system.url}/manage/shops/{mine.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url == f"{web_system.url}/manage/sign-in"
    with pytest.raises(ApiError, match=" -> 401 "):  # ended at the API too: a copied cookie is worth nothing
        p.api("subscription-service", manager.token).get(f"/api/v1/shops/{mine.id}")
    page.goto(f"{web_system.url}/manage/shops/{mine.id}")
    assert page.url.startswith(f"{web_system.url}/manage/sign-in")
