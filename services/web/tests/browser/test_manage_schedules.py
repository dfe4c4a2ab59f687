"""The console's schedules and order cycles pages in a real browser on a phone-sized screen against the real stack:
a manager creates a schedule from a weekly season (refused first with nothing in it), finds its cycles in the
shop's time zone, removes one and adds a single one; deleting a cycle that joined a schedule meanwhile is refused by
its button, naming the schedule. In French: a stale rename shows the schedule as it is now, a season past the
years is refused by its field, and deleting a schedule a subscription took meanwhile is refused with the rule.
Every state passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.scenario import ApiError
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")


def words(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def fill_season(page: Any, prefix: str, start: str, count: int) -> None:
    page.locator(f"#{prefix}-opens_weekday").select_option("tuesday")
    page.locator(f"#{prefix}-opens_time").fill("09:00")
    page.locator(f"#{prefix}-closes_weekday").select_option("friday")
    page.locator(f"#{prefix}-closes_time").fill("17:00")
    page.locator(f"#{prefix}-start_date").fill(start)
    page.locator(f"#{prefix}-count").fill(str(count))


def cycle_ids(page: Any) -> list[str]:
    return [i.removeprefix("cycle-") for i in page.locator("#cycles tbody tr").evaluate_all(
        "rows => rows.map(r => r.id)")]


def test_a_manager_creates_a_schedule_from_a_season_removes_and_adds_cycles_and_cannot_delete_one_in_a_schedule(
        web_system, visit, manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale="en", timezone="Europe/Paris")
    manager_session(shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/schedules")
    assert page.locator("h1").inner_text() == "Schedules and order cycles"
    assert "No schedule yet" in page.locator("#no-schedules").inner_text()
    visit.check("no schedule yet")

    page.locator("#schedule-name").fill("Weekly box")
    press(page, "Create the schedule")
    assert "Choose at least one order cycle, or describe a weekly season." in words(page.locator(".error-summary"))
    assert page.locator("#schedule-name").input_value() == "Weekly box"
    visit.check("a schedule without cycles refused")

    start = (p.now() + timedelta(days=7)).astimezone(PARIS).date()
    fill_season(page, "schedule", start.isoformat(), 4)
    press(page, "Create the schedule")
    assert page.locator("h1").inner_text() == "Schedule Weekly box"
    assert "The schedule Weekly box is created. Order cycles in it: 4." in words(page.locator(".notice").first)
    rows = page.locator("#cycles tbody tr")
    assert rows.count() == 4
    first = words(rows.first)
    assert "Tue," in first and "9:00 AM" in first and "Fri," in first and "5:00 PM" in first  # Paris time
    visit.check("schedule created from a season")

    ids = cycle_ids(page)
    last = ids[-1]
    with page.expect_navigation():
        page.locator(f"#remove-{last}").click()
    assert "Orders already placed for it stay." in words(page.locator(".notice").first)
    assert cycle_ids(page) == ids[:-1]

    day = start + timedelta(days=40)
    page.locator("#cycle-name").fill("Christmas market")
    page.locator("#cycle-opens_at").fill(f"{day.isoformat()}T08:00")
    page.locator("#cycle-closes_at").fill(f"{(day + timedelta(days=2)).isoformat()}T18:30")
    press(page, "Add the order cycle")
    assert "The order cycle Christmas market is added." in words(page.locator(".notice").first)
    added = page.locator("#cycles tbody tr", has_text="Christmas market")
    assert "8:00 AM" in words(added) and "6:30 PM" in words(added)
    visit.check("a cycle removed and one added")

    page.goto(f"{web_system.url}/manage/shops/{shop.id}/schedules")
    lone = page.locator(f"#cycle-{last}")
    assert "None" in words(lone) and lone.get_by_role("button").count() == 1
    assert "In a schedule: remove it from the schedule to delete it." in words(page.locator(f"#cycle-{ids[0]}"))
    visit.check("the shop's cycles")
    schedule_id = shop.subs().get(f"{shop.base}/schedules")["items"][0]["id"]
    shop.subs().patch(f"{shop.base}/schedules/{schedule_id}", {"add": [last]})  # meanwhile, elsewhere
    with page.expect_navigation():
        lone.get_by_role("button").click()
    refusal = words(page.locator(f"#delete-{last}-form"))
    assert refusal == ("Error: This order cycle is in the schedule Weekly box, so it cannot be deleted: remove it "
                       "from the schedule first.")
    assert "Nothing was changed." in words(page.locator(".error-summary"))
    assert shop.subs().get(f"{shop.base}/order-cycles/{last}")["schedule_ids"] == [schedule_id]
    visit.check("deleting a cycle in a schedule refused")


def test_in_french_a_stale_rename_shows_the_schedule_as_it_is_and_a_schedule_taken_meanwhile_is_not_deleted(
        web_system, visit, manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"La Ruche {uuid.uuid4().hex[:4]}", locale="fr", timezone="Europe/Paris")
    now = p.now()
    cycle = shop.order_cycle("Semaine 1", now + timedelta(days=1), now + timedelta(days=3))
    schedule = shop.schedule("Panier", [cycle["id"]])
    manager_session(shop)
    page = visit.page
    url = f"{web_system.url}/manage/shops/{shop.id}/schedules/{schedule['id']}"
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Calendrier Panier"
    assert "Le dernier cycle de commande d'un calendrier ne peut pas être retiré" in words(page.locator("#cycles"))
    visit.check("un calendrier d'un cycle")

    shop.subs().patch(f"{shop.base}/schedules/{schedule['id']}", {"name": "Panier hebdo"})  # meanwhile
    page.locator("#rename-name").fill("Panier du mardi")
    press(page, "Renommer le calendrier")
    assert "Ce calendrier a changé depuis que vous avez ouvert la page" in words(page.locator("#rename-form"))
    assert page.locator("h1").inner_text() == "Calendrier Panier hebdo"
    assert page.locator("#rename-name").input_value() == "Panier du mardi"
    visit.check("renommage refusé, page périmée")
    press(page, "Renommer le calendrier")
    assert page.locator("h1").inner_text() == "Calendrier Panier du mardi"

    fill_season(page, "season", "2199-12-10", 4)
    press(page, "Créer les cycles de commande")
    error = words(page.locator("#season-count-error"))
    assert "au plus" in error and "tiennent avant l'année 2200" in error
    assert page.locator(".error-summary a[href='#season-count']").count() == 1
    visit.check("saison refusée par son champ")

    ship, cash = shop.shipping_method("Livraison"), shop.payment_method("cash")
    shop.variant("box", "Panier de légumes", 2000, on_hand=100)
    customer = shop.customer("Anne", "Martin")

    def subscribe() -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule["id"], ship["id"], cash["id"], {"box": 1}, begins_at=now)
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    page.goto(url)
    assert page.get_by_role("button", name="Supprimer le calendrier").count() == 1
    wait_for(subscribe, 30, "the catalog to reach subscription-service")  # meanwhile, a subscription takes it
    press(page, "Supprimer le calendrier")
    assert words(page.locator("#delete-form")) == (
        "Erreur : Ce calendrier est utilisé par des abonnements (1, les annulés comptent aussi) : il ne peut pas "
        "être supprimé.")
    assert shop.subs().get(f"{shop.base}/schedules/{schedule['id']}")["name"] == "Panier du mardi"
    visit.check("suppression refusée")
    page.goto(url)
    assert "1 abonnement utilise ce calendrier" in words(page.locator("#delete-why"))
