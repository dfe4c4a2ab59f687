"""The API in-process (create_app) against a fresh PostgreSQL database and a fresh topic prefix, with the shared
test clock frozen at NOW; helpers to build a shop with everything a subscription needs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from devstack.scenario import CARD_OK
from devstack.testing import save_card_in_person, sign_in_by_email
from servicekit.clock import init_test_clock
from shared_events import Envelope
from subscription_service.adapters.projections import apply

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
ADMIN = "rop_test_admin_" + uuid.uuid4().hex
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # a Monday
ADDRESS = {"first_name": "Camille", "last_name": "Durand", "address1": "12 rue des Lilas", "city": "Lyon",
           "zipcode": "69003", "country": "FR"}
SHOP = {"name": "La Ruche de Lyon", "timezone": "Europe/Paris", "currency": "EUR", "contact_email": "hi@ruche.example",
        "subscriptions_enabled": True, "allow_customer_skip": True}


class Client:
    """A test client that always sends one bearer token."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.http = app.test_client()
        self.token = token

    def call(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
             **kw: Any) -> Any:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        url = path if path.startswith("/") and not path.startswith("/shops") and not path.startswith("/tokens") \
            else "/api/v1" + (path if path.startswith("/") else "/" + path)
        resp = self.http.open(url, method=method, json=json, headers=h, **kw)
        resp.get_data()
        resp.close()  # as a WSGI server does once the response is out (what the app does after it, e.g. a mail)
        return resp

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    return resp.get_json()


def caller_of(app: Any) -> Any:
    """devstack.testing's ``Call`` over the in-process app (for the customer-in-person helpers)."""

    def call(method: str, path: str, body: Any, token: str | None) -> Any:
        resp = Client(app, token).call(method, path, body)
        assert 200 <= resp.status_code < 300, (method, path, resp.status_code, resp.get_data(as_text=True))
        return resp.get_json()

    return call


def signed_in(app: Any, shop_id: str, email: str) -> Client:
    """A client with the session the customer opens through the link emailed to them (read from the SMTP sink)."""
    return Client(app, sign_in_by_email(caller_of(app), app.infra.smtp_api, shop_id, email))


@pytest.fixture
def service_db(make_db) -> str:
    return make_db(MIGRATIONS)


@pytest.fixture
def clock(service_db):
    """Move the shared test clock: clock(at). (Its one-row table lives in the service's test database.)"""
    dsn = service_db
    init_test_clock(dsn, NOW)

    def move(at: datetime) -> datetime:
        return init_test_clock(dsn, at)

    move.dsn = dsn  # type: ignore[attr-defined]
    return move


@pytest.fixture
def app(service_db, clock, infra, monkeypatch):
    """The API in-process. It never talks to Kafka (the relay does): tests that need topics ask for topic_prefix."""
    from subscription_service.entrypoints.flask_app import create_app

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", f"unused{uuid.uuid4().hex[:8]}.")
    monkeypatch.setenv("DATABASE_URL", service_db)
    monkeypatch.setenv("ADMIN_TOKEN", ADMIN)
    monkeypatch.setenv("TEST_CLOCK_URL", clock.dsn)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1000000")
    monkeypatch.setenv("STRIPE_API_BASE", infra.stripe_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(infra.smtp_port))
    monkeypatch.setenv("PUBLIC_WEB_URL", "http://shop.example")
    flask_app = create_app()
    flask_app.dsn = service_db
    flask_app.infra = infra
    yield flask_app
    flask_app.extensions["pool"].close()


@pytest.fixture
def admin(app) -> Client:
    return Client(app, ADMIN)


def project(dsn: str, event_type: str, aggregate_id: str, version: int, payload: dict[str, Any],
            producer: str = "test") -> Envelope:
    """Apply an event of another service with the consumer's own projector (as the consumer would)."""
    env = Envelope(event_type=event_type, aggregate_id=aggregate_id, aggregate_version=version, payload=payload,
                   producer=producer, shop_id=payload.get("shop_id"), occurred_at=datetime.now(UTC))
    with psycopg.connect(dsn) as conn:
        apply(conn, env)
        conn.commit()
    return env


