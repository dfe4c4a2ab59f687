"""Property-based fuzzing of every operation of /openapi.json (schemathesis, in-process): no input, valid or not,
may produce a server error (5xx). Real ids of a seeded shop are used for path parameters so that requests reach
the rules, not just "not found"."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

pytestmark = pytest.mark.integration

EXAMPLES = 30


def fuzz(op, strategy, failures: list[str], calls: list[int]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex  # never replay a stored answer
        response = case.call()
        calls.append(response.status_code)
        if response.status_code >= 500 or "Traceback" in response.text:
            failures.append(f"{op.method.upper()} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]} body={case.body!r} query={case.query!r} headers={case.headers!r}")

    run()


def test_no_operation_answers_a_5xx_whatever_it_is_sent(shop, kit, app, admin):
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    real = {"shop_id": shop.id, "customer_id": shop.customer["id"], "schedule_id": shop.schedule["id"],
            "subscription_id": sub["id"], "cycle_id": shop.cycles[1]["id"], "method_id": shop.ship["id"],
            "token_id": shop.customer_token["id"]}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    failures: list[str] = []
    calls: list[int] = []
    for op in operations:
        fixed = {name: real[name] for name in real if f"{{{name}}}" in op.path}
        if "/payment-methods/" in op.path:
            fixed["method_id"] = shop.card["id"]
        token = admin.token if op.path.startswith("/api/v1/tokens") else shop.manager.token
        if op.path.endswith(("/card", "/card/setup", "/charges-permission")):
            token = shop.session.token  # only the customer, in a session of their own, may act there
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=fixed,
                                      headers={"Authorization": f"Bearer {token}"})
            try:
                fuzz(op, strategy, failures, calls)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing left to make invalid (all parameters fixed)
    assert len(calls) > len(operations) * 10
    assert any(200 <= c < 300 for c in calls) and any(c == 422 for c in calls)
    print("status codes:", {c: calls.count(c) for c in sorted(set(calls))})
    assert failures == []
