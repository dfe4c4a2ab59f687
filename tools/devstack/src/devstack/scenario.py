"""Driving the platform the way its users do: the public REST APIs, the catalog topic (as the platform's catalog
team publishes it), the SMTP sink (a customer reads the sign-in link emailed to them), Stripe (as a customer's
browser confirms a card setup) and the test clock.

Used by the demo (`make run`), the end-to-end tests and the benchmarks, so all three exercise the same paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from devstack.testing import Call, customer_in_person, wait_for
from servicekit.config import DEVELOPMENT_VALUES

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"
CARD_NEEDS_3DS = "4000002760003184"  # 3-D Secure at every charge
CARD_3DS_AT_SETUP = "4000002500003155"  # 3-D Secure when saved; charges off-session once set up


class ApiError(AssertionError):
    pass


@dataclass
class Client:
    """A small REST client for one service with one bearer token."""

    base: str
    token: str | None = None

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, *, expect: int | tuple[int, ...] | None = None,
             headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        r = requests.request(method, self.base + path, headers=self._headers(headers), timeout=120, **kw)
        wanted = (expect,) if isinstance(expect, int) else expect
        if wanted is not None and r.status_code not in wanted:
            raise ApiError(f"{method} {path} -> {r.status_code} (wanted {wanted}): {r.text[:2000]}")
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, expect=kw.pop("expect", 200), **kw).json()

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("POST", path, json=json, expect=kw.pop("expect", (200, 201, 202)), **kw)
        return r.json() if r.content else None

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("PATCH", path, json=json, expect=kw.pop("expect", 200), **kw)
        return r.json() if r.content else None

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("PUT", path, json=json, expect=kw.pop("expect", (200, 204)), **kw)
        return r.json() if r.content else None

    def delete(self, path: str, **kw: Any) -> Any:
        r = self.call("DELETE", path, expect=kw.pop("expect", (200, 204)), **kw)
        return r.json() if r.content else None

    def as_(self, token: str | None) -> Client:
        return Client(self.base, token)

    def as_call(self) -> Call:
        """devstack.testing's ``Call`` over this service."""

        def call(method: str, path: str, body: Any, token: str | None) -> Any:
            r = self.as_(token).call(method, path, json=body, expect=(200, 201, 202, 204))
            return r.json() if r.content else None

        return call

    def all_pages(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params = dict(params or {}, limit=200)
        while True:
            page = self.get(path, params=params)
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            params["cursor"] = page["next_cursor"]


def iso(dt: datetime) -> str:
    return dt.isoformat()


def address(first: str, last: str, city: str = "Lyon", country: str = "FR") -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "address1": "12 rue des Lilas", "city": city,
            "zipcode": "69003", "country": country}


