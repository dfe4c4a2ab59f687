"""billing-service against real PostgreSQL, Kafka and localstripe.

``billing`` gives each test its own database, topics, test clock, webhook secret and API (in this process,
served on a real port so that localstripe can deliver webhooks to it); the workers (consumer, relay, charger)
run as processes, started by the test. Tests feed the service by publishing shops, customers and orders
events themselves, and create Stripe customers and cards in localstripe with the SDK (unique per test).
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import stripe
from werkzeug.serving import make_server

from billing_service import DEFAULT_PORT, SERVICE_NAME
from billing_service.config import MIGRATIONS_DIR, ServiceSettings
from billing_service.entrypoints.flask_app import create_app
from devstack.procs import free_port
from devstack.testing import process_env, rows, scalar, start_process, wait_for
from servicekit.auth import new_token, token_hash
from servicekit.clock import init_test_clock
from servicekit.config import Settings
from shared_events import Envelope, decode, encode
from shared_events import kafka as kafka_clients
from shared_events.contracts.shops import default_payment_retry
from shared_events.examples import EXAMPLES, SETTINGS
from shared_events.topics import physical

T0 = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)  # the cycle closes: orders are confirmed and payments requested
STRIPE_KEY = "sk_test_billing_integration_tests"
SYSTEM = {"type": "system", "id": "order-service"}

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"
CARD_3DS_REQUIRED = "4000002760003184"
CARD_3DS_ALWAYS = "4000002500003155"


def card(number: str) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}


class BillingStack:
    def __init__(self, infra: Any, topic_prefix: str, dsn: str, tmp: Path) -> None:
        self.infra = infra
        self.prefix = topic_prefix
        self.dsn = dsn
        self.tmp = tmp
        self.clock_dsn = infra.new_database("clock")
        init_test_clock(self.clock_dsn, T0)
        self.webhook_secret = "whsec_" + uuid.uuid4().hex
        self.admin_token = "rop_admin_" + uuid.uuid4().hex
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stripe_url = infra.stripe_url
        base = replace(Settings.from_env(SERVICE_NAME, DEFAULT_PORT), database_url=dsn,
                       kafka_bootstrap=infra.bootstrap, topic_prefix=topic_prefix, admin_token=self.admin_token,
                       app_env="test", test_clock_url=self.clock_dsn, public_base_url=self.url)
        self.web_url = "https://shop.example"  # the web app's PUBLIC_WEB_URL: where authorisation links point
        self.settings = ServiceSettings.from_env({**self._stripe_env(), "PUBLIC_WEB_URL": self.web_url}, base)
        self.app = create_app(self.settings)
        self.client = self.app.test_client()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.procs: dict[str, subprocess.Popen] = {}
        self.producer = kafka_clients.producer(infra.bootstrap)
        self.stripe = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": self.stripe_url},
                                          max_network_retries=0).v1
        self.webhook_id: str | None = None
        self.T0 = T0

    def _stripe_env(self) -> dict[str, str]:
        return {"STRIPE_API_BASE": self.stripe_url, "STRIPE_API_KEY": STRIPE_KEY,
                "STRIPE_WEBHOOK_SECRET": self.webhook_secret}

    # -- processes ---------------------------------------------------------------------------------------------

    def env(self, **extra: Any) -> dict[str, str]:
        settings = {"TEST_CLOCK_URL": self.clock_dsn, "PUBLIC_BASE_URL": self.url, "ADMIN_TOKEN": self.admin_token,
                    "PUBLIC_WEB_URL": self.web_url,
                    **self._stripe_env(), **extra}
        return process_env(self.dsn, self.infra.bootstrap, self.prefix, **settings)

    def start(self, worker: str, **extra: Any) -> subprocess.Popen:
        log = self.tmp / f"{worker}.log"
        proc = start_process(["-m", f"billing_service.entrypoints.{worker}"], self.env(**extra), log)
        self.procs[worker] = proc
        return proc

    def start_all(self, **extra: Any) -> None:
        for worker in ("consumer", "relay", "charger"):
            self.start(worker, **extra)

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
        for worker in list(self.procs):
            self.stop(worker)
        if self.webhook_id:  # localstripe keeps receivers for its lifetime: point this one at nothing
            requests.post(f"{self.stripe_url}/_config/webhooks/{self.webhook_id}",
                          json={"url": "http://127.0.0.1:9/", "secret": self.webhook_secret,
                                "events": ["nothing.at_all"]}, timeout=10)
        self.server.shutdown()
        self.producer.close()
        self.app.extensions["pool"].close()

    # -- the world around billing: shops, customers, orders -----------------------------------------------------

    def publish(self, *envelopes: Envelope) -> None:
        for env in envelopes:
            kafka_clients.send(self.producer, physical(env.topic_family, self.prefix), env.aggregate_id.encode(),
                               encode(env))
        self.producer.flush()

    def shop(self, *, delays_hours: list[int] | None = None, max_attempts: int = 3, name: str = "La Ruche",
             stripe_account_id: str | None = None, retry_named: bool = True) -> str:
        """A shop as subscription-service creates it: with the default retry policy a new shop gets unless
        ``delays_hours`` is given; ``retry_named=False`` leaves the policy out (events from before it existed)."""
        shop_id = str(uuid.uuid4())
        retry = default_payment_retry() if delays_hours is None else {"delays_hours": delays_hours,
                                                                      "max_attempts": max_attempts}
        settings = {**SETTINGS, "name": name, "stripe_account_id": stripe_account_id, "payment_retry": retry}
        if not retry_named:
            del settings["payment_retry"]
        self.publish(Envelope("ShopCreated", shop_id, 1, {"shop_id": shop_id, "settings": settings,
                                                           "actor": {"type": "admin", "id": "admin"}, "reason": None},
                              "subscription-service", shop_id=shop_id))
        return shop_id

    def customer(self, shop_id: str, number: str | None = CARD_OK, *, allow: bool = True) -> dict[str, Any]:
        """A customer of the shop; with a card (attached in localstripe) and the permission to charge it."""
        customer_id = str(uuid.uuid4())
        who = {"customer_id": customer_id, "shop_id": shop_id}
        events = [("CustomerCreated", {**EXAMPLES["CustomerCreated"], **who,
                                       "details": {**EXAMPLES["CustomerCreated"]["details"],
                                                   "email": f"{customer_id[:8]}@example.org"}})]
        out: dict[str, Any] = {"customer_id": customer_id, "stripe_customer_id": None, "payment_method_id": None}
        if number:
            cus = self.stripe.customers.create({"email": f"{customer_id[:8]}@example.org"})
            pm = self.stripe.payment_methods.create({"type": "card", "card": card(number)})
            self.stripe.payment_methods.attach(pm.id, {"customer": cus.id})
            out.update(stripe_customer_id=cus.id, payment_method_id=pm.id)
            events.append(("CustomerCardSet", {**EXAMPLES["CustomerCardSet"], **who, "stripe_customer_id": cus.id,
                                               "payment_method_id": pm.id, "card_brand": "visa",
                                               "card_last4": number[-4:]}))
            if allow:
                events.append(("CustomerChargesAllowed", {**EXAMPLES["CustomerChargesAllowed"], **who,
                                                          "payment_method_id": pm.id}))
        self.publish(*[Envelope(t, customer_id, v, p, "subscription-service", shop_id=shop_id)
                       for v, (t, p) in enumerate(events, 1)])
        return out

    def order(self, shop_id: str, customer_id: str, amount: int = 3640, *, kind: str = "stripe",
              cycle_id: str | None = None, at: datetime | None = None) -> dict[str, Any]:
        """An order placed, confirmed at close and whose payment is requested (as order-service emits them), at
        ``at`` (default T0)."""
        order_id = str(uuid.uuid4())
        ids = {"order_id": order_id, "shop_id": shop_id, "customer_id": customer_id,
               "subscription_id": str(uuid.uuid4()), "order_cycle_id": cycle_id or str(uuid.uuid4())}
        number = f"R2026-{order_id[:6]}"
        totals = {**EXAMPLES["OrderConfirmed"]["totals"], "total": amount}
        events = [
            ("OrderPlaced", {**EXAMPLES["OrderPlaced"], **ids, "number": number, "payment_kind": kind,
                             "totals": totals}),
            ("OrderConfirmed", {**EXAMPLES["OrderConfirmed"], **ids, "number": number, "payment_kind": kind,
                                "totals": totals, "payment_required": True, "actor": SYSTEM}),
            ("PaymentRequested", {**EXAMPLES["PaymentRequested"], **ids, "number": number, "amount": amount,
                                  "payment_kind": kind, "actor": SYSTEM}),
        ]
        envs = [Envelope(t, order_id, v, p, "order-service", shop_id=shop_id, occurred_at=at or T0)
                for v, (t, p) in enumerate(events, 1)]
        self.publish(*envs)
        return {**ids, "number": number, "amount": amount, "envelopes": envs}

    def token(self, role: str, shop_ids: list[str], customer_id: str | None = None, *,
              in_person: bool = False) -> str:
        """A bearer token issued on identity.events, usable once billing projected it. ``in_person``: a customer's
        session opened with the link emailed to them (what subscription-service issues on POST /sessions)."""
        secret, token_id = new_token(), str(uuid.uuid4())
        self.publish(Envelope("TokenIssued", token_id, 1, {
            "token_id": token_id, "token_hash": token_hash(secret), "role": role, "shop_ids": shop_ids,
            "customer_id": customer_id, "label": role, "expires_at": None,
            "obtained_by": "email_sign_in_link" if in_person else None,
            "actor": {"type": "admin", "id": "admin"}, "reason": None}, "subscription-service"))
        wait_for(lambda: scalar(self.dsn, "SELECT count(*) FROM api_tokens WHERE token_id = %s", [token_id]),
                 what="the token to be projected")
        return secret

    # -- what billing did ---------------------------------------------------------------------------------------

    def payment(self, order_id: str) -> dict[str, Any] | None:
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute("SELECT * FROM payments WHERE order_id = %s", [order_id])
            row = cur.fetchone()
            return dict(zip([c.name for c in cur.description], row)) if row else None

    def wait_payment(self, order_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            p = self.payment(order_id)
            return p if p and p["status"] in statuses else None
        try:
            return wait_for(reached, timeout=timeout, what=f"payment of {order_id} to be {statuses}")
        except AssertionError:
            raise AssertionError(f"payment is {self.payment(order_id)}\ncharger log:\n{self.log('charger')[-3000:]}"
                                 f"\nconsumer log:\n{self.log('consumer')[-2000:]}") from None

    def attempts(self, order_id: str) -> list[dict[str, Any]]:
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute("SELECT * FROM payment_attempts WHERE order_id = %s ORDER BY attempt", [order_id])
            return [dict(zip([c.name for c in cur.description], r)) for r in cur.fetchall()]

    def events(self, aggregate_id: str) -> list[tuple[str, dict[str, Any]]]:
        """billing's events for a payment, in order, as stored in its outbox."""
        return [(decode(bytes(b)).event_type, decode(bytes(b)).payload)
                for (b,) in rows(self.dsn, "SELECT body FROM event_store WHERE aggregate_id = %s "
                                           "ORDER BY aggregate_version", [aggregate_id])]

    def event_types(self, aggregate_id: str) -> list[str]:
        return [t for t, _ in self.events(aggregate_id)]

    def succeeded_charges(self, stripe_customer_id: str, order_id: str) -> list[dict[str, Any]]:
        """Successful charges localstripe holds for this order (through their PaymentIntents' metadata)."""
        out = []
        for ch in self.stripe.charges.list({"customer": stripe_customer_id, "limit": 100}).auto_paging_iter():
            if ch.status == "succeeded" and ch.payment_intent:
                pi = self.stripe.payment_intents.retrieve(ch.payment_intent)
                if pi.metadata.to_dict().get("order_id") == order_id:
                    out.append(ch.to_dict())
        return out

    def all_charges(self, stripe_customer_id: str) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.stripe.charges.list({"customer": stripe_customer_id, "limit": 100})
                .auto_paging_iter()]

    def set_clock(self, at: datetime) -> None:
        init_test_clock(self.clock_dsn, at)

    def advance(self, delta: timedelta) -> datetime:
        with psycopg.connect(self.clock_dsn) as conn:
            now = conn.execute("SELECT now_at FROM test_clock WHERE id = 1").fetchone()[0]
        self.set_clock(now + delta)
        return now + delta

    def register_webhook(self) -> None:
        """localstripe delivers its events (once each) to this stack's API, signed with this stack's secret."""
        self.webhook_id = "billing-" + uuid.uuid4().hex[:8]
        resp = requests.post(f"{self.stripe_url}/_config/webhooks/{self.webhook_id}",
                             json={"url": f"{self.url}/webhooks/stripe", "secret": self.webhook_secret,
                                   "events": ["payment_intent.succeeded", "payment_intent.payment_failed"]},
                             timeout=10)
        resp.raise_for_status()

    def signed(self, event: dict[str, Any] | str, *, secret: str | None = None,
               at: int | None = None) -> dict[str, str]:
        """Headers for a webhook signed as Stripe signs them (an event, or a body given as text)."""
        import hashlib
        import hmac

        body = event if isinstance(event, str) else json.dumps(event)
        t = int(time.time()) if at is None else at
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json", "_body": body}

    def post_webhook(self, event: dict[str, Any] | str, **kw: Any) -> Any:
        headers = self.signed(event, **kw)
        body = headers.pop("_body")
        return self.client.post("/webhooks/stripe", data=body, headers=headers)

    def auth(self, token: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture(autouse=True)
def _few_partitions(monkeypatch):
    """Two partitions per topic are plenty here (ordering is per key either way) and spare the broker."""
    monkeypatch.setenv("TOPIC_PARTITIONS", "2")


@pytest.fixture
def billing(infra, topic_prefix, make_db, tmp_path):
    stack = BillingStack(infra, topic_prefix, make_db(MIGRATIONS_DIR), tmp_path)
    try:
        yield stack
    finally:
        stack.close()
