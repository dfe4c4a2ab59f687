"""Tenant isolation over EVERY operation of every service's OpenAPI document: each is called on shop A's resources
(those of A's customer C2) with no token, a malformed token, a revoked token, a manager token of shop B, a customer
token of shop B and a token of A's other customer C1. Each gets 401, 403 or 404 as the conventions say, no answer
carries what it must not see, and afterwards shop A is exactly as it was (read by the admin from every service)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from security_world import SERVICES, World, fill, operations, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ADDRESS = {"first_name": "Eve", "last_name": "Mallory", "address1": "1 rue du Vol", "city": "Lyon",
           "zipcode": "69001", "country": "FR"}


def bodies(w: World) -> dict[tuple[str, str, str], Any]:
    """A VALID body for every operation that takes one, so that only who is calling can be the reason for a
    refusal (a test below fails when an operation of the documents has none here)."""
    ids = w.ids
    sub = "subscription-service"
    return {
        (sub, "POST", "/api/v1/shops"): {"name": "Evil", "timezone": "Europe/Paris", "currency": "EUR",
                                         "contact_email": "evil@example.org"},
        (sub, "PATCH", "/api/v1/shops/{shop_id}"): {"name": "Hijacked", "subscriptions_enabled": False},
        (sub, "POST", "/api/v1/shops/{shop_id}/shipping-methods"): {"name": "Evil", "fee_flat": 1,
                                                                    "fee_percent_bp": 0},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/shipping-methods/{method_id}"): {"fee_flat": 99999},
        (sub, "POST", "/api/v1/shops/{shop_id}/payment-methods"): {"name": "Evil", "fee_flat": 1, "fee_percent_bp": 0,
                                                                   "kind": "cash"},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/payment-methods/{method_id}"): {"fee_flat": 99999},
        (sub, "POST", "/api/v1/shops/{shop_id}/customers"): {"email": f"evil-{uuid.uuid4().hex[:6]}@example.org",
                                                             "first_name": "Eve", "last_name": "Mallory"},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/customers/{customer_id}"): {"email": "evil@example.org"},
        (sub, "PUT", "/api/v1/shops/{shop_id}/customers/{customer_id}/card"): {"setup_intent_id": "seti_evil"},
        (sub, "PUT", "/api/v1/shops/{shop_id}/customers/{customer_id}/charges-permission"): {"locale": "en"},
        (sub, "POST", "/api/v1/sign-in-links"): {"email": "evil@example.org", "shop_id": ids["shop_id"]},
        (sub, "POST", "/api/v1/sessions"): {"token": "rsl_evil"},
        (sub, "POST", "/api/v1/manager-sign-in-links"): {"email": "evil@example.org"},
        (sub, "POST", "/api/v1/shops/{shop_id}/managers"): {"email": f"evil-{uuid.uuid4().hex[:6]}@example.org"},
        (sub, "POST", "/api/v1/shops/{shop_id}/order-cycles"): {
            "name": "Evil", "opens_at": "2031-01-01T00:00:00+00:00", "closes_at": "2031-01-02T00:00:00+00:00"},
        (sub, "POST", "/api/v1/shops/{shop_id}/order-cycles/generate"): {
            "opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "tuesday", "closes_time": "20:00",
            "start_date": "2031-01-06", "count": 1},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/order-cycles/{cycle_id}"): {"name": "Hijacked"},
        (sub, "POST", "/api/v1/shops/{shop_id}/schedules"): {"name": "Evil", "order_cycle_ids": [ids["cycle_id"]]},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/schedules/{schedule_id}"): {"name": "Hijacked"},
        (sub, "POST", "/api/v1/shops/{shop_id}/subscriptions"): {
            "customer_id": ids["customer_id"], "schedule_id": ids["schedule_id"],
            "shipping_method_id": ids["method_id"], "payment_method_id": ids["payment_method_id"],
            "bill_address": ADDRESS, "ship_address": ADDRESS,
            "begins_at": "2031-01-01T00:00:00+00:00", "items": [{"variant_id": "box", "quantity": 50}]},
        (sub, "POST", "/api/v1/shops/{shop_id}/subscriptions/estimate"): {
            "shipping_method_id": ids["method_id"], "payment_method_id": ids["payment_method_id"],
            "items": [{"variant_id": "box", "quantity": 50}]},
        (sub, "PATCH", "/api/v1/shops/{shop_id}/subscriptions/{subscription_id}"): {
            "items": [{"variant_id": "box", "quantity": 50}], "ship_address": ADDRESS},
        (sub, "POST", "/api/v1/shops/{shop_id}/subscriptions/{subscription_id}/pause"): {"open_orders": "cancel"},
        (sub, "POST", "/api/v1/shops/{shop_id}/subscriptions/{subscription_id}/cancel"): {"open_orders": "cancel"},
        (sub, "POST", "/api/v1/shops/{shop_id}/subscriptions/{subscription_id}/holidays"): {"from": "2031-01-05",
                                                                                         "to": "2031-01-20"},
        (sub, "POST", "/api/v1/tokens"): {"role": "manager", "shop_ids": [ids["shop_id"]], "label": "evil"},
        ("scheduler-service", "POST", "/api/v1/test-clock"): {"at": "2040-01-01T00:00:00+00:00"},
        ("scheduler-service", "POST", "/api/v1/test-clock/advance"): {"seconds": 3600},
        ("order-service", "PATCH", "/api/v1/shops/{shop_id}/orders/{order_id}"): {"ship_address": ADDRESS},
        ("order-service", "POST", "/api/v1/shops/{shop_id}/orders/{order_id}/lines"): {"variant_id": "eggs",
                                                                                       "quantity": 40},
        ("order-service", "PATCH", "/api/v1/shops/{shop_id}/orders/{order_id}/lines/{line_id}"): {"quantity": 40},
        ("billing-service", "POST", "/api/v1/shops/{shop_id}/payments/{payment_id}/refunds"): {"amount": 100},
        ("billing-service", "POST", "/api/v1/shops/{shop_id}/payments/{payment_id}/retry"): {},
        ("billing-service", "POST", "/api/v1/shops/{shop_id}/payments/{payment_id}/mark-paid"): {"note": "evil"},
        ("billing-service", "POST", "/api/v1/shops/{shop_id}/payments/{payment_id}/authorization"): {},
    }


# operations outside any shop, and what a manager or customer (of any shop) gets from them
ADMIN_ONLY = {("subscription-service", "POST", "/api/v1/shops"), ("scheduler-service", "GET", "/api/v1/test-clock"),
              ("scheduler-service", "POST", "/api/v1/test-clock"),
              ("scheduler-service", "POST", "/api/v1/test-clock/advance"),
              ("scheduler-service", "GET", "/api/v1/boundaries"),
              ("scheduler-service", "GET", "/api/v1/boundaries/pending")}
OWN_LISTS = {("subscription-service", "GET", "/api/v1/shops"), ("subscription-service", "GET", "/api/v1/tokens")}
ANY_CALLER = {("subscription-service", "GET", "/api/v1/time-zones")}  # the world's list, the same for everyone
# what every customer of the shop reads (its products for sale, to choose substitutes): 200 to them, 404 to others
SHOPS_CUSTOMERS = {("order-service", "GET", "/api/v1/shops/{shop_id}/products")}
PUBLIC = {("billing-service", "POST", "/webhooks/stripe"),  # its credential is Stripe's signature (test_bad_input)
          # a sign-in link is asked for by email address (always 202) and exchanged by its one-time token
          ("subscription-service", "POST", "/api/v1/sign-in-links"),
          ("subscription-service", "POST", "/api/v1/manager-sign-in-links"),
          ("subscription-service", "POST", "/api/v1/sessions")}


def all_operations(w: World) -> list[tuple[str, str, str]]:
    return [(svc, method, path) for svc in SERVICES for method, path, _op in operations(w.p.urls[svc])]


def etag_of(w: World, service: str, path: str) -> str | None:
    """The current version of the resource a write names (its own path or the nearest one above), so that If-Match
    is right and only the caller's rights decide."""
    parts = path.split("/")
    while len(parts) > 4:
        r = w.admin(service).call("GET", "/".join(parts))
        if r.status_code == 200 and r.headers.get("ETag"):
            return r.headers["ETag"]
        parts.pop()
    return None


