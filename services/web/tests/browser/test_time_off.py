"""A customer's time off, in a real browser on a phone-sized screen against the real stack: signed in by the emailed
link, they skip one delivery and bring it back, take holidays over two deliveries (refused first by the field, with
nothing changed), and pause until a day; the test clock then passes that day and the subscription is active again
by itself, its next delivery's order placed. Every state of the page passes axe-core and is photographed."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")


def local_day(at: datetime) -> date:
    return at.astimezone(PARIS).date()


@pytest.fixture
def subscribed(web_system, subscribe) -> Any:
    """``subscribed(weeks, locale="en")``: a shop (customers may skip) with a weekly box, a customer subscribed to it
    paying cash, ``weeks`` cycles; the pages speak the shop's ``locale``."""

    def make(weeks: int, locale: str = "en") -> dict[str, Any]:
        p = web_system.platform
        shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=locale, timezone="Europe/Paris")
        ship = shop.shipping_method("Home delivery", fee_flat=500)
        cash = shop.payment_method("cash")
        shop.variant("box", "Vegetable box", 2000, on_hand=100)
        now = p.now()
        cycles = [shop.order_cycle(f"Week {n}", now + timedelta(days=7 * n - 6), now + timedelta(days=7 * n - 4))
                  for n in range(1, weeks + 1)]
        schedule = shop.schedule("Weekly box", [c["id"] for c in cycles])
        customer = shop.customer("Ann", "Martin")
        sub = subscribe(shop, customer, schedule["id"], ship["id"], cash["id"], {"box": 1}, now)
        return {"shop": shop, "customer": customer, "subscription": sub, "cycles": cycles, "now": now}

    return make


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def delivery_states(page: Any) -> dict[str, str]:
    """Each delivery's name and the state shown beside it."""
    return {li.locator("strong").inner_text(): li.locator(".state").inner_text()
            for li in page.locator(".deliveries li").all()}


def test_a_customer_skips_a_delivery_then_takes_holidays_over_two_deliveries_refused_first_by_the_field(
        web_system, visit, subscribed, sign_in_customer):
    world = subscribed(weeks=4)
    shop, sub, cycles = world["shop"], world["subscription"], world["cycles"]
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    assert set(delivery_states(page).values()) == {"Upcoming"}
    visit.check("time off offered")

    press(page, "Skip this delivery (Week 1)")
    assert page.get_by_role("status").inner_text() == "That delivery is skipped."
    assert delivery_states(page)["Week 1"] == "Skipped"
    visit.check("one delivery skipped")
    press(page, "Deliver it after all (Week 1)")
    assert delivery_states(page)["Week 1"] == "Upcoming"

    second, third = (local_day(datetime.fromisoformat(c["closes_at"])) for c in cycles[1:3])
    page.get_by_label("First day away").fill(third.isoformat())
    page.get_by_label("Last day away").fill(second.isoformat())
    press(page, "Skip these deliveries")
    last_error = page.locator(f"#holiday-{sub['id']}-last_day-error")
    assert "The last day must be on or after the first day" in last_error.inner_text()
    assert page.get_by_label("First day away").input_value() == third.isoformat()
    assert page.title().startswith("Error:")
    visit.check("holidays refused by the form")

    lonely = second - timedelta(days=2)  # no delivery closes on that day: the API refuses it
    page.get_by_label("First day away").fill(lonely.isoformat())
    page.get_by_label("Last day away").fill(lonely.isoformat())
    press(page, "Skip these deliveries")
    first_error = page.locator(f"#holiday-{sub['id']}-first_day-error")
    assert "None of your deliveries falls between these dates" in first_error.inner_text()
    assert page.locator(f".error-summary a[href='#holiday-{sub['id']}-first_day']").count() == 1
    assert set(delivery_states(page).values()) == {"Upcoming"}
    visit.check("holidays refused by the api")

    page.get_by_label("First day away").fill(second.isoformat())
    page.get_by_label("Last day away").fill(third.isoformat())
    press(page, "Skip these deliveries")
    assert "Holidays saved: 2 deliveries from" in page.get_by_role("status").inner_text()
    assert delivery_states(page) == {"Week 1": "Upcoming", "Week 2": "Skipped", "Week 3": "Skipped",
                                     "Week 4": "Upcoming"}
    visit.check("holidays taken")
    history = shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}/history")["items"]
    skips = [h for h in history if h["event_type"] == "OccurrenceSkipped" and h["data"].get("holiday")]
    assert [h["data"]["order_cycle_id"] for h in skips] == [cycles[1]["id"], cycles[2]["id"]]
    assert {h["actor"]["type"] for h in skips} == {"customer"}


