"""order-service against real PostgreSQL, Kafka and the SMTP sink, fed with the other services' events.

``OrderStack`` owns one database, one topic prefix, the worker processes (consumer, relay, notifier)
and an in-process API (Flask test client). ``Feed`` publishes what subscription-service, the
scheduler, the platform's catalog and billing-service would publish (shared_events envelopes on
their topics), so these tests never depend on those services' code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from devstack.testing import delete_topics, process_env, scalar, start_process, wait_for
from order_service import DEFAULT_PORT, SERVICE_NAME
from order_service.config import MIGRATIONS_DIR, ReactionSettings, ServiceSettings
from order_service.entrypoints.flask_app import create_app
from servicekit.auth import new_token, token_hash
from servicekit.config import Settings
from servicekit.db import migrate_dsn
from shared_events import Envelope, decode, encode
from shared_events import kafka as kafka_clients
from shared_events.platform import CatalogPublisher
from shared_events.topics import ensure_topics, physical

ADDRESS = {"first_name": "Camille", "last_name": "Durand", "address1": "12 rue des Lilas", "address2": None,
           "city": "Lyon", "zipcode": "69003", "state": None, "country": "FR", "phone": None}
MANAGER_ACTOR = {"type": "manager", "id": "tests"}
SCHEDULER = {"type": "system", "id": "scheduler-service"}


def uid(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4()}"


@dataclass
class Shop:
    shop_id: str
    name: str
    locale: str
    contact_email: str
    owner_email: str
    ship_id: str = field(default_factory=uid)
    card_id: str = field(default_factory=uid)
    cash_id: str = field(default_factory=uid)


class Feed:
    """Publishes the other services' events; aggregate versions count up per (topic, aggregate)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = kafka_clients.producer(bootstrap)
        self.catalog = CatalogPublisher(producer=self.producer)
        self.versions: dict[tuple[str, str], int] = defaultdict(int)
        # called with (shop, variant id, catalog version) after a variant is published: the stack waits there until
        # its consumer has applied it (see OrderStack.variant_applied)
        self.variant_published: Callable[[Shop, str, int], None] | None = None

    def send(self, event_type: str, aggregate_id: str, payload: dict[str, Any], *, shop_id: str | None,
             producer: str = "tests", occurred_at: datetime | None = None) -> Envelope:
        probe = Envelope(event_type=event_type, aggregate_id=aggregate_id, aggregate_version=1, payload=payload,
                         producer=producer)
        key = (probe.topic_family, aggregate_id)
        self.versions[key] += 1
        env = Envelope(event_type=event_type, aggregate_id=aggregate_id, aggregate_version=self.versions[key],
                       payload=payload, producer=producer, shop_id=shop_id,
                       occurred_at=occurred_at or datetime.now(UTC))
        self.resend(env)
        return env

    def resend(self, env: Envelope) -> None:
        """The same event again (what a redelivery or a relay crash looks like to a consumer)."""
        self.producer.produce(physical(env.topic_family), key=env.aggregate_id.encode(), value=encode(env))
        self.producer.flush()

    # -- subscription-service --------------------------------------------------------------------------------

    def shop(self, *, locale: str = "en", allow_order_changes: bool = True, policy: str = "first_come",
             currency: str = "EUR", prices_include_tax: bool | None = None,
             tax_rates: dict[str, int] | None = None, shipping_tax_category: str | None = None, **more: Any) -> Shop:
        """A shop with a delivery (5.00), a card (1.5 %) and a cash method. Without the tax arguments, its events
        have the shape they had before tax (no tax fields)."""
        shop = Shop(uid(), f"Shop {uuid.uuid4().hex[:6]}", locale, f"contact-{uuid.uuid4().hex[:8]}@shop.example",
                    f"owner-{uuid.uuid4().hex[:8]}@shop.example")
        settings = {"name": shop.name, "timezone": "Europe/Paris", "currency": currency, "locale": locale,
                    "contact_email": shop.contact_email, "owner_email": shop.owner_email,
                    "subscriptions_enabled": True, "allow_order_changes": allow_order_changes,
                    "allow_customer_skip": False, "allocation_policy": policy, "late_placement": "always",
                    "payment_retry": {"delays_hours": [24], "max_attempts": 2}, "stripe_account_id": None, **more}
        if prices_include_tax is not None:
            settings["prices_include_tax"] = prices_include_tax
        if tax_rates is not None:
            settings["tax_rates"] = [{"category": c, "rate_bp": r} for c, r in tax_rates.items()]
        self.send("ShopCreated", shop.shop_id, {"shop_id": shop.shop_id, "settings": settings,
                                                "actor": {"type": "admin", "id": "admin"}, "reason": None},
                  shop_id=shop.shop_id)
        method = {"shop_id": shop.shop_id, "description": None, "active": True, "actor": MANAGER_ACTOR,
                  "reason": None}
        taxed = {"tax_category": shipping_tax_category} if shipping_tax_category else {}
        self.send("ShippingMethodSaved", shop.shop_id, {**method, "method_id": shop.ship_id, "name": "Delivery",
                                                        "fee_flat": 500, "fee_percent_bp": 0, "pickup": False,
                                                        **taxed}, shop_id=shop.shop_id)
        self.send("PaymentMethodSaved", shop.shop_id, {**method, "method_id": shop.card_id, "name": "Card",
                                                       "fee_flat": 0, "fee_percent_bp": 150, "kind": "stripe"},
                  shop_id=shop.shop_id)
        self.send("PaymentMethodSaved", shop.shop_id, {**method, "method_id": shop.cash_id, "name": "Cash",
                                                       "fee_flat": 0, "fee_percent_bp": 0, "kind": "cash"},
                  shop_id=shop.shop_id)
        return shop

    def customer(self, shop: Shop, *, first_name: str = "Camille", locale: str | None = None) -> tuple[str, str]:
        customer_id, email = uid(), f"{first_name.lower()}-{uuid.uuid4().hex[:8]}@example.org"
        self.send("CustomerCreated", customer_id, {
            "customer_id": customer_id, "shop_id": shop.shop_id, "actor": MANAGER_ACTOR, "reason": None,
            "details": {"email": email, "first_name": first_name, "last_name": "Durand", "locale": locale,
                        "bill_address": ADDRESS, "ship_address": ADDRESS}}, shop_id=shop.shop_id)
        return customer_id, email

    def cycle(self, shop: Shop, *, opens_at: datetime | None = None, closes_at: datetime | None = None,
              name: str = "Week 14") -> dict[str, Any]:
        now = datetime.now(UTC).replace(microsecond=0)
        cycle = {"order_cycle_id": uid(), "shop_id": shop.shop_id, "name": name,
                 "opens_at": opens_at or now - timedelta(hours=1), "closes_at": closes_at or now + timedelta(days=2)}
        self.send("OrderCycleCreated", cycle["order_cycle_id"], {**cycle, "actor": MANAGER_ACTOR, "reason": None},
                  shop_id=shop.shop_id)
        return cycle

    def subscription(self, shop: Shop, customer_id: str, items: dict[str, int], *, cash: bool = False,
                     created_at: datetime | None = None, sequence: int | None = None, sub_id: str | None = None,
                     by: dict[str, str] | None = None, substitutes: dict[str, list[str]] | None = None) -> str:
        """``by``: the event's actor; without one (as events from before actors were recorded) the customer is not
        emailed that the shop created it (service_layer/notices.py), so the other tests count only order emails.
        ``substitutes``: an item's substitutes by its variant (none without)."""
        sub_id = sub_id or uid()
        terms = {"items": [{"variant_id": v, "quantity": q, "price_estimate": None,
                            **({"substitutes": substitutes[v]} if substitutes and v in substitutes else {})}
                           for v, q in items.items()],
                 "shipping_method_id": shop.ship_id, "payment_method_id": shop.cash_id if cash else shop.card_id,
                 "payment_kind": "cash" if cash else "stripe", "bill_address": ADDRESS, "ship_address": ADDRESS,
                 "begins_at": datetime(2026, 1, 1, tzinfo=UTC), "ends_at": None, "shipping_fee_estimate": None,
                 "payment_fee_estimate": None}
        self.send("SubscriptionCreated", sub_id, {
            "subscription_id": sub_id, "shop_id": shop.shop_id, "customer_id": customer_id, "schedule_id": uid(),
            "currency": "EUR", "terms": terms, "actor": by, "reason": None, "sequence": sequence},
            shop_id=shop.shop_id, occurred_at=created_at)
        return sub_id

    def subscription_event(self, event_type: str, shop: Shop, sub_id: str, **payload: Any) -> Envelope:
        return self.send(event_type, sub_id, {"subscription_id": sub_id, "shop_id": shop.shop_id,
                                              "actor": MANAGER_ACTOR, "reason": None, **payload},
                         shop_id=shop.shop_id)

    # -- the platform's catalog ------------------------------------------------------------------------------

    def variant(self, shop: Shop, variant_id: str, name: str, *, price: int, on_hand: int | None,
                available: bool = True, variant_name: str | None = None, supplier: str | None = None,
                tax_category: str | None = None) -> None:
        env = self.catalog.variant(shop.shop_id, variant_id, name, unit_price=price, currency="EUR", on_hand=on_hand,
                                   available=available, variant_name=variant_name, supplier=supplier,
                                   tax_category=tax_category)
        self.catalog.flush()
        if self.variant_published is not None:
            self.variant_published(shop, variant_id, env.aggregate_version)

    # -- scheduler-service -----------------------------------------------------------------------------------

    def due(self, shop: Shop, cycle: dict[str, Any], sub_id: str, customer_id: str, *, reason: str = "cycle_opened",
            late: bool = False) -> Envelope:
        return self.send("OrderDue", f"{sub_id}:{cycle['order_cycle_id']}", {
            "subscription_id": sub_id, "order_cycle_id": cycle["order_cycle_id"], "shop_id": shop.shop_id,
            "customer_id": customer_id, "schedule_id": uid(), "opens_at": cycle["opens_at"],
            "closes_at": cycle["closes_at"], "due_at": cycle["opens_at"], "reason": reason, "lateness_seconds": 0.1,
            "late": late}, shop_id=shop.shop_id, producer="scheduler-service")

    def boundary(self, event_type: str, cycle: dict[str, Any], **extra: Any) -> Envelope:
        at = cycle["opens_at"] if event_type == "OrderCycleOpened" else cycle["closes_at"]
        return self.send(event_type, cycle["order_cycle_id"], {
            "order_cycle_id": cycle["order_cycle_id"], "shop_id": cycle["shop_id"], "opens_at": cycle["opens_at"],
            "closes_at": cycle["closes_at"], "boundary_at": at, "lateness_seconds": 0.1, **extra},
            shop_id=cycle["shop_id"], producer="scheduler-service")

    # -- billing-service -------------------------------------------------------------------------------------

    def payment(self, event_type: str, order: dict[str, Any], payment_id: str, **fields: Any) -> Envelope:
        return self.send(event_type, payment_id, {
            "payment_id": payment_id, "order_id": order["order_id"], "shop_id": order["shop_id"],
            "customer_id": order["customer_id"], "actor": {"type": "system", "id": "billing-service"},
            "reason": None, **fields}, shop_id=order["shop_id"], producer="billing-service")

    # -- identity --------------------------------------------------------------------------------------------

    def token(self, role: str, shop_ids: list[str], customer_id: str | None = None) -> tuple[str, str]:
        token, token_id = new_token(), str(uuid.uuid4())
        self.send("TokenIssued", token_id, {"token_id": token_id, "token_hash": token_hash(token), "role": role,
                                            "shop_ids": shop_ids, "customer_id": customer_id, "label": None,
                                            "expires_at": None, "actor": None, "reason": None}, shop_id=None)
        return token, token_id


