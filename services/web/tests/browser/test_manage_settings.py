"""The shop's settings in a real browser on a phone-sized screen against the real stack: a manager reads what the
kill switch does, changes every setting and finds the shop changed at the API; a refusal of the API comes back next
to its field with nothing changed; a form that went stale (another manager saved meanwhile) says so in French, shows
the settings as they are now and overwrites nothing. Every state of the page passes axe-core and is photographed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def settings_of(shop) -> dict:
    return shop.subs().get(shop.base)


def test_a_manager_turns_orders_off_changes_every_setting_and_is_refused_by_the_field_in_english(
        web_system, visit, manager_session):
    shop = web_system.platform.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en",
                                           allow_customer_skip=False)
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/settings")
    assert page.locator("h1").inner_text() == "Settings"
    assert page.get_by_text("Now on: orders are placed for subscriptions.").is_visible()
    assert page.locator("#retry_delays").input_value() == "24, 72"
    assert page.locator("#timezone").input_value() == "Europe/Paris"
    visit.check("settings")
    page.get_by_text("What turning it off does").click()
    assert page.get_by_text("Orders already placed stay as they are").is_visible()
    visit.check("settings kill switch explained")

    page.get_by_label("Off (the kill switch)").check()
    page.get_by_label("Customers may skip deliveries").check()
    page.locator("#order_reminder_hours_before_close").fill("24")
    page.locator("#retry_delays").fill("12, 48, 96")
    page.get_by_label("Place them anyway, late").check()
    page.locator("#timezone").select_option("America/Argentina/Buenos_Aires")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the settings").click()
    assert page.locator("[role=status]").inner_text() == "The settings are saved."
    assert page.get_by_text("Now off: no order is placed for any subscription.").is_visible()
    visit.check("settings saved")
    now = settings_of(shop)
    assert now["subscriptions_enabled"] is False and now["allow_customer_skip"] is True
    assert now["allow_order_changes"] is True and now["order_reminder_hours_before_close"] == 24
    assert now["payment_retry"] == {"delays_hours": [12, 48, 96], "max_attempts": 4}
    assert now["late_placement"] == "always" and now["timezone"] == "America/Argentina/Buenos_Aires"

    page.locator("#retry_delays").fill("72, 24")  # the API's rule: each wait longer than the one before
    page.locator("#order_reminder_hours_before_close").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the settings").click()
    assert page.title().startswith("Error:")
    summary = page.locator(".error-summary")
    assert summary.get_by_role("link", name="Each wait must be longer than the one before").is_visible()
    assert page.locator("#retry_delays-error").inner_text().endswith("Each wait must be longer than the one before")
    assert page.locator("#retry_delays").input_value() == "72, 24"
    visit.check("settings refused by the field")
    assert settings_of(shop) == now  # nothing changed, the reminder kept


def test_a_new_shops_manager_adds_a_way_to_deliver_and_a_way_to_pay_from_the_set_up_checklist(
        web_system, visit, manager_session):
    shop = web_system.platform.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en")
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Add a shipping method: delivery or pickup").click()
    assert page.url.startswith(f"{web_system.url}/manage/shops/{shop.id}/settings")
    section = page.locator("section.methods").first
    assert "None yet" in section.inner_text()
    page.locator("#shipping-name").fill("Saturday pickup")
    page.get_by_label("They pick it up").check()
    page.locator("#shipping-fee").fill("1.5.0")
    with page.expect_navigation():
        page.get_by_role("button", name="Add this way to deliver").click()
    assert page.locator("#shipping-fee-error").inner_text().endswith("Enter a number, like 4.50")
    visit.check("settings way to deliver refused by the field")
    page.locator("#shipping-fee").fill("1.50")
    with page.expect_navigation():
        page.get_by_role("button", name="Add this way to deliver").click()
    assert "Saturday pickup is added." in page.locator("[role=status]").inner_text()
    page.locator("#payment-name").fill("Cash at pickup")
    with page.expect_navigation():
        page.get_by_role("button", name="Add this way to pay").click()
    visit.check("settings ways to deliver and to pay added")
    [ship] = shop.subs().get(f"{shop.base}/shipping-methods")["items"]
    [pay] = shop.subs().get(f"{shop.base}/payment-methods")["items"]
    assert (ship["name"], ship["pickup"], ship["fee_flat"], ship["fee_percent_bp"]) == ("Saturday pickup", True, 150, 0)
    assert (pay["name"], pay["kind"], pay["fee_flat"]) == ("Cash at pickup", "cash", 0)
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/settings")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove Saturday pickup").click()
    assert "The method is removed." in page.locator("[role=status]").inner_text()
    assert shop.subs().get(f"{shop.base}/shipping-methods")["items"] == []


def test_a_stale_form_says_so_in_french_shows_the_settings_as_they_are_now_and_overwrites_nothing(
        web_system, visit, manager_session):
    shop = web_system.platform.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr",
                                           allow_customer_skip=False)
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/settings")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Réglages"
    visit.check("settings in french")

    shop.subs().patch(shop.base, {"allow_customer_skip": True})  # another manager, meanwhile
    page.locator("#order_reminder_hours_before_close").fill("48")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer les réglages").click()
    alert = page.locator("#stale")
    assert "Ces réglages ont été modifiés pendant que vous les changiez" in alert.inner_text()
    assert page.get_by_label("Les clients peuvent eux-mêmes sauter des livraisons").is_checked()
    assert page.locator("#order_reminder_hours_before_close").input_value() == ""
    visit.check("settings stale in french")
    now = settings_of(shop)
    assert now["allow_customer_skip"] is True and now["order_reminder_hours_before_close"] is None

    page.locator("#order_reminder_hours_before_close").fill("48")
    page.locator("#locale").select_option("en")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer les réglages").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("[role=status]").inner_text() == "The settings are saved."
    visit.check("settings saved now in english")
    now = settings_of(shop)
    assert now["order_reminder_hours_before_close"] == 48 and now["locale"] == "en"
    assert now["allow_customer_skip"] is True


def test_the_benchs_console_part_measures_each_page_the_app_has_as_a_signed_in_manager_and_skips_the_others(
        web_system, capsys):
    import argparse
    import sys

    from devstack.stack import repo_root

    sys.path.insert(0, str(repo_root()))
    try:
        from bench.report import Report
        from bench.web import console_pages
    finally:
        sys.path.remove(str(repo_root()))
    p = web_system.platform
    shop = p.create_shop(name=f"Bench {uuid.uuid4().hex[:4]}", locale="en")
    customer = shop.customer("Camille", "Durand")
    now = p.now()
    cycle = shop.order_cycle("Bench week", now - timedelta(hours=1), now + timedelta(days=2))  # open, as the bench's
    world = {"shop": shop, "customer": customer, "cycle_id": cycle["id"], "subscriptions": 1}
    report = Report()
    console_pages(web_system.stack, report, argparse.Namespace(web_requests=3), world)
    rows = {r["metric"]: r for r in report.rows if r["section"] == "web"}
    settings = rows.pop("console settings: p95")
    assert settings["unit"] == "ms" and settings["value"] > 0 and "HTTP 200" in settings["note"]
    from web_app.app import create_app  # the pages the app has now: each measured, the others skipped and said so
    from web_app.config import SERVICES, WebSettings

    app = create_app(WebSettings(service_urls={n: "http://127.0.0.1:9" for n in SERVICES}, public_url="http://x",
                                 secret_key="t" * 40, cookie_secure=False))
    printed = capsys.readouterr().out
    for endpoint, name in (("manage_subscriptions.index", "console subscriptions list: p95"),
                           ("manage_orders.index", "console orders of the cycle: p95")):
        if endpoint in app.view_functions:
            assert name in rows
        else:
            assert name not in rows and f"console page {name[8:-5]}: skipped" in printed
