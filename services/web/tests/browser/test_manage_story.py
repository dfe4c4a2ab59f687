"""The subscriptions guide's story, walked as a new shop's first manager would, in a real browser on a phone-sized
screen against the real stack: the manager signs in by the link emailed to them, follows the set-up checklist to
the settings page (a way to deliver, a way to pay by card, orders for subscriptions on), adds two customers on the
customers page (inviting one; the other asks the shop's sign-in page for a link), each customer saves a card and
gives permission on their own pages (Ann's card is charged, Bob's 4000000000000341 is declined at charge), the
manager creates a schedule from a weekly season and subscribes each customer on the subscriptions page, the cycle
opens (the test clock), the manager changes an order, the cycle closes, the manager finds Ann's charge paid and
Bob's payment failed, charges it again, then downloads the packing list and the producer totals, whose numbers are
the orders'. Every console page passes axe-core and is photographed at 375 px."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.testing import emailed_sign_in_token, last_message_id, rows, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")
CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"


def words(locator: Any) -> str:
    return " ".join(locator.inner_text().replace("\u202f", " ").replace("\xa0", " ").split())


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def checklist(page: Any) -> dict[str, str]:
    return {li.get_attribute("id").removeprefix("check-"): li.locator(".state").inner_text()
            for li in page.locator(".checklist li").all()}


def add_customer(page: Any, first: str, last: str, email: str, *, invite: bool) -> str:
    """On the customers page, as the manager: the new customer's form filled and sent; returns their id."""
    with page.expect_navigation():
        page.get_by_role("button", name="Add a customer").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Address line 1").fill("3 rue Neuve")
    page.get_by_label("Postcode").fill("69001")
    page.get_by_label("Town or city").fill("Lyon")
    page.get_by_label("Country").fill("fr")
    if invite:
        page.get_by_label("Email them a sign-in link now").check()
    press(page, "Add the customer")
    assert page.locator("h1").inner_text() == f"{first} {last}"
    return page.url.rsplit("/", 1)[1]


def enter_card(page: Any, number: str) -> None:
    """localstripe's card element: plain inputs named by their placeholders (the real one is Stripe's frame)."""
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill("12")
    element.locator("input[placeholder=exp_year]").fill("34")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("75001")


def customer_saves_a_card(web_system, chromium, shop_id: str, email: str, number: str, token: str | None) -> None:
    """What the customer does in their own browser: opens the emailed link (``token``: the manager's invitation;
    without it they ask the shop's sign-in page for one), saves a card on their payment page and gives the shop
    permission to charge it."""
    context = chromium.new_context(viewport={"width": 375, "height": 812}, locale="en-GB")
    try:
        page = context.new_page()
        if token is None:
            page.goto(f"{web_system.url}/shops/{shop_id}/sign-in")
            before = last_message_id(web_system.smtp_api)
            page.get_by_label("Email address").fill(email)
            press(page, "Email me a sign-in link")
            token = emailed_sign_in_token(web_system.smtp_api, email, before)
        page.goto(f"{web_system.url}/sign-in/{token}")
        press(page, "Sign in")
        page.goto(f"{web_system.url}/shops/{shop_id}/payment")
        press(page, "Add a card")
        enter_card(page, number)
        press(page, "Save this card")
        assert page.get_by_role("status").inner_text() == "Your card is saved."
        page.get_by_label("I agree to the text above").check()
        press(page, "Give permission")
        assert page.get_by_role("status").inner_text() == "You gave the shop permission to charge your card."
    finally:
        context.close()


