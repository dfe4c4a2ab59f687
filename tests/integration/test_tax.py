"""Tax end to end: the four services as processes on real Kafka, PostgreSQL and localstripe, driven through the
public APIs, the catalog topic and the test clock. A shop whose prices exclude tax charges the order's total with its
tax; a rate changed by the shop's manager applies to the orders placed afterwards only."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from devstack.scenario import CARD_OK
from devstack.testing import wait_for_answer

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UK = [{"category": "zero", "rate_bp": 0}, {"category": "standard", "rate_bp": 2000}]


def _payment(shop, order_id: str):
    found = shop.billing().get(f"{shop.base}/orders/{order_id}/payments")
    items = found["items"] if isinstance(found, dict) else found
    return items[0] if items and items[0]["status"] == "succeeded" else None


def _order_of(shop, cycle_id: str):
    orders = shop.orders(order_cycle_id=cycle_id)
    return orders[0] if orders else None


def test_a_shop_whose_prices_exclude_tax_charges_the_total_with_tax_and_a_new_rate_applies_to_later_orders(system,
                                                                                                         subscribe):
    p = system.platform
    shop = p.create_shop(name="Tax hub", currency="GBP", prices_include_tax=False, tax_rates=UK)
    ship = shop.shipping_method("Doorstep delivery", fee_flat=350, tax_category="standard")
    card = shop.payment_method("stripe", fee_percent_bp=0)
    shop.variant("veg", "Veg box", 1800, on_hand=None, tax_category="zero")
    shop.variant("cider", "Cider", 350, on_hand=None, tax_category="standard")
    now = p.now()
    first = shop.order_cycle("Week 1", now + timedelta(hours=1), now + timedelta(days=2))
    second = shop.order_cycle("Week 2", now + timedelta(days=7), now + timedelta(days=9))
    schedule = shop.schedule("Weekly", [first["id"], second["id"]])
    customer = shop.customer("Alice", "Smith", card=CARD_OK)
    sub = subscribe(shop, customer, schedule["id"], ship["id"], card["id"], now, {"veg": 1, "cider": 2})
    # veg 18.00 at 0 %; cider 2 x 3.50 = 7.00 at 20 %: 1.40; delivery 3.50 at 20 %: 0.70
    assert sub["estimate"]["tax_total"] == 210 and sub["estimate"]["total"] == 1800 + 700 + 350 + 210

    p.advance_to(datetime.fromisoformat(first["opens_at"]) + timedelta(minutes=1))
    placed = wait_for_answer(lambda: _order_of(shop, first["id"]), what="the first order")
    assert placed["totals"] == sub["estimate"], "the order costs what the estimate said"
    order = shop.order(placed["order_id"])
    assert {(ln["variant_id"], ln["tax"], ln["tax_rate_bp"]) for ln in order["lines"]} == {
        ("veg", 0, 0), ("cider", 140, 2000)}

    # the manager raises the standard rate while the first order is open: it keeps the rate it was placed with
    shop.subs().patch(shop.base, {"tax_rates": [UK[0], {"category": "standard", "rate_bp": 2500}]})
    p.advance_to(datetime.fromisoformat(first["closes_at"]) + timedelta(minutes=1))
    charged = wait_for_answer(lambda: _payment(shop, placed["order_id"]), what="the first charge")
    assert charged["amount"] == 1800 + 700 + 350 + 210 == shop.order(placed["order_id"])["totals"]["total"]

    p.advance_to(datetime.fromisoformat(second["opens_at"]) + timedelta(minutes=1))
    later = wait_for_answer(lambda: _order_of(shop, second["id"]), what="the second order")
    assert later["totals"]["tax_total"] == 175 + 88  # 7.00 and 3.50 at 25 % (0.875 -> 0.88)
    p.advance_to(datetime.fromisoformat(second["closes_at"]) + timedelta(minutes=1))
    assert wait_for_answer(lambda: _payment(shop, later["order_id"]), what="the second charge")["amount"] == (
        1800 + 700 + 350 + 263)
