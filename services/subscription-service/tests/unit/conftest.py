"""Builders for the pure domain tests (no I/O)."""

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.auth import Principal
from subscription_service.domain.common import By
from subscription_service.domain.customers import Card, Customer
from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.schedules import Schedule
from subscription_service.domain.shops import DEFAULT_SETTINGS, Method, Shop
from subscription_service.domain.subscriptions import Subscription
from subscription_service.domain.terms import Item, Terms
from subscription_service.domain.validation import Context, Draft, Variant

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
ADDRESS = {"first_name": "Camille", "last_name": "Durand", "address1": "12 rue des Lilas", "address2": None,
           "city": "Lyon", "zipcode": "69003", "state": None, "country": "FR", "phone": None}
MANAGER = {"type": "manager", "id": "tok-m"}


class World:
    """A shop with methods, a customer with a card and charges allowed, a schedule of weekly cycles, a catalog."""

    now = NOW

    def by(self, now=None, actor=None, reason=None):
        return By(actor=actor or MANAGER, now=now or NOW, reason=reason)

    def shop(self, **settings):
        return Shop("shop-1", 3, {**DEFAULT_SETTINGS, "name": "La Ruche", "timezone": "Europe/Paris",
                                  "currency": "EUR", "contact_email": "a@b.example", "subscriptions_enabled": True,
                                  **settings},
                    shipping_methods={"ship-1": Method("ship-1", "Delivery", 500, 0, pickup=False),
                                      "ship-off": Method("ship-off", "Old van", 0, 0, active=False, pickup=False)},
                    payment_methods={"cash-1": Method("cash-1", "Cash", 0, 0, kind="cash"),
                                     "card-1": Method("card-1", "Card", 30, 150, kind="stripe"),
                                     "gone-1": Method("gone-1", "Cheque", 0, 0, kind="cash", removed=True)})

    def customer(self, **kw):
        base = dict(customer_id="cust-1", shop_id="shop-1", version=2,
                    details={"email": "camille@example.org", "first_name": "Camille", "last_name": "Durand"},
                    card=Card("cus_1", "pm_1", "visa", "4242"), allow_charges=True, stripe_customer_id="cus_1")
        return Customer(**{**base, **kw})

    def cycles(self, n=4, start=NOW + timedelta(days=1)):
        return tuple(OrderCycle(f"oc-{i}", "shop-1", 1, f"Week {i}", start + timedelta(weeks=i),
                                start + timedelta(weeks=i, days=3)) for i in range(n))

    def schedule(self, cycles=None):
        cycles = cycles if cycles is not None else self.cycles()
        return Schedule("sched-1", "shop-1", 1, "Weekly", tuple(c.order_cycle_id for c in cycles))

    def variants(self):
        return {"eggs": Variant("eggs", "Eggs", "half dozen", 320, "EUR"),
                "box": Variant("box", "Veg box", None, 2500, "EUR"),
                "gone": Variant("gone", "Old jam", None, 400, "EUR", deleted=True),
                "usd": Variant("usd", "Import", None, 100, "USD"),
                "later": Variant("later", "Asparagus", None, 900, "EUR", available=False)}

    def ctx(self, **kw):
        cycles = kw.pop("cycles", self.cycles())
        base = dict(shop=self.shop(), customer=self.customer(), schedule=self.schedule(cycles), cycles=cycles,
                    variants=self.variants(), now=NOW)
        return Context(**{**base, **kw})

    def terms(self, **kw):
        base = dict(items=(Item("eggs", 2), Item("box", 1)), shipping_method_id="ship-1",
                    payment_method_id="card-1", payment_kind=None, bill_address=ADDRESS, ship_address=ADDRESS,
                    begins_at=NOW, ends_at=None)
        return Terms(**{**base, **kw})

    def draft(self, **kw):
        customer_id = kw.pop("customer_id", "cust-1")
        schedule_id = kw.pop("schedule_id", "sched-1")
        return Draft(customer_id, schedule_id, self.terms(**kw))

    def subscription(self, **kw):
        terms = kw.pop("terms", self.terms(payment_kind="stripe"))
        base = dict(subscription_id="sub-1", shop_id="shop-1", customer_id="cust-1", schedule_id="sched-1",
                    currency="EUR", version=1, terms=terms, created_at=NOW)
        return Subscription(**{**base, **kw})


@pytest.fixture
def world():
    return World()


@pytest.fixture
def admin():
    return Principal("admin", "tok-admin")


@pytest.fixture
def manager():
    return Principal("manager", "tok-m", frozenset({"shop-1"}))


@pytest.fixture
def customer_p():
    return Principal("customer", "tok-c", frozenset({"shop-1"}), "cust-1")