class OrderStack:
    WORKERS = ("consumer", "relay", "notifier")

    def __init__(self, infra: Any, tmp: Path, **reaction_env: Any) -> None:
        self.infra = infra
        self.tmp = tmp
        self.prefix = f"t{uuid.uuid4().hex[:10]}."
        ensure_topics(infra.bootstrap, self.prefix)
        self.dsn = infra.new_database("orders")
        migrate_dsn(self.dsn, MIGRATIONS_DIR)
        self.admin_token = "rop_admin_" + uuid.uuid4().hex
        # slices of 2: every opening batch of more than two dues is placed in several slices
        # a due waits for products the catalog has not told of CATALOG_WAIT_S at most: tests of a variant the catalog
        # never publishes wait that long
        self.reaction_env = {"PLACEMENT_RUN_WINDOW_S": 1, "CONFIRMATION_SUMMARY_WAIT_S": 600, "BATCH_WAIT_S": 4,
                             "PLACEMENT_SLICE": 2, "CATALOG_WAIT_S": 6, **reaction_env}
        base = replace(Settings.from_env(SERVICE_NAME, DEFAULT_PORT), database_url=self.dsn,
                       kafka_bootstrap=infra.bootstrap, topic_prefix=self.prefix, admin_token=self.admin_token,
                       app_env="test", test_clock_url=None)
        self.settings = ServiceSettings(base=base, reactions=ReactionSettings())
        self.app = create_app(self.settings)
        self.client = self.app.test_client()
        self.procs: dict[str, subprocess.Popen] = {}
        self._old_prefix = os.environ.get("TOPIC_PREFIX")
        os.environ["TOPIC_PREFIX"] = self.prefix  # the feed publishes to this stack's topics
        self.feed = Feed(infra.bootstrap)
        self.feed.variant_published = self.variant_applied

    # -- processes -------------------------------------------------------------------------------------------

    def env(self, **extra: Any) -> dict[str, str]:
        env = process_env(self.dsn, self.infra.bootstrap, self.prefix, SMTP_HOST="127.0.0.1",
                          SMTP_PORT=self.infra.smtp_port, MAIL_FROM="Orders <orders@orders.example>",
                          ORDER_SERVICE_URL="http://orders.example", PUBLIC_WEB_URL="http://shop.example",
                          ADMIN_TOKEN=self.admin_token,
                          **self.reaction_env, **extra)
        env.pop("TEST_CLOCK_URL", None)
        return env

    def start(self, worker: str, **extra: Any) -> subprocess.Popen:
        proc = start_process(["-m", f"order_service.entrypoints.{worker}"], self.env(**extra),
                             self.tmp / f"{worker}.log")
        self.procs[worker] = proc
        return proc

    def start_all(self) -> None:
        for worker in self.WORKERS:
            self.start(worker)

    def stop(self, worker: str) -> int:
        proc = self.procs.pop(worker)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def log(self, worker: str) -> str:
        path = self.tmp / f"{worker}.log"
        return path.read_text() if path.exists() else ""

    def close(self) -> None:
        """Stop the workers, then (unless DEVSTACK_KEEP=1) delete this stack's topics and database: a broker
        and a PostgreSQL shared by every suite must not keep what each test run leaves."""
        for worker in list(self.procs):
            self.stop(worker)
        self.feed.producer.close()
        self.app.extensions["pool"].close()
        if self._old_prefix is None:
            os.environ.pop("TOPIC_PREFIX", None)
        else:
            os.environ["TOPIC_PREFIX"] = self._old_prefix
        if os.environ.get("DEVSTACK_KEEP") == "1":
            return
        try:
            delete_topics(self.infra.bootstrap, self.prefix)
            name = conninfo_to_dict(self.dsn)["dbname"]
            with psycopg.connect(self.infra.admin_db_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except Exception as exc:
            warnings.warn(f"could not clean up after the order-service stack {self.prefix}: {exc}", stacklevel=1)

    # -- reading ---------------------------------------------------------------------------------------------

    def rows(self, query: str, params: Any = ()) -> list[dict[str, Any]]:
        with psycopg.connect(self.dsn, row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def scalar(self, query: str, params: Any = ()) -> Any:
        return scalar(self.dsn, query, params)

    def wait(self, predicate: Any, what: str, timeout: float = 60) -> Any:
        try:
            return wait_for(predicate, timeout=timeout, what=what)
        except AssertionError:
            for worker in self.WORKERS:
                print(f"--- {worker} log ---\n{self.log(worker)[-4000:]}")
            raise

    def orders(self, shop: Shop) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM orders WHERE shop_id = %s ORDER BY placed_at, order_id", [shop.shop_id])

    def wait_orders(self, shop: Shop, n: int, status: str | None = None, timeout: float = 60) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]] | None:
            found = [o for o in self.orders(shop) if status is None or o["status"] == status]
            return found if len(found) >= n else None

        return self.wait(enough, f"{n} {status or ''} orders of shop {shop.name}", timeout)

    def order_of(self, sub_id: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM orders WHERE subscription_id = %s", [sub_id])
        return found[0] if found else None

    def lines(self, order_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM order_lines WHERE order_id = %s ORDER BY position", [order_id])

    def on_hand(self, shop: Shop, variant_id: str) -> int | None:
        return self.scalar("SELECT on_hand FROM catalog_variants WHERE shop_id = %s AND variant_id = %s",
                           [shop.shop_id, variant_id])

    def settle(self, timeout: float = 60) -> None:
        """Wait until the consumer has applied everything published so far (redeliveries included)."""
        from devstack.testing import group_lag
        from order_service.entrypoints.consumer import TOPICS

        topics = [physical(t, self.prefix) for t in TOPICS]
        self.wait(lambda: group_lag(self.infra.bootstrap, self.settings.consumer_group, topics) == 0,
                  "the consumer to catch up", timeout)

    def wait_projected(self, query: str, params: Any, what: str) -> None:
        self.wait(lambda: self.scalar(query, params), what)

    def variant_applied(self, shop: Shop, variant_id: str, version: int) -> None:
        """With the consumer running, wait until it has applied this version of a variant. The catalog is a topic of
        its own: Kafka keeps no order between topics, so a due published after a variant may be applied before it,
        and an order placed for a variant not known yet gets none of it (an empty order, which no one can change
        or cancel). Stacks whose consumer is not running (yet) publish without waiting."""
        consumer = self.procs.get("consumer")
        if consumer is not None and consumer.poll() is None:
            self.wait_projected("SELECT 1 FROM catalog_variants WHERE shop_id = %s AND variant_id = %s "
                                "AND version >= %s", [shop.shop_id, variant_id, version], f"the variant {variant_id}")

    def wait_token(self, token_id: str) -> None:
        self.wait_projected("SELECT 1 FROM api_tokens WHERE token_id = %s", [token_id], "the token to be projected")

    def events(self, order_id: str) -> list[str]:
        """Our event store's events of an order, in version order."""
        return [r["event_type"] for r in self.rows(
            "SELECT event_type FROM event_store WHERE aggregate_id = %s ORDER BY aggregate_version", [order_id])]

    def published(self, topic: str = "orders.events") -> list[Envelope]:
        """Every record of one of this stack's topics, decoded."""
        return [decode(r.value) for r in kafka_clients.read_topic(physical(topic, self.prefix), self.infra.bootstrap)]

    def wait_published(self, count: Any, what: str, timeout: float = 60) -> list[Envelope]:
        """Wait for every stored event to be published; ``count(events)`` says whether enough are there."""
        self.wait(lambda: self.scalar("SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                  "the relay to publish everything", timeout)
        return self.wait(lambda: (lambda evs: evs if count(evs) else None)(self.published()), what, timeout)

    # -- the API ---------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        headers["Authorization"] = f"Bearer {token or self.admin_token}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kw)

    # -- the SMTP sink ---------------------------------------------------------------------------------------

    def mails(self, to: str) -> list[dict[str, Any]]:
        return requests.get(f"{self.infra.smtp_api}/messages", params={"to": to}, timeout=10).json()

    def wait_mails(self, to: str, n: int, what: str = "", timeout: float = 60) -> list[dict[str, Any]]:
        return self.wait(lambda: (lambda m: m if len(m) >= n else None)(self.mails(to)),
                         f"{n} email(s) to {to} {what}", timeout)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, indent=2)
