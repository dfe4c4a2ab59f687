"""The cut-off reminder on the real stack (issue 23): a shop that asks for one, a customer subscribed by the
manager, the test clock moved to the reminder time while order-service's consumer is stopped; the customer gets
one email with the link to their order's page in their language, after the restart and after the close too; and
the email that the shop created their subscription, with the link to their subscriptions page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devstack.stack import SERVICES
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _kind(system, to: str, kind: str) -> list[dict]:
    return [m for m in system.mail(to) if (m.get("headers") or {}).get("X-Notification-Kind") == kind]


def test_a_customer_gets_one_cut_off_reminder_on_the_test_clock_across_a_restart_of_order_service(system, subscribe):
    p, stack = system.platform, system.stack
    shop = p.create_shop(name="Reminder hub", locale="en", order_reminder_hours_before_close=24)
    assert shop.data["order_reminder_hours_before_close"] == 24
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    cash = shop.payment_method("cash")
    shop.variant("box", "Veg box", 2000, on_hand=100)
    now = p.now()
    opens_at, closes_at = now + timedelta(hours=1), now + timedelta(days=3)
    cycle = shop.order_cycle("Reminder week", opens_at, closes_at)
    schedule = shop.schedule("Reminder schedule", [cycle["id"]])
    customer = shop.customer("Rosa", "Rappel", locale="fr")
    subscribe(shop, customer, schedule["id"], ship["id"], cash["id"], now)
    [created] = wait_for(lambda: _kind(system, customer.email, "subscription_created"), 60,
                         "the email that the shop created the subscription")
    assert created["subject"] == "Reminder hub : votre abonnement a été créé"
    assert f"{stack.web_url}/shops/{shop.id}/subscriptions" in created["text"]

    p.advance_to(opens_at + timedelta(minutes=1))
    [order] = shop.wait_orders(1)
    order_service = next(s for s in SERVICES if s.name == "order-service")
    stack.procs.stop("order-service.consumer")
    try:
        advanced = p.advance_to(closes_at - timedelta(hours=23))
        assert "reminder" in [b["kind"] for b in advanced["boundaries"]]
        assert not _kind(system, customer.email, "order_reminder")  # nobody has read it yet
    finally:
        stack.start_service(order_service, only=["consumer"])

    [reminder] = wait_for(lambda: _kind(system, customer.email, "order_reminder"), 60, "the cut-off reminder")
    link = f"{stack.web_url}/shops/{shop.id}/orders/{order['order_id']}"
    assert link in reminder["text"] and f'href="{link}"' in reminder["html"]
    assert reminder["subject"].startswith(f"Reminder hub : vous pouvez modifier la commande {order['number']}")
    p.advance_to(closes_at + timedelta(minutes=1))
    wait_for(lambda: shop.order(order["order_id"])["status"] == "confirmed", 60, "the close")
    assert len(_kind(system, customer.email, "order_reminder")) == 1