def send(w: World, service: str, method: str, path: str, token: str | None, body: Any) -> requests.Response:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if method != "GET" and (tag := etag_of(w, service, path)):
        headers["If-Match"] = tag
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, w.p.urls[service] + path, json=body if method != "GET" else None,
                            headers=headers, timeout=60)


def leaks(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m and m in text]


def test_every_operation_of_every_service_is_in_the_matrix_with_a_valid_body(world):
    """The matrix below covers what the documents list today; a new operation must be added to it."""
    w = world
    known = bodies(w)
    ops = all_operations(w)
    assert len(ops) >= 75, len(ops)
    missing = []
    for svc, method, path in ops:
        op = next(o for m, p, o in operations(w.p.urls[svc]) if m == method and p == path)
        if "requestBody" in op and (svc, method, path) not in known:
            missing.append(f"{svc} {method} {path}")
    assert missing == []


@pytest.mark.parametrize("who", ["no token", "malformed token", "revoked token"])
def test_without_a_valid_credential_every_api_operation_is_401_and_tells_nothing(world, who):
    w = world
    token = {"no token": None, "malformed token": "not-a-token " + "x" * 40, "revoked token": w.revoked.token}[who]
    known = bodies(w)
    wrong = []
    for svc, method, path in all_operations(w):
        if (svc, method, path) in PUBLIC:
            continue
        r = send(w, svc, method, fill(path, w.ids), token, known.get((svc, method, path)))
        if r.status_code != 401 or leaks(r.text, w.markers_a) or r.headers.get("Content-Type", "").split(";")[0] \
                != "application/problem+json":
            wrong.append(f"{svc} {method} {path} -> {r.status_code} {r.text[:200]}")
    assert wrong == []


