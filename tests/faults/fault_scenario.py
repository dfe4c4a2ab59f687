"""What the fault run does to the platform, through its public doors only (REST APIs, the catalog topic, Stripe as a
customer's browser, the test clock), and what it therefore expects.

One order cycle in a few shops; every subscription has a *kind* that says what happens to it before the open, while
the cycle is open, and what must be true at the end: an order or not, confirmed or cancelled, charged exactly once
or never, the payment's status.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from devstack.scenario import CARD_DECLINED_AT_CHARGE, CARD_NEEDS_3DS, CARD_OK, address
from devstack.testing import customer_in_person, scalar

try:
    from fault_harness import Api, ApiError, ClientStats, FaultStack, eventually
except ImportError:  # imported as a package module
    from .fault_harness import Api, ApiError, ClientStats, FaultStack, eventually


@dataclass(frozen=True)
class Kind:
    name: str
    weight: float
    payer: str  # card | declined | sca | cash | no_permission
    when: str  # created before the open, or "mid_cycle"
    order: bool  # an order exists at the end
    status: str | None  # its status at the end
    payment: str | None  # billing's payment status at the end (None: no payment)
    charged: bool  # exactly one successful charge in Stripe (else none)


KINDS = [
    # before the open
    Kind("ok", 0.44, "card", "before", True, "confirmed", "succeeded", True),
    Kind("declined", 0.04, "declined", "before", True, "confirmed", "failed", False),
    Kind("sca", 0.03, "sca", "before", True, "confirmed", "requires_action", False),
    Kind("sca_authorised", 0.02, "sca", "before", True, "confirmed", "succeeded", True),
    Kind("cash", 0.08, "cash", "before", True, "confirmed", "pending", False),
    Kind("no_permission", 0.02, "no_permission", "before", True, "confirmed", "failed", False),
    Kind("paused", 0.02, "card", "before", False, None, None, False),
    Kind("cancelled", 0.02, "card", "before", False, None, None, False),
    Kind("skipped", 0.02, "card", "before", False, None, None, False),
    Kind("begins_later", 0.02, "card", "before", False, None, None, False),
    Kind("ended", 0.02, "card", "before", False, None, None, False),
    Kind("shop_disabled", 0.03, "card", "before", False, None, None, False),
    # while the cycle is open
    Kind("edited", 0.05, "card", "before", True, "confirmed", "succeeded", True),
    Kind("manager_cancelled", 0.02, "card", "before", True, "cancelled", None, False),
    Kind("cancelled_resumed", 0.02, "card", "before", True, "confirmed", "succeeded", True),
    Kind("skipped_open", 0.02, "card", "before", True, "cancelled", None, False),
    Kind("paused_cancel", 0.02, "card", "before", True, "cancelled", None, False),
    Kind("paused_keep", 0.02, "card", "before", True, "confirmed", "succeeded", True),
    Kind("sub_updated", 0.03, "card", "before", True, "confirmed", "succeeded", True),
    Kind("mid_cycle", 0.04, "card", "mid_cycle", True, "confirmed", "succeeded", True),
]
KIND = {k.name: k for k in KINDS}
CARDS = {"card": CARD_OK, "declined": CARD_DECLINED_AT_CHARGE, "sca": CARD_NEEDS_3DS, "no_permission": CARD_OK}
ITEMS = {"box": 1, "eggs": 2}


def plan_kinds(total: int) -> list[str]:
    """``total`` kinds in proportion to their weights, each at least once, in a shuffled but fixed order."""
    counts = {k.name: max(1, math.floor(total * k.weight)) for k in KINDS}
    counts["ok"] += total - sum(counts.values())
    assert counts["ok"] > 0, f"{total} subscriptions are too few for every kind"
    names = [n for n, c in counts.items() for _ in range(c)]
    import random

    random.Random(total).shuffle(names)
    return names


@dataclass
class ShopCtx:
    id: str
    name: str
    manager: Api  # subscription-service with the manager's token
    ship_id: str
    card_id: str
    cash_id: str
    disabled: bool
    cycle: dict[str, Any] = field(default_factory=dict)
    schedule_id: str = ""


@dataclass
class Sub:
    index: int
    kind: Kind
    shop: ShopCtx
    email: str = ""
    customer_id: str = ""
    token: str | None = None  # a customer token the manager issued
    session: str | None = None  # the customer's own session (signed in by email)
    id: str = ""
    order_id: str | None = None
    done: list[str] = field(default_factory=list)  # what the run did to it, in order


class FaultScenario:
    """Drives the platform; every call goes through ``Api`` (resends on a dead API)."""

    def __init__(self, stack: FaultStack, stats: ClientStats, threads: int = 6) -> None:
        self.stack = stack
        self.stats = stats
        self.threads = threads
        self.admin = {s: Api(s, stack.service_url(s), stack.cfg.admin_token, stats)
                      for s in ("subscription-service", "scheduler-service", "order-service", "billing-service")}
        self.shops: list[ShopCtx] = []
        self.subs: list[Sub] = []
        self.tokens: list[str] = []  # every bearer token issued (the secrets scan looks for them)
        self.links: list[str] = []  # client secrets handed to customers' browsers (secrets)
        self._catalog: Any = None

    def api(self, service: str, token: str | None) -> Api:
        return self.admin[service].as_(token)

    def subs_call(self, method: str, path: str, body: Any, token: str | None) -> Any:
        """devstack.testing's ``Call`` over subscription-service (resent on a dead API like every call here)."""
        r = self.api("subscription-service", token).call(method, path, json=body)
        return r.json() if r.content else None

    # -- the clock ------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromisoformat(self.admin["scheduler-service"].get("/api/v1/test-clock")["now"])

    def advance_to(self, at: datetime) -> None:
        """Move the test clock (the scheduler emits every boundary crossed); resent until the clock is there."""
        sched = self.admin["scheduler-service"]
        while self.now() < at:
            try:
                sched.call("POST", "/api/v1/test-clock/advance", json={"to": at.isoformat()}, expect=(200,),
                           retry_statuses=(409,))
            except ApiError as exc:
                if "forward" not in str(exc):
                    raise

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()

    # -- set-up ---------------------------------------------------------------------------------------------------

    def create_shops(self, enabled: int) -> None:
        from shared_events.platform import CatalogPublisher

        self._catalog = CatalogPublisher(self.stack.bootstrap, topic_prefix=self.stack.cfg.topic_prefix)
        subs_admin = self.admin["subscription-service"]
        for n in range(enabled + 1):
            disabled = n == enabled
            name = f"Fault hub {n}" + (" (kill switch)" if disabled else "")
            shop = subs_admin.post("/api/v1/shops", {
                "name": name, "timezone": "Europe/Paris", "currency": "EUR", "locale": "en" if n % 2 else "fr",
                "contact_email": f"hub{n}-{uuid.uuid4().hex[:6]}@example.org", "subscriptions_enabled": True,
                "allow_order_changes": True, "allow_customer_skip": True}, key=str(uuid.uuid4()))
            token = subs_admin.post("/api/v1/tokens", {"role": "manager", "shop_ids": [shop["id"]],
                                                      "label": f"manager of {name}"}, key=str(uuid.uuid4()))["token"]
            self.tokens.append(token)
            manager = self.api("subscription-service", token)
            base = f"/api/v1/shops/{shop['id']}"
            ship = manager.post(f"{base}/shipping-methods", {"name": "Home delivery", "fee_flat": 500,
                                                             "fee_percent_bp": 0, "pickup": False},
                                key=str(uuid.uuid4()))
            card = manager.post(f"{base}/payment-methods", {"name": "Card", "kind": "stripe", "fee_flat": 0,
                                                            "fee_percent_bp": 150}, key=str(uuid.uuid4()))
            cash = manager.post(f"{base}/payment-methods", {"name": "Cash", "kind": "cash", "fee_flat": 0,
                                                            "fee_percent_bp": 0}, key=str(uuid.uuid4()))
            self._catalog.variant(shop["id"], "box", "Veg box", unit_price=2000, currency="EUR", on_hand=None)
            self._catalog.variant(shop["id"], "eggs", "Eggs x6", unit_price=300, currency="EUR", on_hand=None)
            self.shops.append(ShopCtx(shop["id"], name, manager, ship["id"], card["id"], cash["id"], disabled))
        self._catalog.flush()
        now = self.now()
        for shop in self.shops:
            base = f"/api/v1/shops/{shop.id}"
            shop.cycle = shop.manager.post(f"{base}/order-cycles", {
                "name": "Fault week", "opens_at": (now + timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=2)).isoformat()}, key=str(uuid.uuid4()))
            shop.schedule_id = shop.manager.post(f"{base}/schedules", {
                "name": "Weekly", "order_cycle_ids": [shop.cycle["id"]]}, key=str(uuid.uuid4()))["id"]

    @property
    def opens_at(self) -> datetime:
        return datetime.fromisoformat(self.shops[0].cycle["opens_at"])

    @property
    def closes_at(self) -> datetime:
        return datetime.fromisoformat(self.shops[0].cycle["closes_at"])

    def plan(self, total: int) -> None:
        enabled = [s for s in self.shops if not s.disabled]
        disabled = next(s for s in self.shops if s.disabled)
        for i, name in enumerate(plan_kinds(total)):
            shop = disabled if name == "shop_disabled" else enabled[i % len(enabled)]
            self.subs.append(Sub(i, KIND[name], shop))

    def run_all(self, fn: Any, subs: list[Sub]) -> None:
        with ThreadPoolExecutor(self.threads) as pool:
            for f in [pool.submit(fn, s) for s in subs]:
                f.result()

    def create_customer(self, sub: Sub) -> None:
        shop = sub.shop
        base = f"/api/v1/shops/{shop.id}"
        sub.email = f"c{sub.index}.{sub.kind.name}.{uuid.uuid4().hex[:6]}@example.org"
        first, last = f"C{sub.index}", sub.kind.name.replace("_", " ").title()
        cust = shop.manager.post(f"{base}/customers", {
            "email": sub.email, "first_name": first, "last_name": last, "bill_address": address(first, last),
            "ship_address": address(first, last)}, key=f"customer-{sub.email}")
        sub.customer_id = cust["id"]
        sub.token = shop.manager.post("/api/v1/tokens", {
            "role": "customer", "shop_ids": [shop.id], "customer_id": sub.customer_id, "label": sub.email},
            key=f"token-{sub.email}")["token"]
        self.tokens.append(sub.token)
        if sub.kind.payer != "cash":  # in person: signed in by the emailed link, a card setup, the consent
            sub.session = customer_in_person(self.subs_call, self.stack.smtp.api_url, shop.id, sub.customer_id,
                                             sub.email, CARDS[sub.kind.payer])
            self.tokens.append(sub.session)

    def subscribe(self, sub: Sub) -> None:
        shop = sub.shop
        now = self.now()
        begins, ends = now, None
        if sub.kind.name == "begins_later":
            begins = self.closes_at + timedelta(days=1)
        elif sub.kind.name == "ended":
            ends = now + timedelta(minutes=30)  # before the cycle opens (and closes)
        first, last = f"C{sub.index}", "Sub"
        body: dict[str, Any] = {
            "customer_id": sub.customer_id, "schedule_id": shop.schedule_id, "shipping_method_id": shop.ship_id,
            "payment_method_id": shop.cash_id if sub.kind.payer == "cash" else shop.card_id,
            "bill_address": address(first, last), "ship_address": address(first, last),
            "begins_at": begins.isoformat(), "items": [{"variant_id": v, "quantity": q} for v, q in ITEMS.items()]}
        if ends:
            body["ends_at"] = ends.isoformat()
        key = f"subscription-{sub.email}"

        def attempt() -> Any:
            try:
                return shop.manager.post(f"/api/v1/shops/{shop.id}/subscriptions", body, key=key)
            except ApiError as exc:  # the catalog reaches subscription-service through Kafka
                if " -> 422" in str(exc) and "available" in str(exc):
                    return None
                raise

        sub.id = eventually(attempt, 120, "the catalog to reach subscription-service", interval=0.5)["id"]
        sub.done.append("subscribed")

    def before_open(self, sub: Sub) -> None:
        """Create the customer and the subscription, then what its kind does before the open."""
        self.create_customer(sub)
        if sub.kind.when == "mid_cycle":
            return
        self.subscribe(sub)
        base = f"/api/v1/shops/{sub.shop.id}/subscriptions/{sub.id}"
        k = sub.kind.name
        if k == "paused":
            sub.shop.manager.post(f"{base}/pause", {}, retry_statuses=())
        elif k == "cancelled":
            sub.shop.manager.post(f"{base}/cancel", {})
        elif k == "skipped":
            sub.shop.manager.post(f"{base}/occurrences/{sub.shop.cycle['id']}/skip", None, expect=(200, 409))
        elif k == "no_permission":  # the customer takes back the permission to charge their card
            self.api("subscription-service", sub.session).call(
                "DELETE", f"/api/v1/shops/{sub.shop.id}/customers/{sub.customer_id}/charges-permission")
        if k in ("paused", "cancelled", "skipped", "no_permission"):
            sub.done.append(k)

    def disable_kill_switch_shop(self) -> None:
        for shop in self.shops:
            if shop.disabled:
                current = shop.manager.get(f"/api/v1/shops/{shop.id}")
                if current["subscriptions_enabled"]:
                    shop.manager.call("PATCH", f"/api/v1/shops/{shop.id}", json={"subscriptions_enabled": False},
                                      headers={"If-Match": f'"{current["version"]}"'}, expect=(200, 412))
                eventually(lambda s=shop: not s.manager.get(f"/api/v1/shops/{s.id}")["subscriptions_enabled"], 60,
                           "the kill switch")
                # "disabled before the open" means the scheduler knew it when the cycle opened: its consumer may
                # have just been killed (a restarted member waits out the dead one's session before it reads)
                eventually(lambda s=shop: scalar(self.stack.db_url("scheduler"), "SELECT NOT subscriptions_enabled "
                                                 "FROM shops WHERE shop_id = %s", [s.id]), 120,
                           "the scheduler to see the kill switch")

    # -- while the cycle is open ----------------------------------------------------------------------------------

    def orders_of(self, shop: ShopCtx) -> list[dict[str, Any]]:
        return self.admin["order-service"].all_pages(f"/api/v1/shops/{shop.id}/orders",
                                                      {"order_cycle_id": shop.cycle["id"]})

    def all_orders(self) -> list[dict[str, Any]]:
        return [o for shop in self.shops for o in self.orders_of(shop)]

    def wait_orders(self, count: int, statuses: tuple[str, ...], timeout: float, what: str) -> list[dict]:
        def ready() -> list[dict] | None:
            orders = [o for o in self.all_orders() if o["status"] in statuses]
            return orders if len(orders) >= count else None

        return eventually(ready, timeout, what, interval=2.0)

    def remember_orders(self) -> None:
        by_sub = {o["subscription_id"]: o["order_id"] for o in self.all_orders()}
        for sub in self.subs:
            sub.order_id = by_sub.get(sub.id, sub.order_id)

    def _order_api(self, sub: Sub, token: str | None = None) -> tuple[Api, str]:
        api = self.api("order-service", token or sub.shop.manager.token)
        return api, f"/api/v1/shops/{sub.shop.id}/orders/{sub.order_id}"

    def set_line(self, sub: Sub, variant: str, quantity: int, token: str | None) -> None:
        """Change a line's quantity with If-Match; a resend that finds it done (412 after a lost answer) is fine."""
        api, path = self._order_api(sub, token)
        for _ in range(20):
            order = api.get(path)
            line = next(li for li in order["lines"] if li["variant_id"] == variant)
            if line["quantity"] == quantity:
                return
            r = api.call("PATCH", f"{path}/lines/{line['line_id']}", json={"quantity": quantity},
                         headers={"If-Match": f'"{order["version"]}"'}, expect=(200, 409, 412))
            if r.status_code == 200:
                return
        raise AssertionError(f"could not set {variant} to {quantity} on {path}")

    def order_action(self, sub: Sub, action: str) -> None:
        api, path = self._order_api(sub)
        api.post(f"{path}/{action}", None, key=f"{action}-{sub.order_id}")

    def subscription_action(self, sub: Sub, action: str, body: Any = None) -> None:
        base = f"/api/v1/shops/{sub.shop.id}/subscriptions/{sub.id}"
        sub.shop.manager.post(f"{base}/{action}", body, expect=(200, 201, 202, 204, 409))

    def update_items(self, sub: Sub, items: dict[str, int]) -> None:
        base = f"/api/v1/shops/{sub.shop.id}/subscriptions/{sub.id}"
        want = [{"variant_id": v, "quantity": q} for v, q in items.items()]
        for _ in range(20):
            current = sub.shop.manager.get(base)
            if {(i["variant_id"], i["quantity"]) for i in current["items"]} == set(items.items()):
                return
            r = sub.shop.manager.call("PATCH", base, json={"items": want},
                                      headers={"If-Match": f'"{current["version"]}"'}, expect=(200, 412))
            if r.status_code == 200:
                return
        raise AssertionError(f"could not update the items of {base}")

    def while_open(self, sub: Sub) -> None:
        k = sub.kind.name
        if k == "mid_cycle":
            self.subscribe(sub)
            return
        if k == "edited":  # the customer, with their own token
            self.set_line(sub, "eggs", 5, sub.token)
        elif k == "manager_cancelled":
            self.order_action(sub, "cancel")
        elif k == "cancelled_resumed":
            self.order_action(sub, "cancel")
            self.order_action(sub, "resume")
        elif k == "skipped_open":
            self.subscription_action(sub, f"occurrences/{sub.shop.cycle['id']}/skip")
        elif k == "paused_cancel":
            self.subscription_action(sub, "pause", {"open_orders": "cancel"})
        elif k == "paused_keep":
            self.subscription_action(sub, "pause", {"open_orders": "keep"})
        elif k == "sub_updated":
            self.update_items(sub, {"box": 1, "eggs": 3})
        else:
            return
        sub.done.append(k)

    def open_changes_visible(self) -> bool:
        """Every change made while open has reached order-service (so the close confirms what was asked)."""
        orders = {o["subscription_id"]: o for o in self.all_orders()}
        for sub in self.subs:
            o = orders.get(sub.id)
            k = sub.kind.name
            if sub.kind.order and o is None:
                return False
            if k in ("manager_cancelled", "skipped_open", "paused_cancel") and o["status"] != "cancelled":
                return False
            if k in ("cancelled_resumed", "mid_cycle", "paused_keep") and o["status"] != "placed":
                return False
            if k == "sub_updated":
                full = self.admin["order-service"].get(f"/api/v1/shops/{sub.shop.id}/orders/{o['order_id']}")
                if {li["variant_id"]: li["quantity"] for li in full["lines"]}.get("eggs") != 3:
                    return False
        return True

    # -- after the close --------------------------------------------------------------------------------------------

    def payments(self) -> dict[str, dict[str, Any]]:
        billing = self.admin["billing-service"]
        return {p["order_id"]: p for shop in self.shops
                for p in billing.all_pages(f"/api/v1/shops/{shop.id}/payments")}

    def authorise(self, sub: Sub, payment: dict[str, Any]) -> None:
        """The customer follows the link of their email to the web app's page, which, with their own session,
        asks billing for the client secret, has the bank check the payment (localstripe's route stands in for
        Stripe.js in the browser) and reports the outcome to billing."""
        billing = self.api("billing-service", sub.session)
        path = f"/api/v1/shops/{payment['shop_id']}/payments/{payment['payment_id']}/authorization"
        asked = billing.call("GET", path, expect=(200,)).json()
        self.links.append(asked["client_secret"])  # a secret: the run checks no log line holds it
        requests.post(f"{self.stack.stripe_url}/v1/payment_intents/{payment['stripe_payment_intent_id']}/_authenticate",
                      data={"client_secret": asked["client_secret"], "success": "true",
                            "key": asked["publishable_key"]}, timeout=30).raise_for_status()
        billing.call("POST", path, expect=(200,))
        sub.done.append("authorised")

    def payments_waiting(self) -> Counter[str]:
        """Orders whose payment is not yet in its expected final state, by kind and status (authorising the
        payments whose customer is to confirm them)."""
        payments = self.payments()
        waiting: Counter[str] = Counter()
        for sub in self.subs:
            if not sub.kind.payment:
                continue
            p = payments.get(sub.order_id or "")
            status = p["status"] if p else "absent"
            if sub.kind.name == "sca_authorised" and status == "requires_action" and "authorised" not in sub.done:
                self.authorise(sub, p)
            if status != sub.kind.payment:
                waiting[f"{sub.kind.name}:{status}"] += 1
        return waiting
