"""The four services running as separate processes (gunicorn APIs + consumer, relay and other workers) on the
session's real PostgreSQL, Kafka, localstripe and SMTP sink, driven only through public APIs, the catalog topic
and the test clock (devstack.scenario)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.scenario import Platform
from devstack.stack import SERVICES


@dataclass
class System:
    stack: Any
    platform: Platform

    @property
    def smtp_api(self) -> str:
        return self.stack.smtp.api_url

    def mail(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        return requests.get(f"{self.smtp_api}/messages", params=params, timeout=10).json()

    def process_names(self) -> list[str]:
        return [n for s in SERVICES for n in self.stack.process_names(s)]


def subscribe_once_the_catalog_arrived(shop: Any, customer: Any, schedule_id: str, ship_id: str, pay_id: str,
                                       begins_at: Any, items: dict[str, int] | None = None) -> dict[str, Any]:
    """The manager subscribes the customer, waiting for the catalog (it reaches subscription-service through Kafka)."""
    from devstack.scenario import ApiError
    from devstack.testing import wait_for

    def attempt() -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule_id, ship_id, pay_id, items or {"box": 1}, begins_at=begins_at)
        except ApiError as exc:
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    return wait_for(attempt, 30, "the catalog to reach subscription-service")


@dataclass
class OneCycleShop:
    shop: Any
    ship: dict[str, Any]
    pay: dict[str, Any]
    cycle: dict[str, Any]
    schedule: dict[str, Any]
    now: datetime


def shop_with_one_cycle(p: Platform, name: str, *, payment: str = "cash", on_hand: int = 100,
                        closes_after: timedelta = timedelta(days=1)) -> OneCycleShop:
    """A shop selling one product ("box", a Veg box at 20.00) delivered home for 5.00 and paid by ``payment``, with
    one cycle opening an hour from the platform's now and closing ``closes_after`` later, on a schedule of its
    own."""
    shop = p.create_shop(name=name)
    ship = shop.shipping_method("Home delivery", fee_flat=500)
    pay = shop.payment_method(payment)
    shop.variant("box", "Veg box", 2000, on_hand=on_hand)
    now = p.now()
    cycle = shop.order_cycle(f"{name} week", now + timedelta(hours=1), now + closes_after)
    schedule = shop.schedule(f"{name} schedule", [cycle["id"]])
    return OneCycleShop(shop, ship, pay, cycle, schedule, now)


@pytest.fixture(scope="session")
def one_cycle_shop():
    """``shop_with_one_cycle``."""
    return shop_with_one_cycle


@pytest.fixture(scope="session")
def subscribe():
    """``subscribe_once_the_catalog_arrived``."""
    return subscribe_once_the_catalog_arrived


@pytest.fixture(scope="session")
def system(infra) -> System:
    stack = infra.stack
    stack.migrate()
    stack.start_services()
    try:
        yield System(stack, Platform.from_stack(stack))
    finally:
        stack.stop_services()
