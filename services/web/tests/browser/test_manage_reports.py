"""The console's reports in a real browser on a phone-sized screen against the real stack: a cycle open now with
orders the platform placed (one delivered, one picked up, eggs short so one order got fewer than asked); the manager
opens the reports, finds the cycle, reads its packing list, its products and producers and its orders and payments,
and downloads each file; the files' numbers are checked against the orders order-service holds. In English and in
French; every page passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from devstack.scenario import ApiError
from devstack.testing import rows, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def cycle_with_orders(web_system, *, locale: str) -> dict[str, Any]:
    """A shop with a delivery round and a pickup point, a cycle open now, Ann (delivered: a box and 2 eggs) and
    Bob (picks up: a box and 2 eggs, but only 3 eggs are in stock: he gets 1). The boxes come from Ferme du Pré;
    the catalog does not say who lays the eggs."""
    p = web_system.platform
    shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=locale, timezone="Europe/Paris")
    delivery = shop.shipping_method("Thursday round", fee_flat=500)
    pickup = shop.shipping_method("Farm pickup", fee_flat=0, pickup=True)
    cash = shop.payment_method("cash")
    p.catalog.variant(shop.id, "box", "Vegetable box", unit_price=2000, currency="EUR", on_hand=100,
                      supplier="Ferme du Pré")
    p.catalog.variant(shop.id, "eggs", "Eggs x6", unit_price=350, currency="EUR", on_hand=3)  # no producer said
    p.catalog.flush()
    now = p.now()
    cycle = shop.order_cycle("Week 1", now - timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Weekly box", [cycle["id"]])
    ann, bob = shop.customer("Ann", "Martin"), shop.customer("Bob", "Leroy")

    def subscribe(customer: Any, method: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule["id"], method["id"], cash["id"], {"box": 1, "eggs": 2},
                                  begins_at=now - timedelta(hours=1))
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    wait_for(lambda: subscribe(ann, delivery), 30, "the catalog to reach subscription-service")
    # each mid-cycle order takes its stock as it is placed: Ann's first. Subscribed at once, Bob's due could be
    # placed before hers (a CI run gave Bob 2 eggs), and the story below would be the other way round
    shop.wait_orders(1)
    subscribe(bob, pickup)
    orders = shop.wait_orders(2)
    return {"shop": shop, "cycle": cycle, "orders": [shop.order(o["order_id"]) for o in orders]}


def signed_in(web_system, manager_session, shop: Any) -> Any:
    """The manager signed in, once order-service knows every session subscription-service issued (identity.events
    reach it a moment later: under load, longer than the app's first-minute wait)."""
    manager = manager_session(shop)
    stack = web_system.stack

    def known() -> bool:
        issued = {r[0] for r in rows(stack.db_url("subscriptions"), "SELECT token_id FROM api_tokens")}
        return issued <= {r[0] for r in rows(stack.db_url("orders"), "SELECT token_id FROM api_tokens")}

    wait_for(known, 60, "order-service to know the manager's session")
    return manager


def download(page: Any, link: str) -> list[list[str]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    data = info.value.path().read_bytes()
    assert data.startswith("\ufeff".encode())  # UTF-8 with its byte order mark
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def records(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def cents(text: str) -> int:
    units, _, frac = text.partition(".")
    return int(units) * 100 + int(frac or 0)


def test_a_manager_reads_and_downloads_a_cycles_reports_whose_numbers_are_the_orders(web_system, visit,
                                                                                     manager_session):
    world = cycle_with_orders(web_system, locale="en")
    shop, cycle, orders = world["shop"], world["cycle"], world["orders"]
    allocated = Counter()
    for order in orders:
        for line in order["lines"]:
            allocated[line["name"]] += line["quantity"]
    assert allocated["Eggs x6"] == 3  # Ann 2, Bob the 1 left
    signed_in(web_system, manager_session, shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/reports")
    assert page.locator("h1").inner_text() == "Reports"
    assert page.locator(f"#cycle-{cycle['id']}").inner_text() == "Week 1"
    visit.check("reports of the shop")

    with page.expect_navigation():
        page.get_by_role("link", name="Packing list (Week 1)").click()
    boxes = page.locator(".box")
    assert boxes.count() == 2
    bob, ann = boxes.nth(0), boxes.nth(1)  # by shipping method: "Farm pickup" before "Thursday round"
    assert "Leroy Bob" in bob.locator("h2").inner_text() and "Martin Ann" in ann.locator("h2").inner_text()
    assert "Pickup: Farm pickup" in bob.inner_text() and "Delivery: Thursday round" in ann.inner_text()
    assert ann.locator(".address").count() == 1 and bob.locator(".address").count() == 0
    assert [int(q) for q in bob.locator(".qty").all_inner_texts()] == [1, 1]  # a box and the 1 egg left
    visit.check("packing list")

    packing = records(download(page, "Download the packing list (CSV)"))
    packed = Counter()
    for row in packing:
        packed[row["Product"]] += int(row["Quantity"])
    assert packed == +allocated
    assert {(r["Last name"], r["Delivery or pickup"]) for r in packing} == {("Martin", "delivery"),
                                                                          ("Leroy", "pickup")}
    assert {(r["Product"], r["Supplier"]) for r in packing} == {("Vegetable box", "Ferme du Pré"),
                                                                ("Eggs x6", "(no supplier)")}

    assert "× Vegetable box · Ferme du Pré" in " ".join(bob.inner_text().split())

    with page.expect_navigation():
        page.get_by_role("link", name="Products and producers").click()
    assert page.locator("main h2").all_inner_texts() == ["Ferme du Pré", "No producer given"]
    visit.check("products and producers")
    products = records(download(page, "Download the product totals (CSV)"))
    assert {r["Product"]: int(r["Quantity"]) for r in products} == +allocated
    assert [(r["Supplier"], r["Product"]) for r in products] == [("Ferme du Pré", "Vegetable box"),
                                                                 ("(no supplier)", "Eggs x6")]
    by_name: Counter = Counter()
    for order in orders:
        for line in order["lines"]:
            by_name[line["name"]] += line["total"]
    assert {r["Product"]: cents(r["Amount"]) for r in products} == +by_name
    producers = records(download(page, "Download the producer totals (CSV)"))
    assert [(r["Supplier"], int(r["Quantity"]), cents(r["Amount"])) for r in producers] == [
        ("Ferme du Pré", allocated["Vegetable box"], by_name["Vegetable box"]),
        ("(no supplier)", allocated["Eggs x6"], by_name["Eggs x6"])]

    with page.expect_navigation():
        page.get_by_role("link", name="Orders and payments").click()
    total = sum(o["totals"]["total"] for o in orders)
    assert page.locator(".report-totals").get_by_text(f"€{total / 100:,.2f}").count() == 1
    visit.check("orders and payments")
    table = download(page, "Download the orders and payments (CSV)")
    body, last = records(table[:-1]), dict(zip(table[0], table[-1], strict=True))
    assert sorted(r["Order"] for r in body) == sorted(o["number"] for o in orders)
    assert sum(cents(r["Total"]) for r in body) == total == cents(last["Total"])
    assert {r["Payment"] for r in body} == {"not due yet"} and last["Order"] == "Total"


def test_the_reports_speak_the_shops_french_and_its_files_too(web_system, visit, manager_session):
    world = cycle_with_orders(web_system, locale="fr")
    shop = world["shop"]
    signed_in(web_system, manager_session, shop)
    page = visit.page
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/reports")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Rapports"
    visit.check("rapports")
    with page.expect_navigation():
        page.get_by_role("link", name="Liste de préparation (Week 1)").click()
    assert "Retrait : Farm pickup" in page.locator(".box").first.inner_text()
    visit.check("liste de préparation")
    packing = download(page, "Télécharger la liste de préparation (CSV)")
    assert packing[0][:3] == ["Commande", "Nom", "Prénom"]
    assert {r[packing[0].index("Livraison ou retrait")] for r in packing[1:]} == {"livraison", "retrait"}
    with page.expect_navigation():
        page.get_by_role("link", name="Produits et producteurs").click()
    visit.check("produits et producteurs")
    with page.expect_navigation():
        page.get_by_role("link", name="Commandes et paiements").click()
    assert "Pas encore dû" in page.locator("main").inner_text()
    visit.check("commandes et paiements")
    orders = download(page, "Télécharger les commandes et paiements (CSV)")
    assert orders[0][:2] == ["Commande", "État"] and orders[-1][0] == "Total"