@pytest.mark.parametrize("who", ["manager of shop B", "customer of shop B", "customer C1 of shop A",
                                 "customer C1 of shop A signed in by email"])
def test_another_shop_or_another_customer_gets_404_or_403_everywhere_and_never_the_data(world, who):
    w = world
    token = {"manager of shop B": w.b.manager_token, "customer of shop B": w.cb.token,
             "customer C1 of shop A": w.c1.token, "customer C1 of shop A signed in by email": w.c1.session}[who]
    markers = w.markers_c2 if who.startswith("customer C1") else w.markers_a
    known = bodies(w)
    before = snapshot(w)
    wrong, seen = [], {}
    for svc, method, path in all_operations(w):
        key = (svc, method, path)
        if key in PUBLIC:
            continue
        r = send(w, svc, method, fill(path, w.ids), token, known.get(key))
        seen[f"{svc} {method} {path}"] = r.status_code
        ok_statuses = expected(key, who)
        if r.status_code == 200 and who.startswith("customer C1") and names_c2s_own(path) and \
                not (isinstance(r.json(), dict) and r.json().get("items") == []):
            wrong.append(f"{svc} {method} {path} -> 200 to C1 about C2's own things: {r.text[:200]}")
        elif r.status_code not in ok_statuses:
            wrong.append(f"{svc} {method} {path} -> {r.status_code} (expected {sorted(ok_statuses)}): {r.text[:200]}")
        elif found := leaks(r.text, markers):
            wrong.append(f"{svc} {method} {path} -> {r.status_code} shows {found}")
    assert wrong == [], "\n".join(wrong)
    assert snapshot(w) == before, "shop A changed"
    print(f"{who}: {len(seen)} operations, statuses {sorted(set(seen.values()))}")