def set_up_the_ways_to_deliver_and_pay_and_turn_orders_on(page: Any) -> None:
    """On the settings page, as the manager: a delivery round, card payment, and orders for subscriptions on."""
    page.locator("#shipping-name").fill("Thursday round")
    page.locator("#shipping-fee").fill("5.00")
    press(page, "Add this way to deliver")
    assert "Thursday round is added." in words(page.get_by_role("status"))
    page.locator("#payment-name").fill("Card")
    page.get_by_label("Card, charged by the platform when the order cycle closes").check()
    press(page, "Add this way to pay")
    page.get_by_label("On: when an order cycle opens, an order is placed for every active subscription.").check()
    press(page, "Save the settings")
    assert words(page.get_by_role("status")) == "The settings are saved."
    assert page.get_by_text("Now on: orders are placed for subscriptions.").is_visible()


def subscribe_on_the_page(page: Any, url: str, name: str, begins_on: str, items: dict[str, int],
                          methods: dict[str, Any]) -> str:
    """On the subscriptions page, as the manager: a new subscription for the customer ``name``; returns its id."""
    page.goto(f"{url}/subscriptions")
    with page.expect_navigation():
        page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Customer's name or email").fill(name.split()[-1])
    press(page, "Search")
    with page.expect_navigation():
        page.get_by_role("link", name=f"New subscription for {name}").click()
    page.locator("#schedule_id").select_option(label="Weekly box")
    for n, (variant, quantity) in enumerate(items.items()):
        page.locator(f"#lines-{n}-variant_id").select_option(variant)
        page.locator(f"#lines-{n}-quantity").fill(str(quantity))
    page.locator("#shipping_method_id").select_option(methods["ship"]["id"])
    page.locator("#payment_method_id").select_option(methods["card"]["id"])
    page.locator("#begins_on").fill(begins_on)
    press(page, "Create the subscription")
    assert "The subscription is saved." in words(page.get_by_role("status"))
    return page.url.rsplit("/", 1)[1]


