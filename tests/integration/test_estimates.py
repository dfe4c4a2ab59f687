"""A subscription's estimates follow the catalog: a price published on catalog.events reaches the estimates that
subscription-service shows (the subscription and its occurrences), and they equal what order-service then charges
for the order it places (both price by shared_events.money). The four services as processes, real Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from devstack.scenario import ApiError, Shop
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _subscribe(shop: Shop, *args: Any, **kw: Any) -> dict[str, Any]:
    def attempt() -> dict[str, Any] | None:
        try:
            return shop.subscribe(*args, **kw)
        except ApiError as exc:  # the catalog reaches subscription-service through Kafka: a moment unknown
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    return wait_for(attempt, 30, "the catalog to reach subscription-service")


def test_a_catalog_price_change_reaches_the_subscription_and_occurrence_estimates_and_the_order_costs_them(system):
    p = system.platform
    shop = p.create_shop(name="Estimates hub")
    ship = shop.shipping_method("Home delivery", fee_flat=500, fee_percent_bp=250)
    cash = shop.payment_method("cash", fee_flat=30, fee_percent_bp=175)
    shop.variant("box", "Veg box", 1117, on_hand=100)
    now = p.now()
    cycle = shop.order_cycle("Price week", now + timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Price week schedule", [cycle["id"]])
    customer = shop.customer("Pat", "Price")
    sub = _subscribe(shop, customer, schedule["id"], ship["id"], cash["id"], {"box": 3}, begins_at=now)
    assert sub["items"][0]["price_estimate"] == 1117 and sub["estimate"]["item_total"] == 3 * 1117
    url = f"{shop.base}/subscriptions/{sub['id']}"

    p.catalog.variant(shop.id, "box", "Veg box", unit_price=1421, currency="EUR", on_hand=100)
    p.catalog.flush()
    shown = wait_for(lambda: (lambda s: s if s["items"][0]["price_estimate"] == 1421 else None)(
        shop.subs().get(url)), 30, "the new price to reach the subscription's estimate")
    estimate = shown["estimate"]
    assert estimate["item_total"] == 3 * 1421
    [occurrence] = shop.subs().get(f"{url}/occurrences")["items"]
    assert occurrence["total_is_estimate"] is True and occurrence["total"] == estimate["total"]

    p.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
    [order] = shop.wait_orders(1, order_cycle_id=cycle["id"])
    placed = shop.order(order["order_id"])
    assert placed["totals"] == estimate, "the order costs what the estimate said just before it was placed"
    assert [(line["unit_price"], line["quantity"]) for line in placed["lines"]] == [(1421, 3)]
