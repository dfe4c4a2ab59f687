"""The edges of every operation of the four APIs, read from their OpenAPI documents, on the running platform:

- list cursors: altered, made up, of another list or of other filters, of another service, or of the old unsigned
  shape: a 400 ``bad-cursor`` problem on every paginated list, never a 500 and never a page;
- query parameters: an unknown one is a 400 naming it on every operation; a repeated one is a 400 naming it, except
  a list filter (``status``), which means any of its values;
- a list whose parent does not exist (or is another shop's or customer's) is a 404, as the parent itself is;
- a method a route does not take is a 405 with ``Allow``; every error is application/problem+json whose ``type``
  is the one servicekit's table gives that kind of error, the same in the four services.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import requests
from security_world import SERVICES, World, fill, operations

from servicekit.web.problems import PROBLEM_TYPES

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ADMIN_PATHS = ("/api/v1/tokens", "/api/v1/boundaries", "/api/v1/test-clock")


def ids_for(path: str, ids: dict[str, str]) -> dict[str, str]:
    out = dict(ids)
    if "/payment-methods/" in path:
        out["method_id"] = ids["payment_method_id"]
    return out


def token_for(w: World, path: str) -> str:
    return w.p.admin_token if path.startswith(ADMIN_PATHS) or path == "/api/v1/shops" else w.a.manager_token


def get(w: World, service: str, path: str, token: str, params: Any = None) -> requests.Response:
    return requests.get(w.p.urls[service] + path, params=params, timeout=60,
                        headers={"Authorization": f"Bearer {token}"})


def is_problem(r: requests.Response, slug: str) -> bool:
    return r.headers.get("Content-Type", "").split(";")[0] == "application/problem+json" and \
        r.json().get("type") == PROBLEM_TYPES[slug].uri and r.json().get("status") == PROBLEM_TYPES[slug].status


def paginated_lists(w: World) -> list[tuple[str, str, list[str]]]:
    """(service, path template, its query parameter names) of every GET operation that takes a cursor."""
    found = []
    for svc in SERVICES:
        for method, path, op in operations(w.p.urls[svc]):
            names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            if method == "GET" and "cursor" in names:
                found.append((svc, path, names))
    return found


def old_style(values: Any) -> str:
    """A cursor as the APIs made them before they were signed: base64 of a JSON array, decodable by anyone."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# decodable but wrong shapes (13 of these 17 made order-service's lists answer 500 before cursors were signed)
WRONG_SHAPES = [[], ["2026-01-01T00:00:00+00:00"], ["2026-01-01T00:00:00+00:00", "o", "x"], ["o", "2026-01-01"],
                ["2026-01-01T00:00:00+00:00", 5], [5, "o"], [None, None], ["2026-13-45", "o"], [True, "o"],
                [[1], {"a": 1}], {"placed_at": "2026-01-01"}, "text", 42, None, ["email", "a\u0000", "b"],
                ["version", "1", "x"], ["closes_at", "2026-01-01T00:00:00+00:00", "c"]]