def download(page: Any, link: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    table = list(csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"))))
    return [dict(zip(table[0], r, strict=True)) for r in table[1:]]


def cents(text: str) -> int:
    units, _, frac = text.partition(".")
    return int(units) * 100 + int(frac or 0)


def test_a_new_shops_manager_walks_the_guide_from_the_checklist_to_the_packing_list(
        web_system, visit, chromium, manager_session):
    p = web_system.platform
    shop = p.create_shop(name=f"Bee Hub {uuid.uuid4().hex[:4]}", locale="en", timezone="Europe/Paris",
                         subscriptions_enabled=False)
    p.catalog.variant(shop.id, "box", "Vegetable box", unit_price=2000, currency="EUR", on_hand=100,
                      supplier="Ferme du Pré")
    p.catalog.variant(shop.id, "eggs", "Eggs x6", unit_price=350, currency="EUR", on_hand=100,
                      supplier="Poulailler Roux")
    p.catalog.flush()

    # the first manager signs in by the link emailed to them and finds the set-up checklist, nothing done
    manager_session(shop)
    page = visit.page
    url = f"{web_system.url}/manage/shops/{shop.id}"
    assert page.url == url
    assert checklist(page) == dict.fromkeys(
        ("subscriptions_enabled", "shipping_method", "payment_method", "customers", "schedule"), "To do")
    visit.check("checklist of a new shop")

    # the settings page, from the checklist: a delivery round, card payment, orders for subscriptions on
    with page.expect_navigation():
        page.get_by_role("link", name="Add a shipping method: delivery or pickup").click()
    assert page.url.startswith(f"{url}/settings")
    visit.check("settings of a new shop")
    set_up_the_ways_to_deliver_and_pay_and_turn_orders_on(page)
    visit.check("settings with ways to deliver and pay, orders on")
    [ship] = shop.subs().get(f"{shop.base}/shipping-methods")["items"]
    [card] = shop.subs().get(f"{shop.base}/payment-methods")["items"]
    assert (ship["fee_flat"], card["kind"]) == (500, "stripe")
    assert shop.subs().get(shop.base)["subscriptions_enabled"] is True
    methods = {"ship": ship, "card": card}
    page.goto(url)
    assert [name for name, state in checklist(page).items() if state == "To do"] == ["customers", "schedule"]

    # customers: Ann added and invited at once, Bob added; each saves a card and gives permission themselves
    page.goto(f"{url}/customers")
    visit.check("no customers yet")
    ann_email = f"ann.martin.{uuid.uuid4().hex[:6]}@example.org"
    bob_email = f"bob.leroy.{uuid.uuid4().hex[:6]}@example.org"
    before = last_message_id(web_system.smtp_api)
    add_customer(page, "Ann", "Martin", ann_email, invite=True)
    assert words(page.locator(".notice").nth(1)).startswith(f"A sign-in link is on its way to {ann_email}.")
    visit.check("ann added and invited")
    invitation = emailed_sign_in_token(web_system.smtp_api, ann_email, before)
    page.goto(f"{url}/customers")
    add_customer(page, "Bob", "Leroy", bob_email, invite=False)
    customer_saves_a_card(web_system, chromium, shop.id, ann_email, CARD_OK, invitation)
    customer_saves_a_card(web_system, chromium, shop.id, bob_email, CARD_DECLINED_AT_CHARGE, None)
    page.goto(f"{url}/customers")
    listed = {name: words(page.locator("#customers tbody tr").filter(has_text=name))
              for name in ("Martin, Ann", "Leroy, Bob")}
    assert "Visa ending in 4242" in listed["Martin, Ann"] and "Given" in listed["Martin, Ann"]
    assert "Visa ending in 0341" in listed["Leroy, Bob"] and "Given" in listed["Leroy, Bob"]
    visit.check("customers with their cards")

    # a schedule from a weekly season: two cycles, Tuesday 09:00 to Friday 17:00, Paris time
    page.goto(f"{url}/schedules")
    page.locator("#schedule-name").fill("Weekly box")
    page.locator("#schedule-opens_weekday").select_option("tuesday")
    page.locator("#schedule-opens_time").fill("09:00")
    page.locator("#schedule-closes_weekday").select_option("friday")
    page.locator("#schedule-closes_time").fill("17:00")
    page.locator("#schedule-start_date").fill((p.now() + timedelta(days=1)).astimezone(PARIS).date().isoformat())
    page.locator("#schedule-count").fill("2")
    press(page, "Create the schedule")
    assert "The schedule Weekly box is created. Order cycles in it: 2." in words(page.locator(".notice").first)
    visit.check("schedule created from a season")
    first_id = page.locator("#cycles tbody tr").first.get_attribute("id").removeprefix("cycle-")
    cycle = shop.subs().get(f"{shop.base}/order-cycles/{first_id}")

    page.goto(url)
    assert set(checklist(page).values()) == {"Done"}
    assert "Your shop is ready" in words(page.locator("main"))
    visit.check("checklist of a ready shop")

    stack = web_system.stack
    wait_for(lambda: {r[0] for r in rows(stack.db_url("subscriptions"), "SELECT token_id FROM api_tokens")}
             <= {r[0] for r in rows(stack.db_url("orders"), "SELECT token_id FROM api_tokens")}, 60,
             "order-service to know the manager's session")
    # the subscriptions, on the subscriptions page, once order-service lists the catalog for its product picker
    wait_for(lambda: len(shop.orders_api().get(f"{shop.base}/variants")["items"]) == 2, 60,
             "the catalog to reach order-service")
    today = p.now().astimezone(PARIS).date().isoformat()
    subs = {"Ann": subscribe_on_the_page(page, url, "Ann Martin", today, {"box": 1, "eggs": 2}, methods),
            "Bob": subscribe_on_the_page(page, url, "Bob Leroy", today, {"box": 1}, methods)}
    visit.check("a subscription created")
    assert [(i["variant_id"], i["quantity"]) for i in shop.subs().get(
        f"{shop.base}/subscriptions/{subs['Ann']}")["items"]] == [("box", 1), ("eggs", 2)]

    # the cycle opens: the orders are placed; the manager gives Ann a third box of eggs
    p.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
    placed = {o["subscription_id"]: o for o in shop.wait_orders(2, order_cycle_id=cycle["id"])}
    ann_order = placed[subs["Ann"]]
    page.goto(f"{url}/orders")
    assert page.get_by_label("Order cycle").input_value() == cycle["id"]
    assert words(page.locator(".state-filter")).startswith("All (2) Placed (2)")
    visit.check("orders of the open cycle")
    with page.expect_navigation():
        page.get_by_role("link", name=ann_order["number"]).click()
    assert page.locator("#order-total").inner_text() == "€32.00"  # 20 + 2 x 3.50 + 5 delivery
    page.get_by_label("Quantity of Eggs x6").fill("3")
    press(page, "Change the quantity (Eggs x6)")
    assert page.get_by_role("status").inner_text() == "The quantity is changed."
    assert page.locator("#order-total").inner_text() == "€35.50"
    visit.check("an order changed")

    # the cycle closes: Ann's card is charged, Bob's bank declines
    p.advance_to(datetime.fromisoformat(cycle["closes_at"]) + timedelta(minutes=1))
    paid = wait_for(lambda: next((x for x in shop.payments() if x["status"] == "succeeded"), None), 60,
                    "Ann's payment")
    failed = wait_for(lambda: next((x for x in shop.payments() if x["status"] == "failed"), None), 60,
                      "Bob's payment to fail")
    assert paid["amount"] == 3550 and failed["amount"] == 2500

    page.goto(f"{url}/payments/")
    item = page.locator(f"#payment-{failed['payment_id']}")
    assert "Failed" in words(item) and "€25.00" in words(item) and bob_email in words(item)
    assert "The customer's bank declined the payment." in words(item)
    visit.check("a failed payment needing attention")
    with page.expect_navigation():
        page.get_by_role("link", name="Paid and refunded").click()
    assert "€35.50" in words(page.locator(f"#payment-{paid['payment_id']}"))
    visit.check("the paid charge")

    page.goto(f"{url}/payments/")
    with page.expect_navigation():
        page.locator(f"#payment-{failed['payment_id']}").get_by_role("link").click()
    press(page, "Retry now")
    assert "The card is being charged again" in words(page.get_by_role("status"))
    visit.check("a failed payment charged again")
    again = wait_for(lambda: (lambda x: x if x["attempts"] == 2 and x["status"] == "failed" else None)(
        shop.billing().get(f"{shop.base}/payments/{failed['payment_id']}")), 60, "the second charge")
    assert again["failure"]["code"] == "card_declined"

    # the reports of the closed cycle: their numbers are the orders order-service holds
    orders = [shop.order(o["order_id"]) for o in placed.values()]
    allocated: Counter = Counter()
    amounts: Counter = Counter()
    for order in orders:
        for line in order["lines"]:
            allocated[line["name"]] += line["quantity"]
            amounts[line["name"]] += line["total"]
    assert allocated == {"Vegetable box": 2, "Eggs x6": 3}
    page.goto(f"{url}/reports")
    visit.check("reports")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Packing list ({cycle['name']})").click()
    assert page.locator(".box").count() == 2
    visit.check("packing list")
    packing = download(page, "Download the packing list (CSV)")
    packed: Counter = Counter()
    for row in packing:
        packed[row["Product"]] += int(row["Quantity"])
    assert packed == allocated
    assert {r["Last name"] for r in packing} == {"Martin", "Leroy"}

    with page.expect_navigation():
        page.get_by_role("link", name="Products and producers").click()
    visit.check("products and producers")
    producers = download(page, "Download the producer totals (CSV)")
    assert sorted((r["Supplier"], int(r["Quantity"]), cents(r["Amount"])) for r in producers) == [
        ("Ferme du Pré", 2, amounts["Vegetable box"]), ("Poulailler Roux", 3, amounts["Eggs x6"])]
    assert amounts == {"Vegetable box": 4000, "Eggs x6": 1050}