def test_a_customer_pauses_until_a_day_and_when_the_clock_passes_it_the_subscription_is_active_and_its_order_placed(
        web_system, visit, subscribed, sign_in_customer):
    world = subscribed(weeks=2)
    shop, sub, cycles, now = world["shop"], world["subscription"], world["cycles"], world["now"]
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    until = page.get_by_label("Start my deliveries again on")

    until.fill(local_day(now).isoformat())  # today: the API wants a later day
    press(page, "Pause until this day")
    assert "Choose a date after today" in page.locator(f"#pause-{sub['id']}-until-error").inner_text()
    assert page.get_by_role("article").locator(".state").first.inner_text() == "Active"
    visit.check("pause refused")

    back_on = local_day(now + timedelta(days=7))  # after the first cycle opens, before the second
    page.get_by_label("Start my deliveries again on").fill(back_on.isoformat())
    press(page, "Pause until this day")
    assert "Your deliveries start again by themselves on" in page.get_by_role("status").inner_text()
    assert page.get_by_role("article").locator(".state").first.inner_text() == "Paused"
    assert set(delivery_states(page).values()) == {"Paused"}
    visit.check("paused until a day")

    web_system.platform.advance_to(now + timedelta(days=8, hours=1))  # past the day, and the second cycle's open

    url = f"{shop.base}/subscriptions/{sub['id']}"
    wait_for(lambda: shop.subs().get(url)["state"] == "active", 60, "the subscription to start again by itself")
    [order] = shop.wait_orders(1, subscription_id=sub["id"])
    assert order["order_cycle_id"] == cycles[1]["id"]  # the first cycle opened while it was paused
    last = shop.subs().get(f"{url}/history")["items"][-1]
    assert last["event_type"] == "SubscriptionUnpaused" and last["data"]["automatic"] is True
    assert last["actor"]["type"] == "system"
    page.reload()
    assert page.get_by_role("article").locator(".state").first.inner_text() == "Active"
    wait_for(lambda: page.reload() or delivery_states(page).get("Week 2") == "Order placed", 60,
             "the page to show the placed order")
    visit.check("active again by itself")


def test_a_french_customer_types_a_day_as_french_dates_are_written_and_a_day_that_does_not_exist_is_refused_by_it(
        web_system, visit, subscribed, sign_in_customer):
    world = subscribed(weeks=2, locale="fr")
    shop, sub, now = world["shop"], world["subscription"], world["now"]
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    until = page.get_by_label("Reprendre mes livraisons le")
    assert until.get_attribute("type") == "text"  # not the browser's date box, which speaks the browser's language
    year = local_day(now).year + 1
    assert re.fullmatch(r"Par exemple, 31/12/\d{4}", page.locator(f"#pause-{sub['id']}-until-hint").inner_text())

    until.fill(f"31/02/{year}")
    press(page, "Mettre en pause jusqu'à ce jour")
    error = page.locator(f"#pause-{sub['id']}-until-error").inner_text()
    assert "Saisissez une date qui existe, par exemple 31/12/" in error
    assert page.get_by_label("Reprendre mes livraisons le").input_value() == f"31/02/{year}"  # as typed
    url = f"{shop.base}/subscriptions/{sub['id']}"
    assert shop.subs().get(url)["state"] == "active"
    visit.check("une date qui n'existe pas refusée par son champ")

    back_on = local_day(now + timedelta(days=9))
    page.get_by_label("Reprendre mes livraisons le").fill(back_on.strftime("%d/%m/%Y"))
    press(page, "Mettre en pause jusqu'à ce jour")
    saved = shop.subs().get(url)
    assert saved["state"] == "paused" and saved["resumes_on"] == back_on.isoformat()
    assert "Vos livraisons reprennent d'elles-mêmes le" in page.get_by_role("status").inner_text()
    visit.check("en pause jusqu'à un jour tapé en français")