def test_tampered_foreign_or_wrong_shape_cursors_are_a_400_problem_on_every_paginated_list(world):
    w = world
    lists = paginated_lists(w)
    assert len(lists) >= 14, lists
    real: dict[tuple[str, str], str] = {}  # a real next_cursor of each list that has a second page
    for svc, path, _names in lists:
        r = get(w, svc, fill(path, ids_for(path, w.ids)), token_for(w, path), {"limit": 1})
        assert r.status_code == 200, (svc, path, r.status_code, r.text[:300])
        if r.json().get("next_cursor"):
            real[(svc, path)] = r.json()["next_cursor"]
    assert len(real) >= 8, sorted(real)  # enough lists have a second page for the foreign and altered cases
    cursors = list(real.values())
    wrong = []
    for svc, path, names in lists:
        url = fill(path, ids_for(path, w.ids))
        mine = real.get((svc, path))
        bad = [old_style(v) for v in WRONG_SHAPES] + ["garbage!", "e30", "not.a.cursor"]
        bad += [c for c in cursors if c != mine]  # another list's (of this service or another)
        if mine:
            bad += [mine[:-3] + ("AAA" if not mine.endswith("AAA") else "BBB"), "x" + mine, mine[:20]]
            if "status" in names or "state" in names:  # the same list with other filters
                extra = {"status" if "status" in names else "state": "closed" if "order-cycles" in path else
                         "active" if "subscriptions" in path and "occurrences" not in path else "skipped"
                         if "occurrences" in path else "confirmed" if svc == "order-service" else "failed"}
                r = get(w, svc, url, token_for(w, path), {"limit": 1, "cursor": mine, **extra})
                if r.status_code != 400 or not is_problem(r, "bad-cursor"):
                    wrong.append(f"{svc} {path} other filters -> {r.status_code} {r.text[:200]}")
        for cursor in bad:
            r = get(w, svc, url, token_for(w, path), {"limit": 1, "cursor": cursor})
            if r.status_code != 400 or not is_problem(r, "bad-cursor") or "cursor" not in r.json().get("errors", {}):
                wrong.append(f"{svc} {path} cursor={cursor[:40]} -> {r.status_code} {r.text[:200]}")
        if mine:  # and the list's own cursor still gives its next page
            r = get(w, svc, url, token_for(w, path), {"limit": 1, "cursor": mine})
            if r.status_code != 200:
                wrong.append(f"{svc} {path} its own cursor -> {r.status_code} {r.text[:200]}")
    assert wrong == [], "\n".join(wrong[:40])


def test_an_unknown_query_parameter_is_a_400_naming_it_on_every_operation_of_every_service(world):
    w = world
    wrong, count = [], 0
    for svc in SERVICES:
        for method, path, _op in operations(w.p.urls[svc]):
            url = w.p.urls[svc] + fill(path, ids_for(path, w.ids))
            r = requests.request(method, url, params={"limit": "1", "surprise": "x"} if method == "GET" else
                                 {"surprise": "x"}, headers={"Authorization": f"Bearer {w.p.admin_token}"},
                                 timeout=60)
            count += 1
            names = set(r.json().get("errors", {})) if r.headers.get("Content-Type", "").startswith(
                "application/problem+json") else set()
            if r.status_code != 400 or not is_problem(r, "unknown-query-parameter") or "surprise" not in names:
                wrong.append(f"{svc} {method} {path} -> {r.status_code} {r.text[:200]}")
    assert count >= 75 and wrong == [], "\n".join(wrong)


def test_a_repeated_filter_means_any_of_its_values_and_any_other_repeated_parameter_is_a_400_naming_it(world):
    w = world
    a = f"/api/v1/shops/{w.a.id}"
    token = w.a.manager_token
    # the world's shop A has orders placed (the open cycle) and confirmed (the closed one)
    placed = get(w, "order-service", f"{a}/orders", token, {"status": "placed"}).json()["items"]
    confirmed = get(w, "order-service", f"{a}/orders", token, {"status": "confirmed"}).json()["items"]
    both = get(w, "order-service", f"{a}/orders", token, [("status", "placed"), ("status", "confirmed")])
    assert placed and confirmed and both.status_code == 200
    assert sorted(o["order_id"] for o in both.json()["items"]) == sorted(o["order_id"] for o in placed + confirmed)
    pays = get(w, "billing-service", f"{a}/payments", token, [("status", "succeeded"), ("status", "failed")])
    assert pays.status_code == 200 and {p["status"] for p in pays.json()["items"]} == {"succeeded"}
    cycles = get(w, "subscription-service", f"{a}/order-cycles", token, [("status", "open"), ("status", "closed")])
    assert cycles.status_code == 200 and len(cycles.json()["items"]) == 2
    wrong = []
    for svc in SERVICES:
        for method, path, op in operations(w.p.urls[svc]):
            if method != "GET":
                continue
            single = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query" and
                      p.get("schema", {}).get("type") != "array"]
            for name in single:
                value = {"limit": "1"}.get(name, "x")
                r = requests.get(w.p.urls[svc] + fill(path, ids_for(path, w.ids)), params=[(name, value)] * 2,
                                 headers={"Authorization": f"Bearer {token_for(w, path)}"}, timeout=60)
                if r.status_code != 400 or not is_problem(r, "repeated-query-parameter") or \
                        set(r.json().get("errors", {})) != {name}:
                    wrong.append(f"{svc} GET {path} {name} twice -> {r.status_code} {r.text[:200]}")
    assert wrong == [], "\n".join(wrong)


