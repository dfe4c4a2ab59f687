"""Two shops on the running platform (the four services as processes): the victim A with two customers, orders
(one cycle closed and charged, one still open) and payments, and the attacker B with its own manager and customer.
Every kind of credential an attacker may hold, and the markers (names, emails) that must never reach them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests

from devstack.scenario import CARD_OK, ApiError, Customer, Platform, Shop
from devstack.testing import wait_for


def eventually(fn: Any, timeout: float = 90, what: str = "condition") -> Any:
    """Retry fn until truthy; a 401/404 (an event other services have not applied yet) is retried too."""

    def attempt() -> Any:
        try:
            return fn()
        except ApiError as exc:
            if " -> 401 " in str(exc) or " -> 404 " in str(exc) or " -> 422 " in str(exc):
                return None
            raise

    return wait_for(attempt, timeout, what)


SERVICES = ("subscription-service", "scheduler-service", "order-service", "billing-service")


@dataclass
class Token:
    token: str
    id: str


@dataclass
class World:
    p: Platform
    a: Shop
    b: Shop
    c1: Customer  # a customer of A (attacks C2's resources)
    c2: Customer  # the victim customer of A
    cb: Customer  # a customer of B
    a_manager: Token
    revoked: Token
    ids: dict[str, str]  # path parameters naming A's (and C2's) resources
    c1_ids: dict[str, str]
    markers_a: list[str]  # only A's people may see these
    markers_c2: list[str]  # only C2 and A's managers may see these
    issued: list[str] = field(default_factory=list)  # every secret token issued here

    def api(self, service: str, token: str | None) -> Any:
        return self.p.api(service, token)

    def admin(self, service: str) -> Any:
        return self.p.api(service, self.p.admin_token)


def build_world(system: Any) -> World:
    p: Platform = system.platform
    tag = uuid.uuid4().hex[:8]

    def shop(name: str) -> tuple[Shop, dict, dict, dict]:
        s = p.create_shop(name=name, allow_order_changes=True, allow_customer_skip=True)
        ship = s.shipping_method("Delivery", fee_flat=500)
        card = s.payment_method("stripe", fee_percent_bp=150)
        cash = s.payment_method("cash")
        s.variant("box", "Veg box", 2000, on_hand=None)
        s.variant("eggs", "Eggs", 300, on_hand=None)
        return s, ship, card, cash

    a, a_ship, a_card, _a_cash = shop(f"Victim hub {tag}")
    b, b_ship, b_card, _b_cash = shop(f"Attacker hub {tag}")
    now = p.now()
    closed = a.order_cycle("Closed week", now + timedelta(hours=1), now + timedelta(hours=2))
    open_ = a.order_cycle("Open week", now + timedelta(hours=1), now + timedelta(days=3))
    schedule = a.schedule("Weekly", [closed["id"], open_["id"]])
    b_cycle = b.order_cycle("B week", now + timedelta(hours=1), now + timedelta(days=3))
    b_schedule = b.schedule("B weekly", [b_cycle["id"]])
    c1 = a.customer(f"Una{tag}", f"Primera{tag}", card=CARD_OK)
    c2 = a.customer(f"Dos{tag}", f"Segunda{tag}", card=CARD_OK)
    cb = b.customer(f"Bea{tag}", f"Otra{tag}", card=CARD_OK)

    def subscribe(s: Shop, cust: Customer, sched: dict, ship: dict, card: dict) -> dict:
        return eventually(lambda: s.subscribe(cust, sched["id"], ship["id"], card["id"], {"box": 1, "eggs": 2},
                                              begins_at=p.now()), 60, "the catalog to reach subscription-service")

    sub1 = subscribe(a, c1, schedule, a_ship, a_card)
    sub2 = subscribe(a, c2, schedule, a_ship, a_card)
    subscribe(b, cb, b_schedule, b_ship, b_card)
    admin_subs = p.api("subscription-service", p.admin_token)
    issued = admin_subs.post("/api/v1/tokens", {"role": "manager", "shop_ids": [a.id], "label": "A manager"})
    a_manager = Token(issued["token"], issued["id"])
    doomed = admin_subs.post("/api/v1/tokens", {"role": "manager", "shop_ids": [a.id], "label": "to revoke"})
    a_manager_by_email = admin_subs.post(f"/api/v1/shops/{a.id}/managers", {"email": f"ana-{tag}@hub.example"})

    p.advance_to(now + timedelta(hours=2, minutes=1))  # the closed week is confirmed and charged, the open one placed

    def orders_of(cust: Customer) -> dict[str, dict]:
        found = a.orders(customer_id=cust.id)
        return {o["order_cycle_id"]: o for o in found} if len(found) == 2 else {}

    o2 = eventually(lambda: orders_of(c2), 120, "C2's two orders")
    o1 = eventually(lambda: orders_of(c1), 120, "C1's two orders")

    def paid(order: dict) -> dict | None:
        found = a.billing().get(f"{a.base}/orders/{order['order_id']}/payments")
        items = found["items"] if isinstance(found, dict) else found
        return items[0] if items and items[0]["status"] == "succeeded" else None

    pay2 = eventually(lambda: paid(o2[closed["id"]]), 120, "C2's payment")
    pay1 = eventually(lambda: paid(o1[closed["id"]]), 120, "C1's payment")
    open2 = a.order(o2[open_["id"]]["order_id"])
    open1 = a.order(o1[open_["id"]]["order_id"])

    p.api("subscription-service", p.admin_token).delete(f"/api/v1/tokens/{doomed['id']}")
    for service in SERVICES:  # revoked everywhere, and every other token known everywhere
        wait_for(lambda s=service: p.api(s, doomed["token"]).call("GET", "/api/v1/shops/x/y").status_code == 401,
                 60, f"{service} to refuse the revoked token")
        for token in (c1.token, cb.token, b.manager_token, a_manager.token, c1.session, c2.session):
            wait_for(lambda s=service, t=token: p.api(s, t).call("GET", "/api/v1/shops/x/y").status_code != 401,
                     60, f"{service} to know every token")

    ids = {"shop_id": a.id, "customer_id": c2.id, "subscription_id": sub2["id"], "schedule_id": schedule["id"],
           "cycle_id": open_["id"], "order_cycle_id": open_["id"], "method_id": a_ship["id"],
           "order_id": open2["order_id"], "line_id": open2["lines"][0]["line_id"], "payment_id": pay2["payment_id"],
           "token_id": a_manager.id, "closed_order_id": o2[closed["id"]]["order_id"],
           "payment_method_id": a_card["id"], "manager_id": a_manager_by_email["id"]}
    c1_ids = dict(ids, customer_id=c1.id, subscription_id=sub1["id"], order_id=open1["order_id"],
                  line_id=open1["lines"][0]["line_id"], payment_id=pay1["payment_id"],
                  closed_order_id=o1[closed["id"]]["order_id"])
    return World(p, a, b, c1, c2, cb, a_manager, Token(doomed["token"], doomed["id"]), ids, c1_ids,
                 markers_a=[a.data["name"], a.data["contact_email"], c1.email, c2.email],
                 markers_c2=[c2.email, c2.data["first_name"], c2.data["last_name"]],
                 issued=[a.manager_token, b.manager_token, c1.token, c2.token, cb.token, a_manager.token,
                         *(c.session for c in (c1, c2, cb) if c.session),
                         doomed["token"]])


def operations(base_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation) of every operation in a service's OpenAPI document."""
    doc = requests.get(f"{base_url}/openapi.json", timeout=30).json()
    return [(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()
            if m in ("get", "post", "put", "patch", "delete")]


def fill(template: str, ids: dict[str, str]) -> str:
    out = template
    for name, value in ids.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, f"no id for a parameter of {template}"
    return out


def snapshot(world: World) -> dict[str, Any]:
    """Everything of shop A an attacker could have changed, as the platform admin reads it from every service."""
    a = world.a
    subs = world.admin("subscription-service")
    base = f"/api/v1/shops/{a.id}"
    out: dict[str, Any] = {"shop": subs.get(base)}
    for coll in ("shipping-methods", "payment-methods", "customers", "order-cycles", "schedules", "subscriptions"):
        out[coll] = subs.all_pages(f"{base}/{coll}")
    for sub in out["subscriptions"]:
        out[f"history {sub['id']}"] = subs.get(f"{base}/subscriptions/{sub['id']}/history")
        out[f"occurrences {sub['id']}"] = subs.get(f"{base}/subscriptions/{sub['id']}/occurrences")
    out["tokens"] = subs.all_pages("/api/v1/tokens", {"shop_id": a.id, "include_revoked": "true"})
    orders = world.admin("order-service")
    out["orders"] = orders.all_pages(f"{base}/orders")
    for o in out["orders"]:
        out[f"order {o['order_id']}"] = orders.get(f"{base}/orders/{o['order_id']}")
        out[f"order history {o['order_id']}"] = orders.get(f"{base}/orders/{o['order_id']}/history")
    billing = world.admin("billing-service")
    out["payments"] = billing.all_pages(f"{base}/payments")
    for pay in out["payments"]:
        out[f"attempts {pay['payment_id']}"] = billing.get(f"{base}/payments/{pay['payment_id']}/attempts")
        out[f"refunds {pay['payment_id']}"] = billing.get(f"{base}/payments/{pay['payment_id']}/refunds")
    out["clock"] = world.admin("scheduler-service").get("/api/v1/test-clock")["now"]
    out["boundaries"] = world.admin("scheduler-service").get(f"{base}/boundaries")
    return out
