"""The console's foundation in a real browser on a phone-sized screen against the real stack: the platform admin
makes someone a shop's first manager with platformctl, who signs in with the link emailed to them and finds the
shop's set-up checklist (in the shop's language), done step by step; a manager of two shops picks one and finds the
menu of its pages; a manager of one shop goes straight to it, finds another shop's pages not there, and signing
out ends the session at the API. Every page passes axe-core and is photographed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def platformctl(web_system, *args: str) -> str:
    p = web_system.platform
    out = subprocess.run([sys.executable, "-m", "platformctl.cli", *args], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "SUBSCRIPTION_SERVICE_URL": p.urls["subscription-service"],
                                           "ADMIN_TOKEN": p.admin_token, "COLUMNS": "200"})
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def checklist(page) -> dict[str, str]:
    """Each step of the set-up checklist and the state shown beside it."""
    return {li.get_attribute("id").removeprefix("check-"): li.locator(".state").inner_text()
            for li in page.locator(".checklist li").all()}


def test_the_first_manager_added_with_platformctl_signs_in_by_email_and_sets_the_shop_up_from_the_checklist(
        web_system, visit, sign_in_manager):
    p = web_system.platform
    shop = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr", subscriptions_enabled=False)
    email = f"Alex-{uuid.uuid4().hex[:6]}@example.org"
    assert email.lower() in platformctl(web_system, "shops", "add-manager", shop.id, email)
    assert email.lower() in platformctl(web_system, "shops", "managers", shop.id)

    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}")
    assert page.url == f"{web_system.url}/manage/sign-in?next=/manage/shops/{shop.id}"
    assert page.locator("h1").inner_text() == "Sign in to manage your shop"
    visit.check("manager sign-in")
    page.locator("#email").fill("not an address")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("#email-error").is_visible() and page.locator(".error-summary a").count() == 1
    visit.check("manager sign-in refused")
    sign_in_manager(page, email, visit.check)
    assert page.url == f"{web_system.url}/manage/shops/{shop.id}"  # back where they were going
    assert page.locator("html").get_attribute("lang") == "fr"
    assert checklist(page) == dict.fromkeys(
        ("subscriptions_enabled", "shipping_method", "payment_method", "customers", "schedule"), "À faire")
    visit.check("checklist of a new shop in french")

    shop.subs().patch(shop.base, {"subscriptions_enabled": True},
                      headers={"If-Match": f'"{shop.subs().get(shop.base)["version"]}"'})
    shop.shipping_method("Home delivery")
    shop.payment_method("cash")
    shop.customer("Ann", "Martin")
    page.reload()
    assert [name for name, state in checklist(page).items() if state == "À faire"] == ["schedule"]
    now = p.now()
    cycle = shop.order_cycle("Week 1", now + timedelta(days=1), now + timedelta(days=3))
    shop.schedule("Weekly box", [cycle["id"]])
    page.reload()
    assert set(checklist(page).values()) == {"Fait"}
    assert "Votre boutique est prête" in page.locator("main").inner_text()
    visit.check("checklist of a ready shop")


def test_a_manager_of_two_shops_picks_one_and_finds_its_pages_in_the_shops_language(web_system, visit,
                                                                                      manager_session):
    p = web_system.platform
    ruche = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr")
    abeille = p.create_shop(name=f"Abeille {uuid.uuid4().hex[:4]}", locale="en")
    manager = manager_session(ruche, abeille)
    page = visit.page
    assert page.url == f"{web_system.url}/manage"
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
    manager_session(mine)
    page = visit.page
    assert page.url == f"{web_system.url}/manage/shops/{mine.id}"
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
    sessions = [t for t in p.admin.get("/api/v1/tokens", params={"shop_id": mine.id, "role": "manager",
                                                                 "include_revoked": "true"})["items"]
                if t["obtained_by"] == "email_sign_in_link"]
    assert len(sessions) == 1 and sessions[0]["revoked_at"]  # ended at the API too: a copied cookie is worthless
    page.goto(f"{web_system.url}/manage/shops/{mine.id}")
    assert page.url.startswith(f"{web_system.url}/manage/sign-in")


def test_the_link_make_runs_demo_prints_for_a_shops_manager_opens_the_shops_console(web_system, visit):
    from devstack.demo import ensure_manager, manager_sign_in_link

    p = web_system.platform
    shop = p.create_shop(name=f"Demo hub {uuid.uuid4().hex[:4]}", locale="en")
    email = f"demo-{uuid.uuid4().hex[:6]}@example.org"
    ensure_manager(p, shop.id, email)
    ensure_manager(p, shop.id, email)  # a second run adds nobody
    assert [m["email"] for m in p.admin.get(f"/api/v1/shops/{shop.id}/managers")["items"]] == [email]
    link = manager_sign_in_link(p, email)
    assert link.startswith(f"{web_system.url}/manage/sign-in/")
    page = visit.page
    page.goto(link)
    visit.check("the demo's manager link")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{web_system.url}/manage/shops/{shop.id}"
    assert page.locator("h1").inner_text() == shop.data["name"]