def answers_a_list(w: World, service: str, op: dict[str, Any]) -> bool:
    """Whether the operation's 200 answer is an object with ``items`` (a list of things under its path)."""
    doc = requests.get(w.p.urls[service] + "/openapi.json", timeout=30).json()
    content = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return "items" in schema.get("properties", {})


def test_a_list_whose_parent_does_not_exist_or_is_not_yours_is_a_404_on_every_service(world):
    w = world
    missing, b_order = str(uuid.uuid4()), None
    wrong = []
    # every nested list (a GET whose answer has items), with each id of its path in turn one nobody has
    for svc in SERVICES:
        for method, path, op in operations(w.p.urls[svc]):
            if method != "GET" or "{" not in path or not answers_a_list(w, svc, op):
                continue
            for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
                ids = dict(ids_for(path, w.ids), **{name: missing})
                token = w.p.admin_token  # the admin sees every shop: only the parent's existence answers
                r = get(w, svc, fill(path, ids), token)
                if r.status_code != 404 or not is_problem(r, "not-found"):
                    wrong.append(f"{svc} {path} with no such {name} -> {r.status_code} {r.text[:200]}")
    # another shop's customer and order under shop A; another customer's order for customer C1
    b_customer = w.cb.id
    b_orders = w.b.orders()
    if b_orders:
        b_order = b_orders[0]["order_id"]
    a = f"/api/v1/shops/{w.a.id}"
    cases = [("order-service", f"{a}/customers/{b_customer}/orders", w.a.manager_token),
             ("billing-service", f"{a}/orders/{w.ids['closed_order_id']}/payments", w.c1.token)]
    if b_order:
        cases.append(("billing-service", f"{a}/orders/{b_order}/payments", w.a.manager_token))
    for svc, path, token in cases:
        r = get(w, svc, path, token)
        if r.status_code != 404 or not is_problem(r, "not-found"):
            wrong.append(f"{svc} {path} -> {r.status_code} {r.text[:200]}")
    assert get(w, "billing-service", f"{a}/orders/{w.ids['closed_order_id']}/payments", w.c2.token).status_code == 200
    assert wrong == [], "\n".join(wrong)


def test_a_405_carries_allow_and_every_kind_of_error_has_the_same_type_in_the_four_services(world):
    w = world
    seen: dict[str, set[str]] = {}
    for svc in SERVICES:
        ops = operations(w.p.urls[svc])
        by_path: dict[str, set[str]] = {}
        for method, path, _op in ops:
            by_path.setdefault(path, set()).add(method)
        path, methods = next((p, m) for p, m in by_path.items() if "DELETE" not in m and not p.startswith("/webhooks"))
        url = w.p.urls[svc] + fill(path, ids_for(path, w.ids))
        auth = {"Authorization": f"Bearer {w.p.admin_token}"}
        answers = {
            "method-not-allowed": requests.delete(url, headers=auth, timeout=30),
            "not-found": requests.get(w.p.urls[svc] + "/api/v1/nowhere", headers=auth, timeout=30),
            "unauthorized": requests.get(url, timeout=30),
            "unknown-query-parameter": requests.get(url, params={"surprise": "1"}, headers=auth, timeout=30),
        }
        r = answers["method-not-allowed"]
        assert r.status_code == 405, (svc, path, r.status_code, r.text[:200])
        assert methods <= {m.strip() for m in r.headers["Allow"].split(",")}, (svc, path, r.headers.get("Allow"))
        for slug, answer in answers.items():
            assert is_problem(answer, slug), (svc, slug, answer.status_code, answer.headers.get("Content-Type"),
                                              answer.text[:200])
            seen.setdefault(slug, set()).add(answer.json()["type"])
        doc = requests.get(w.p.urls[svc] + "/openapi.json", timeout=30).json()
        assert all(f"`{slug}`" in doc["info"]["description"] for slug in PROBLEM_TYPES), svc
    assert all(len(types) == 1 for types in seen.values()), seen
