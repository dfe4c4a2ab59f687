"""The whole recurring-order flow, end to end: the four services as processes under gunicorn with their workers,
on real Kafka, PostgreSQL, localstripe and the SMTP sink, driven only through the public REST APIs, the catalog
topic and the test clock (issue 7's stories)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.scenario import CARD_DECLINED_AT_CHARGE, CARD_NEEDS_3DS, CARD_OK, ApiError, Shop
from devstack.testing import wait_for, wait_for_answer

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


# -- helpers -------------------------------------------------------------------------------------------------


def orders_by_customer(shop: Shop, cycle_id: str, count: int, statuses: tuple[str, ...] | None = None,
                       timeout: float = 60) -> dict[str, dict[str, Any]]:
    def ready():
        orders = shop.orders(order_cycle_id=cycle_id)
        if len(orders) < count or (statuses and any(o["status"] not in statuses for o in orders)):
            return None
        return {o["customer_id"]: o for o in orders}

    return wait_for_answer(ready, timeout, f"{count} orders in {statuses or 'any'} state")


def payment_of(shop: Shop, order_id: str) -> dict[str, Any] | None:
    found = shop.billing().get(f"{shop.base}/orders/{order_id}/payments")
    items = found["items"] if isinstance(found, dict) else found
    return items[0] if items else None


def wait_payment(shop: Shop, order_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for_answer(lambda: (lambda p: p if p and p["status"] == status else None)(payment_of(shop, order_id)),
                           timeout, f"payment of {order_id} {status}")


def mails_to(system, address: str, subject_part: str, count: int = 1, timeout: float = 60) -> list[dict]:
    return wait_for(lambda: (lambda ms: ms if len(ms) >= count else None)(
        [m for m in system.mail(address) if subject_part in (m.get("subject") or "")]), timeout,
        f"{count} email(s) '{subject_part}' to {address}")


def standard_shop(system, **settings: Any) -> tuple[Shop, dict, dict, dict]:
    shop = system.platform.create_shop(**settings)
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    card = shop.payment_method("stripe", fee_percent_bp=150)
    cash = shop.payment_method("cash")
    return shop, ship, card, cash


def new_cycle(system, shop: Shop, name: str, open_in: timedelta = timedelta(hours=1),
              length: timedelta = timedelta(days=2)) -> tuple[dict, dict]:
    now = system.platform.now()
    cycle = shop.order_cycle(name, now + open_in, now + open_in + length)
    schedule = shop.schedule(f"{name} schedule", [cycle["id"]])
    return cycle, schedule


def subscribe_when_catalog_known(shop: Shop, *args: Any, **kw: Any) -> dict[str, Any]:
    """The catalog reaches subscription-service through Kafka: a variant may be unknown for a moment."""

    def attempt():
        try:
            return shop.subscribe(*args, **kw)
        except ApiError as exc:
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    return wait_for(attempt, 30, "the catalog to reach subscription-service")


def at(dt_iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(dt_iso)


# -- story 1 -------------------------------------------------------------------------------------------------


def test_a_weekly_cycle_places_four_orders_and_charges_each_as_its_customer_pays(system):
    p = system.platform
    shop, ship, card, cash = standard_shop(system, name="Story one hub")
    shop.variant("box", "Veg box", 2000, on_hand=100)
    shop.variant("eggs", "Eggs x6", 300, on_hand=100)
    cycle, schedule = new_cycle(system, shop, "Week 1")
    payers = {
        "ok": shop.customer("Olive", "Ok", card=CARD_OK),
        "declined": shop.customer("Dan", "Declined", card=CARD_DECLINED_AT_CHARGE),
        "sca": shop.customer("Sam", "Secure", card=CARD_NEEDS_3DS),
        "cash": shop.customer("Cass", "Cash"),
    }
    for kind, cust in payers.items():
        subscribe_when_catalog_known(shop, cust, schedule["id"], ship["id"],
                                     (cash if kind == "cash" else card)["id"], {"box": 1, "eggs": 2},
                                     begins_at=p.now())

    p.advance_to(at(cycle["opens_at"]) + timedelta(minutes=1))
    orders = orders_by_customer(shop, cycle["id"], 4, ("placed",))
    # items 2000 + 2 x 300 = 2600; shipping 500; card fee 1.5 % of 3100 = 46.5 -> 47 (half up); cash no fee
    for kind, cust in payers.items():
        totals = orders[cust.id]["totals"]
        assert totals == {"item_total": 2600, "shipping_fee": 500, "payment_fee": 0 if kind == "cash" else 47,
                          "shipping_tax": 0, "payment_tax": 0, "tax_total": 0,  # a shop without tax rates
                          "total": 3100 if kind == "cash" else 3147}, kind
        order = shop.order(orders[cust.id]["order_id"])
        assert {(li["variant_id"], li["quantity"], li["unit_price"]) for li in order["lines"]} == {
            ("box", 1, 2000), ("eggs", 2, 300)}
        assert order["payment"]["state"] == "not_due", "no payment is taken while the cycle is open"
        mails_to(system, cust.email, f"your order {orders[cust.id]['number']} has been placed")
    assert len(mails_to(system, shop.data["contact_email"], "recently placed")) == 1

    p.advance_to(at(cycle["closes_at"]) + timedelta(minutes=1))
    orders_by_customer(shop, cycle["id"], 4, ("confirmed",))
    ok = wait_payment(shop, orders[payers["ok"].id]["order_id"], "succeeded")
    assert ok["amount"] == 3147 and ok["stripe_payment_intent_id"]
    declined = wait_payment(shop, orders[payers["declined"].id]["order_id"], "failed")
    assert declined["failure"]["message"]
    sca = wait_payment(shop, orders[payers["sca"].id]["order_id"], "requires_action")
    cash_payment = wait_payment(shop, orders[payers["cash"].id]["order_id"], "pending")
    assert cash_payment["method"] == "cash" and cash_payment["amount"] == 3100

    confirmed = mails_to(system, payers["ok"].email, "confirmed")[0]
    assert orders[payers["ok"].id]["number"] in confirmed["subject"]
    failed = mails_to(system, payers["declined"].email, "failed")[0]
    assert declined["failure"]["message"].split(".")[0] in (failed["text"] or "")
    auth_mail = mails_to(system, payers["sca"].email, "please authorise")[0]
    page = f"/shops/{shop.id}/payments/{sca['payment_id']}/authorize"
    assert re.search(rf"https?://\S+{page}", auth_mail["text"] or ""), auth_mail["text"]  # the web app's page
    mails_to(system, payers["cash"].email, "confirmed")
    mails_to(system, shop.data["contact_email"], "recently finalised")

    # the customer authorises later (after the close), as the page does with their own session: the client secret
    # for Stripe.js, the bank's check (localstripe's route stands in for the browser), the outcome reported
    customer_api = shop.billing(payers["sca"].session)
    asked = customer_api.get(f"{shop.base}/payments/{sca['payment_id']}/authorization")
    requests.post(f"{system.platform.stripe_url}/v1/payment_intents/{sca['stripe_payment_intent_id']}/_authenticate",
                  data={"client_secret": asked["client_secret"], "success": "true", "key": asked["publishable_key"]},
                  timeout=30).raise_for_status()
    paid = customer_api.post(f"{shop.base}/payments/{sca['payment_id']}/authorization")
    assert paid["status"] == "succeeded" and paid["card"]["last4"] == CARD_NEEDS_3DS[-4:]
    wait_payment(shop, orders[payers["sca"].id]["order_id"], "succeeded")
    wait_for_answer(lambda: shop.order(orders[payers["sca"].id]["order_id"])["payment"]["state"] == "paid",
                    what="order-service to see the authorised payment")


# -- story 2 -------------------------------------------------------------------------------------------------


def test_stock_shorter_than_demand_caps_quantities_first_come_first_served_and_leaves_the_last_order_empty(
        system):
    p = system.platform
    shop, ship, _card, cash = standard_shop(system, name="Story two hub", allocation_policy="first_come")
    shop.variant("honey", "Honey jar", 800, on_hand=3)
    cycle, schedule = new_cycle(system, shop, "Scarce week")
    first, second, third = (shop.customer(n, "Bee") for n in ("Ann", "Bob", "Cat"))
    for cust in (first, second, third):  # created in this order: served in this order
        subscribe_when_catalog_known(shop, cust, schedule["id"], ship["id"], cash["id"], {"honey": 2},
                                     begins_at=p.now())

    p.advance_to(at(cycle["opens_at"]) + timedelta(minutes=1))
    orders = orders_by_customer(shop, cycle["id"], 3)
    lines = {cid: shop.order(o["order_id"])["lines"][0] for cid, o in orders.items()}
    assert (lines[first.id]["requested_quantity"], lines[first.id]["quantity"]) == (2, 2)
    assert (lines[second.id]["requested_quantity"], lines[second.id]["quantity"]) == (2, 1)
    assert lines[third.id]["quantity"] == 0
    assert orders[third.id]["status"] == "empty" and orders[third.id]["totals"]["total"] == 0
    assert orders[second.id]["capped"] is True

    capped_mail = mails_to(system, second.email, "has been placed")[0]
    assert re.search(r"<(del|s)>\s*2\s*</(del|s)>", capped_mail["html"] or ""), "the original quantity struck out"
    mails_to(system, third.email, "could not place")
    summary = mails_to(system, shop.data["contact_email"], "recently placed")[0]
    assert orders[second.id]["number"] in (summary["text"] or "") and orders[third.id]["number"] in (
        summary["text"] or "")


# -- story 3 -------------------------------------------------------------------------------------------------


def test_mid_cycle_changes_each_have_the_outcome_the_reference_describes(system):
    p = system.platform
    shop, ship, _card, cash = standard_shop(system, name="Story three hub", allow_order_changes=True)
    shop.variant("bread", "Bread", 450, on_hand=500)
    shop.variant("milk", "Milk", 150, on_hand=500)
    cycle, schedule = new_cycle(system, shop, "Busy week")
    names = ["Keeper", "Canceller", "Skipper", "Editor", "Handedit"]
    custs = {n: shop.customer(n, "Mid") for n in names}
    subs = {n: subscribe_when_catalog_known(shop, c, schedule["id"], ship["id"], cash["id"], {"bread": 1, "milk": 2},
                                            begins_at=p.now()) for n, c in custs.items()}
    p.advance_to(at(cycle["opens_at"]) + timedelta(minutes=5))
    orders = orders_by_customer(shop, cycle["id"], 5, ("placed",))

    # created while the cycle is open: its order is placed at once
    late_customer = shop.customer("Latecomer", "Mid")
    late_sub = subscribe_when_catalog_known(shop, late_customer, schedule["id"], ship["id"], cash["id"],
                                            {"bread": 2}, begins_at=p.now())
    orders = orders_by_customer(shop, cycle["id"], 6, ("placed",), timeout=30)
    assert shop.order(orders[late_customer.id]["order_id"])["lines"][0]["quantity"] == 2

    def sub_action(name: str, action: str, body: dict | None = None) -> None:
        shop.subs().post(f"{shop.base}/subscriptions/{subs[name]['id']}/{action}", body or {})

    # pausing with a placed order asks first (409), then keep / cancel
    r = shop.subs().call("POST", f"{shop.base}/subscriptions/{subs['Keeper']['id']}/pause", json={})
    assert r.status_code == 409 and "open_orders" in r.json().get("errors", {})
    sub_action("Keeper", "pause", {"open_orders": "keep"})
    sub_action("Canceller", "pause", {"open_orders": "cancel"})
    wait_for_answer(lambda: shop.order(orders[custs["Canceller"].id]["order_id"])["status"] == "cancelled",
                    what="the paused-with-cancel order to be cancelled")

    # one occurrence skipped, then resumed
    occ = f"{shop.base}/subscriptions/{subs['Skipper']['id']}/occurrences/{cycle['id']}"
    shop.subs().post(f"{occ}/skip", {})
    wait_for_answer(lambda: shop.order(orders[custs["Skipper"].id]["order_id"])["status"] == "cancelled",
                    what="the skipped occurrence's order to be cancelled")
    shop.subs().post(f"{occ}/resume", {})
    wait_for_answer(lambda: shop.order(orders[custs["Skipper"].id]["order_id"])["status"] == "placed",
                    what="the resumed occurrence's order to be placed again")

    # the customer edits their own placed order (the shop allows changes)
    editor = custs["Editor"]
    order = wait_for_answer(lambda: shop.order(orders[editor.id]["order_id"], token=editor.token), what="customer view")
    milk = next(li for li in order["lines"] if li["variant_id"] == "milk")
    shop.orders_api(editor.token).patch(f"{shop.base}/orders/{order['order_id']}/lines/{milk['line_id']}",
                                        {"quantity": 5}, headers={"If-Match": f'"{order["version"]}"'})
    edited = shop.order(order["order_id"])
    assert next(li for li in edited["lines"] if li["variant_id"] == "milk")["quantity"] == 5
    assert edited["totals"]["item_total"] == 450 + 5 * 150

    # a manager hand-edits a line, then edits the subscription: the hand edit is kept, an issue is reported
    hand = shop.order(orders[custs["Handedit"].id]["order_id"])
    hmilk = next(li for li in hand["lines"] if li["variant_id"] == "milk")
    shop.orders_api().patch(f"{shop.base}/orders/{hand['order_id']}/lines/{hmilk['line_id']}", {"quantity": 7},
                            headers={"If-Match": f'"{hand["version"]}"'})
    sub = shop.subs().get(f"{shop.base}/subscriptions/{subs['Handedit']['id']}")
    shop.subs().patch(f"{shop.base}/subscriptions/{sub['id']}",
                      {"items": [{"variant_id": "bread", "quantity": 3}, {"variant_id": "milk", "quantity": 4}]},
                      headers={"If-Match": f'"{sub["version"]}"'})

    def propagated():
        o = shop.order(hand["order_id"])
        q = {li["variant_id"]: li["quantity"] for li in o["lines"]}
        return o if q.get("bread") == 3 and o["update_issues"] else None

    after = wait_for_answer(propagated, what="the subscription edit to reach the open order")
    assert {li["variant_id"]: li["quantity"] for li in after["lines"]}["milk"] == 7, "hand edit kept"
    assert any(i["kind"] == "line_hand_edited" and i["variant_id"] == "milk" for i in after["update_issues"])

    p.advance_to(at(cycle["closes_at"]) + timedelta(minutes=1))
    final = orders_by_customer(shop, cycle["id"], 6, ("confirmed", "cancelled"))
    assert final[custs["Keeper"].id]["status"] == "confirmed", "kept orders are confirmed although paused"
    assert final[custs["Canceller"].id]["status"] == "cancelled"
    assert final[custs["Skipper"].id]["status"] == "confirmed"
    assert final[late_customer.id]["status"] == "confirmed"
    assert late_sub["id"]
    # after the close every change is refused
    r = shop.orders_api(editor.token).call("PATCH", f"{shop.base}/orders/{order['order_id']}/lines/{milk['line_id']}",
                                           json={"quantity": 1})
    assert r.status_code in (409, 422), r.text


# -- story 4 -------------------------------------------------------------------------------------------------


def test_ten_weeks_give_exactly_the_orders_the_rules_give(system):
    p = system.platform
    shop, ship, _card, cash = standard_shop(system, name="Story four hub", timezone="Europe/London",
                                            currency="GBP")
    shop.variant("box", "Veg box", 1500, on_hand=None)
    start = (p.now() + timedelta(days=1)).date()
    generated = shop.subs().post(f"{shop.base}/order-cycles/generate", {
        "opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "wednesday", "closes_time": "20:00",
        "timezone": "Europe/London", "start_date": start.isoformat(), "count": 10, "name_prefix": "Week"})
    cycles = sorted(generated["order_cycles"], key=lambda c: c["opens_at"])
    assert len(cycles) == 10
    schedule = shop.schedule("Ten weeks", [c["id"] for c in cycles])
    cust = shop.customer("Tess", "Tenweeks")
    # ends_at falls inside week 8 (after its open, before its close): week 8 and later get no order
    ends_at = at(cycles[7]["opens_at"]) + timedelta(hours=1)
    sub = subscribe_when_catalog_known(shop, cust, schedule["id"], ship["id"], cash["id"], {"box": 1},
                                       begins_at=p.now(), ends_at=ends_at)
    assert sub["id"]
    # week 6 is removed from the schedule before it opens: no order for it
    sched = shop.subs().get(f"{shop.base}/schedules/{schedule['id']}")
    shop.subs().patch(f"{shop.base}/schedules/{schedule['id']}",
                      {"order_cycle_ids": [c["id"] for c in cycles if c["id"] != cycles[5]["id"]]},
                      headers={"If-Match": f'"{sched["version"]}"'})
    # week 4 closes a day later than planned: its order is confirmed at the new close
    c4 = shop.subs().get(f"{shop.base}/order-cycles/{cycles[3]['id']}")
    new_close = at(c4["closes_at"]) + timedelta(days=1)
    shop.subs().patch(f"{shop.base}/order-cycles/{c4['id']}", {"closes_at": new_close.isoformat()},
                      headers={"If-Match": f'"{c4["version"]}"'})

    for week, cycle in enumerate(cycles, start=1):
        if week == 3:  # the price changes after week 2 was placed: weeks 3+ pay the new price
            shop.variant("box", "Veg box", 1700, on_hand=None)
            wait_for_answer(lambda: shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}") is not None)
        opens = at(cycle["opens_at"])
        closes = new_close if week == 4 else at(cycle["closes_at"])
        p.advance_to(opens + timedelta(minutes=1))
        p.advance_to(closes + timedelta(minutes=1))
    p.advance(days=1)

    def settled():
        orders = shop.orders(customer_id=cust.id)
        return orders if len(orders) >= 6 and all(o["status"] == "confirmed" for o in orders) else None

    orders = wait_for_answer(settled, 90, "six confirmed orders")
    import time

    time.sleep(3)  # nothing more must arrive
    orders = shop.orders(customer_id=cust.id)
    by_cycle = {o["order_cycle_id"]: o for o in orders}
    expected_weeks = [1, 2, 3, 4, 5, 7]
    assert set(by_cycle) == {cycles[w - 1]["id"] for w in expected_weeks}, sorted(
        next(i + 1 for i, c in enumerate(cycles) if c["id"] == oc) for oc in by_cycle)
    prices = {w: shop.order(by_cycle[cycles[w - 1]["id"]]["order_id"])["lines"][0]["unit_price"]
              for w in expected_weeks}
    assert prices == {1: 1500, 2: 1500, 3: 1700, 4: 1700, 5: 1700, 7: 1700}
    assert at(by_cycle[cycles[3]["id"]]["confirmed_at"]) >= new_close


# -- story 5 -------------------------------------------------------------------------------------------------


def _api_answers(system) -> dict[str, Any]:
    p = system.platform
    answers: dict[str, Any] = {}
    for shop in p.admin.all_pages("/api/v1/shops"):
        base = f"/api/v1/shops/{shop['id']}"
        subs_api = p.api("subscription-service", p.admin_token)
        answers[f"{shop['id']}/subscriptions"] = subs_api.all_pages(f"{base}/subscriptions")
        answers[f"{shop['id']}/customers"] = subs_api.all_pages(f"{base}/customers")
        answers[f"{shop['id']}/orders"] = p.api("order-service", p.admin_token).all_pages(f"{base}/orders")
        answers[f"{shop['id']}/payments"] = p.api("billing-service", p.admin_token).all_pages(f"{base}/payments")
    return answers


def test_every_service_rebuilt_from_kafka_gives_the_same_api_answers(system, monkeypatch):
    import importlib

    monkeypatch.setenv("TOPIC_PREFIX", system.stack.cfg.topic_prefix)
    wait_for(lambda: _api_answers(system) == _api_answers(system), 60, "a quiet system")
    before = _api_answers(system)
    assert sum(len(v) for v in before.values()) > 20, "the earlier stories left data to rebuild"
    stack = system.stack
    from devstack.stack import SERVICES

    for svc in SERVICES:
        module = importlib.import_module(f"{svc.package}.entrypoints.rebuild")
        report = module.run(stack.db_url(svc.database), bootstrap=stack.bootstrap, swap=True)
        assert report.events > 0, svc.name
        assert report.identical, (svc.name, report.differences)
    assert _api_answers(system) == before