def variant(dsn: str, shop_id: str, variant_id: str, name: str, price: int, *, version: int = 1,
            available: bool = True, currency: str = "EUR", tax_category: str | None = None) -> None:
    """A VariantUpdated; without ``tax_category``, of the shape it had before tax."""
    taxed = {"tax_category": tax_category} if tax_category else {}
    project(dsn, "VariantUpdated", f"{shop_id}:{variant_id}", version, {
        "variant_id": variant_id, "shop_id": shop_id, "product_name": name, "variant_name": None,
        "unit_price": price, "currency": currency, "on_hand": None, "available": available, **taxed})


def make_shop(admin: Client, app: Any, **settings: Any) -> SimpleNamespace:
    """A shop with a manager, methods, weekly cycles in a schedule, a catalog and a customer who allows charges."""
    shop = ok(admin.post("/shops", {**SHOP, **settings}), 201)
    sid = shop["id"]
    mtok = ok(admin.post("/tokens", {"role": "manager", "shop_ids": [sid], "label": "manager"}), 201)
    manager = Client(app, mtok["token"])
    ship = ok(manager.post(f"/shops/{sid}/shipping-methods", {"name": "Delivery", "fee_flat": 500,
                                                               "fee_percent_bp": 0}), 201)
    card = ok(manager.post(f"/shops/{sid}/payment-methods", {"name": "Card", "fee_flat": 30, "fee_percent_bp": 150,
                                                              "kind": "stripe"}), 201)
    cash = ok(manager.post(f"/shops/{sid}/payment-methods", {"name": "Cash", "fee_flat": 0, "fee_percent_bp": 0,
                                                              "kind": "cash"}), 201)
    generated = ok(manager.post(f"/shops/{sid}/order-cycles/generate", {
        "opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday", "closes_time": "17:00",
        "start_date": NOW.date().isoformat(), "count": 6}), 201)
    cycle_ids = [c["id"] for c in generated["order_cycles"]]
    schedule = ok(manager.post(f"/shops/{sid}/schedules", {"name": "Weekly", "order_cycle_ids": cycle_ids}), 201)
    variant(app.dsn, sid, "eggs-6", "Eggs", 320)
    variant(app.dsn, sid, "veg-box", "Veg box", 2500)
    customer = ok(manager.post(f"/shops/{sid}/customers", {"email": f"camille-{uuid.uuid4().hex[:6]}@example.org",
                                                           "first_name": "Camille", "last_name": "Durand",
                                                           "bill_address": ADDRESS, "ship_address": ADDRESS}), 201)
    ctok = ok(manager.post("/tokens", {"role": "customer", "shop_ids": [sid], "customer_id": customer["id"]}), 201)
    cust = Client(app, ctok["token"])  # a customer token the manager issued
    session = signed_in(app, sid, customer["email"])  # the customer's own session: saves the card, consents
    save_card_in_person(caller_of(app), session.token, sid, customer["id"], CARD_OK)
    return SimpleNamespace(id=sid, shop=shop, manager=manager, manager_token=mtok, ship=ship, card=card, cash=cash,
                           cycles=generated["order_cycles"], schedule=schedule, customer=customer, customer_api=cust,
                           customer_token=ctok, session=session)


def subscription_body(s: SimpleNamespace, **kw: Any) -> dict[str, Any]:
    return {"customer_id": s.customer["id"], "schedule_id": s.schedule["id"], "shipping_method_id": s.ship["id"],
            "payment_method_id": s.card["id"], "bill_address": ADDRESS, "ship_address": ADDRESS,
            "begins_at": NOW.isoformat(), "items": [{"variant_id": "eggs-6", "quantity": 2},
                                                   {"variant_id": "veg-box", "quantity": 1}], **kw}


@pytest.fixture
def shop(admin, app) -> SimpleNamespace:
    return make_shop(admin, app)


@pytest.fixture
def other_shop(admin, app) -> SimpleNamespace:
    return make_shop(admin, app, name="Autre boutique")


def drop_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics a test created under its own prefix (a shared broker slows down with every partition)."""
    from devstack.testing import delete_topics

    delete_topics(bootstrap, prefix)


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above for test modules (which cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(ADDRESS=ADDRESS, NOW=NOW, ADMIN=ADMIN, Client=Client, ok=ok, make_shop=make_shop,
                           caller_of=caller_of, signed_in=signed_in,
                           project=project, variant=variant, subscription_body=subscription_body, date=date,
                           timedelta=timedelta, drop_topics=drop_topics)