@dataclass
class Platform:
    """The whole system as its users see it."""

    urls: dict[str, str]  # service name -> base URL
    admin_token: str
    stripe_url: str
    bootstrap: str
    topic_prefix: str = ""
    stripe_key: str = DEVELOPMENT_VALUES["STRIPE_API_KEY"]
    smtp_api: str | None = None  # the SMTP sink's API: where customers read the sign-in links emailed to them
    _publisher: Any = None

    @classmethod
    def from_stack(cls, stack: Any) -> Platform:
        import os

        from devstack.stack import LOCAL_STRIPE_KEY, SERVICES

        return cls({s.name: stack.service_url(s.name) for s in SERVICES}, stack.cfg.admin_token, stack.stripe_url,
                   stack.bootstrap, stack.cfg.topic_prefix, os.environ.get("STRIPE_API_KEY", LOCAL_STRIPE_KEY),
                   stack.smtp.api_url)

    def api(self, service: str, token: str | None = None) -> Client:
        return Client(self.urls[service], token)

    @property
    def admin(self) -> Client:
        return self.api("subscription-service", self.admin_token)

    # -- the test clock (scheduler-service) ------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromisoformat(self.api("scheduler-service", self.admin_token).get("/api/v1/test-clock")["now"])

    def advance_to(self, at: datetime) -> dict[str, Any]:
        """Advance the test clock, as real time would: first the scheduler applies what is already published
        (a subscription created just before is known when the hour passes), then the boundaries are emitted."""
        self.scheduler_caught_up()
        return self.api("scheduler-service", self.admin_token).post("/api/v1/test-clock/advance",
                                                                     {"to": iso(at)})

    def scheduler_caught_up(self, timeout: float = 15.0) -> None:
        """Wait (at most ``timeout``) until scheduler-service's consumer group has read every record of its topics.
        Its consumers wait up to 100 ms for a fetch to fill (shared_events.kafka): a test that creates a
        subscription and at once moves the clock across the open could otherwise emit the open without it."""
        import time

        from devstack.testing import group_lag
        from shared_events.topics import physical

        try:
            from scheduler_service.entrypoints.consumer import TOPICS
        except ImportError:  # scheduler-service is not installed here: nothing to wait for
            return
        topics = [physical(t, self.topic_prefix) for t in TOPICS]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                lag = group_lag(self.bootstrap, "scheduler-service", topics)
            except Exception:  # noqa: BLE001 - Kafka away (a fault test): advance as before
                return
            if not lag:  # None: the group has committed nothing yet
                return
            time.sleep(0.05)

    def advance(self, **delta: float) -> dict[str, Any]:
        return self.advance_to(self.now() + timedelta(**delta))

    # -- the catalog, as the platform's catalog team publishes it ---------------------------------------------

    @property
    def catalog(self) -> Any:
        if self._publisher is None:
            from shared_events.platform import CatalogPublisher

            self._publisher = CatalogPublisher(self.bootstrap, topic_prefix=self.topic_prefix)
        return self._publisher

    # -- Stripe, as the customer's browser would save a card --------------------------------------------------

    def stripe(self) -> Any:
        import stripe

        return stripe.StripeClient(self.stripe_key, base_addresses={"api": self.stripe_url},
                                   max_network_retries=0).v1

    def save_card(self, email: str, number: str) -> tuple[str, str]:
        """A Stripe customer with ``number`` attached as its card: (stripe customer id, payment method id). For
        tests that publish customers.events themselves; through the API a card is saved only in person
        (``Shop.customer``)."""
        return save_card(self.stripe(), email, number)

    # -- shops ------------------------------------------------------------------------------------------------

    def create_shop(self, **settings: Any) -> Shop:
        body = {"name": "Test hub", "timezone": "Europe/Paris", "currency": "EUR", "locale": "en",
                "contact_email": f"hub-{uuid.uuid4().hex[:6]}@example.org", "subscriptions_enabled": True,
                "allow_order_changes": True, "allow_customer_skip": True}
        body.update(settings)
        shop = self.admin.post("/api/v1/shops", body, headers={"Idempotency-Key": str(uuid.uuid4())})
        token = self.admin.post("/api/v1/tokens", {"role": "manager", "shop_ids": [shop["id"]],
                                                   "label": f"manager of {shop['name']}"})["token"]
        return Shop(self, shop, token)


@dataclass
class Customer:
    data: dict[str, Any]
    token: str  # a customer token the manager issued
    session: str | None = None  # the session the customer opened with the link emailed to them

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def email(self) -> str:
        return self.data["email"]