def expected(key: tuple[str, str, str], who: str) -> set[int]:
    _svc, method, path = key
    if key in ADMIN_ONLY:
        return {403}
    if key in OWN_LISTS:
        return {200}  # their own shops and tokens only: the markers check proves it
    if key in ANY_CALLER:
        return {200}
    if key in SHOPS_CUSTOMERS:
        return {200} if who.startswith("customer C1") else {404}
    if key == ("subscription-service", "POST", "/api/v1/tokens"):
        return {403, 404, 422}  # a token for shop A is refused (422: "shop_ids" names a shop not theirs)
    if path.startswith("/api/v1/tokens/"):
        return {404}
    if who.startswith("customer C1"):  # a customer of the shop: C2's things are 404, manager actions 403
        if method == "GET":
            # the shop's own things (its methods, cycles, schedules, lists of their own items): 200 is fine;
            # C2's things: 404 (403), or an empty list (their own payments of C2's order: none)
            return {200, 403, 404}
        return {403, 404}
    return {404}


C2_OWNS = ("{customer_id}", "{subscription_id}", "{order_id}", "{payment_id}", "{line_id}")


def names_c2s_own(path: str) -> bool:
    return any(p in path for p in C2_OWNS)


def test_another_shops_ids_inside_my_own_shop_are_not_found_and_my_lists_never_show_them(world):
    """B's manager names A's resources under B's own shop id (and filters B's lists by them)."""
    w = world
    known = bodies(w)
    mine = dict(w.ids, shop_id=w.b.id)
    wrong = []
    for svc, method, path in all_operations(w):
        if "{shop_id}" not in path or path.count("{") == 1:
            continue
        r = send(w, svc, method, fill(path, mine), w.b.manager_token, known.get((svc, method, path)))
        empty_list = r.status_code == 200 and method == "GET" and r.json().get("items") == []
        # 403: an action only the customer may take (whatever the id); 422: an id of A in the body
        if not (r.status_code in (403, 404, 422) or empty_list) or leaks(r.text, w.markers_a):
            wrong.append(f"{svc} {method} {path} -> {r.status_code}: {r.text[:200]}")
    b = f"/api/v1/shops/{w.b.id}"
    lists = [("subscription-service", f"{b}/subscriptions", {"customer_id": w.ids["customer_id"]}),
             ("subscription-service", f"{b}/subscriptions", {"schedule_id": w.ids["schedule_id"]}),
             ("subscription-service", f"{b}/subscriptions", {"q": w.c2.email}),
             ("subscription-service", f"{b}/customers", {"q": w.c2.data["last_name"]}),
             ("subscription-service", f"{b}/order-cycles", {"schedule_id": w.ids["schedule_id"]}),
             ("subscription-service", "/api/v1/tokens", {"shop_id": w.a.id}),
             ("order-service", f"{b}/orders", {"customer_id": w.ids["customer_id"]}),
             ("order-service", f"{b}/orders", {"subscription_id": w.ids["subscription_id"]}),
             ("order-service", f"{b}/orders", {"order_cycle_id": w.ids["cycle_id"]}),
             ("billing-service", f"{b}/payments", {"cycle": w.ids["cycle_id"]})]
    for svc, path, params in lists:
        r = requests.get(w.p.urls[svc] + path, params=params, timeout=30,
                         headers={"Authorization": f"Bearer {w.b.manager_token}"})
        if r.status_code not in (200, 403, 404, 422) or leaks(r.text, w.markers_a) or \
                (r.status_code == 200 and r.json()["items"]):
            wrong.append(f"{svc} GET {path} {params} -> {r.status_code}: {r.text[:200]}")
    assert wrong == [], "\n".join(wrong)