@dataclass
class Shop:
    platform: Platform
    data: dict[str, Any]
    manager_token: str
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def base(self) -> str:
        return f"/api/v1/shops/{self.id}"

    def subs(self, token: str | None = None) -> Client:
        return self.platform.api("subscription-service", token or self.manager_token)

    def orders_api(self, token: str | None = None) -> Client:
        return self.platform.api("order-service", token or self.manager_token)

    def billing(self, token: str | None = None) -> Client:
        return self.platform.api("billing-service", token or self.manager_token)

    def shipping_method(self, name: str = "Home delivery", fee_flat: int = 500, fee_percent_bp: int = 0,
                        pickup: bool = False, tax_category: str | None = None) -> dict[str, Any]:
        return self.subs().post(f"{self.base}/shipping-methods", {"name": name, "fee_flat": fee_flat,
                                                                  "fee_percent_bp": fee_percent_bp, "pickup": pickup,
                                                                  "tax_category": tax_category})

    def payment_method(self, kind: str, name: str | None = None, fee_flat: int = 0,
                       fee_percent_bp: int = 0, tax_category: str | None = None) -> dict[str, Any]:
        return self.subs().post(f"{self.base}/payment-methods", {
            "name": name or ("Card" if kind == "stripe" else "Cash on pickup"), "kind": kind,
            "fee_flat": fee_flat, "fee_percent_bp": fee_percent_bp, "tax_category": tax_category})

    def variant(self, variant_id: str, name: str, unit_price: int, on_hand: int | None = None,
                tax_category: str | None = None) -> None:
        self.platform.catalog.variant(self.id, variant_id, name, unit_price=unit_price,
                                      currency=self.data["currency"], on_hand=on_hand, tax_category=tax_category)
        self.platform.catalog.flush()
        self.variants[variant_id] = {"name": name, "unit_price": unit_price, "on_hand": on_hand}

    def customer(self, first: str, last: str, *, card: str | None = None, allow_charges: bool = True,
                 locale: str | None = None) -> Customer:
        email = f"{first.lower()}.{last.lower()}.{uuid.uuid4().hex[:6]}@example.org"
        body: dict[str, Any] = {"email": email, "first_name": first, "last_name": last,
                                "bill_address": address(first, last), "ship_address": address(first, last)}
        if locale:
            body["locale"] = locale
        data = self.subs().post(f"{self.base}/customers", body)
        token = self.subs().post("/api/v1/tokens", {"role": "customer", "shop_ids": [self.id],
                                                   "customer_id": data["id"], "label": email})["token"]
        cust = Customer(data, token)
        if card:  # in person: the customer signs in with the emailed link, confirms a card setup, consents
            if not self.platform.smtp_api:
                raise RuntimeError("a customer saves a card only after signing in by email: give the SMTP sink")
            cust.session = customer_in_person(self.subs().as_call(), self.platform.smtp_api, self.id, cust.id,
                                              email, card, allow_charges)
        cust.data = self.subs().get(f"{self.base}/customers/{cust.id}")
        return cust

    def delete_variant(self, variant_id: str) -> Any:
        """The catalog team deletes the variant (VariantDeleted); returns the event."""
        deleted = self.platform.catalog.delete(self.id, variant_id)
        self.platform.catalog.flush()
        self.variants.pop(variant_id, None)
        return deleted

    def order_cycle(self, name: str, opens_at: datetime, closes_at: datetime) -> dict[str, Any]:
        return self.subs().post(f"{self.base}/order-cycles", {"name": name, "opens_at": iso(opens_at),
                                                              "closes_at": iso(closes_at)})

    def schedule(self, name: str, cycle_ids: list[str]) -> dict[str, Any]:
        return self.subs().post(f"{self.base}/schedules", {"name": name, "order_cycle_ids": cycle_ids})

    def subscribe(self, customer: Customer, schedule_id: str, shipping_id: str, payment_id: str,
                  items: dict[str, int], begins_at: datetime, ends_at: datetime | None = None,
                  substitutes: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """``substitutes``: an item's substitutes in order of preference, by its variant (none without)."""
        first, last = customer.data["first_name"], customer.data["last_name"]
        body: dict[str, Any] = {
            "customer_id": customer.id, "schedule_id": schedule_id, "shipping_method_id": shipping_id,
            "payment_method_id": payment_id, "bill_address": address(first, last),
            "ship_address": address(first, last), "begins_at": iso(begins_at),
            "items": [{"variant_id": v, "quantity": q, **({"substitutes": (substitutes or {})[v]}
                                                           if v in (substitutes or {}) else {})}
                      for v, q in items.items()]}
        if ends_at:
            body["ends_at"] = iso(ends_at)
        return self.subs().post(f"{self.base}/subscriptions", body, headers={"Idempotency-Key": str(uuid.uuid4())})

    # -- what happened --------------------------------------------------------------------------------------

    def orders(self, **params: Any) -> list[dict[str, Any]]:
        return _none_yet(lambda: self.orders_api().all_pages(f"{self.base}/orders", params))

    def order(self, order_id: str, token: str | None = None) -> dict[str, Any]:
        return self.orders_api(token).get(f"{self.base}/orders/{order_id}")

    def payments(self, **params: Any) -> list[dict[str, Any]]:
        return _none_yet(lambda: self.billing().all_pages(f"{self.base}/payments", params))

    def wait_orders(self, count: int, timeout: float = 60, **params: Any) -> list[dict[str, Any]]:
        return wait_for(lambda: (lambda o: o if len(o) >= count else None)(self.orders(**params)), timeout,
                        f"{count} orders in shop {self.data['name']}")


def _none_yet(read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A list of a shop that the service has not heard of yet (its shops.events consumer is behind) is a 404:
    nothing there yet."""
    try:
        return read()
    except ApiError as exc:
        if " -> 404 " in str(exc):
            return []
        raise


def save_card(v1: Any, email: str, number: str) -> tuple[str, str]:
    """With a StripeClient's ``v1``: a Stripe customer with the test card ``number`` attached as its card
    (stripe customer id, payment method id)."""
    cus = v1.customers.create({"email": email})
    pm = v1.payment_methods.create({"type": "card", "card": {"number": number, "exp_month": 12,
                                                            "exp_year": 2034, "cvc": "123"}})
    v1.payment_methods.attach(pm.id, {"customer": cus.id})
    return cus.id, pm.id
