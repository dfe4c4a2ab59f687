"""Bad input at every door of the running platform:

- schemathesis over each service's OpenAPI document (over HTTP, to the processes): no input, valid or not, gets a
  5xx, and every answer conforms to the document (status code, content type, headers, body schema);
- every consumer fed malformed, truncated, oversized, unknown-type, wrong-version and duplicate messages: each goes
  to the dead-letter topic (once per reader) or is dropped as a duplicate, the consumers stay up and catch up, and
  nothing changes;
- Stripe webhooks unsigned, signed with the wrong secret, replayed outside the tolerance or of unknown types:
  refused or ignored, nothing changes;
- bodies above MAX_BODY_BYTES get 413 (with or without Content-Length); deeply nested JSON a 400; a huge JSON body
  within the limit a 4xx, and the APIs keep their memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_world import SERVICES, World, build_world, snapshot

from devstack.stack import LOCAL_WEBHOOK_SECRET
from devstack.testing import group_lag, wait_for
from shared_events import kafka as kafka_clients

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# A request line or header above gunicorn's limits (8 KiB) is refused by gunicorn itself with a text/html 4xx before
# any application code runs (in production the ingress does the same): a refusal, not a conformance failure.
FRONT_REFUSALS = {414, 431}
CLOCK = ("/api/v1/test-clock",)  # moving the shared test clock would end the other tests' cycles: fuzzed as a manager


@pytest.fixture(scope="module")
def fuzz(system) -> World:
    """Shops of their own: the fuzzer deletes, pauses, refunds whatever it can reach."""
    return build_world(system)


# -- schemathesis ------------------------------------------------------------------------------------------------


def fuzz_operation(op: Any, strategy: Any, failures: list[str], calls: list[int]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        response = case.call(timeout=60)
        calls.append(response.status_code)
        if response.status_code in FRONT_REFUSALS:
            return  # refused by gunicorn before the app: not the app's document to describe
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # every check that failed, for the report
            failures.append(f"{op.method.upper()} {case.formatted_path} -> {response.status_code}: "
                            f"{str(exc)[:600]} | body={str(case.body)[:200]!r} query={case.query!r}")

    run()


@pytest.mark.parametrize("service", SERVICES)
def test_no_input_gets_a_server_error_and_every_answer_conforms_to_the_openapi_document(fuzz, service):
    w = fuzz
    url = w.p.urls[service]
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    real = dict(w.ids)
    failures: list[str] = []
    calls: list[int] = []
    called: set[str] = set()
    for op in operations:
        before = len(calls)
        fixed = {name: real[name] for name in real if f"{{{name}}}" in op.path}
        if "/payment-methods/" in op.path:
            fixed["method_id"] = real["payment_method_id"]
        token = w.a.manager_token
        if op.path.startswith(("/api/v1/tokens", "/api/v1/boundaries")) or op.path == "/api/v1/shops":
            token = w.p.admin_token
        if op.path.endswith(("/card", "/card/setup", "/charges-permission")):
            token = w.c2.session  # only the customer, in a session of their own, may act there
        headers = {"Authorization": f"Bearer {token}"}
        if op.path.startswith(CLOCK):
            headers = {"Authorization": f"Bearer {w.a.manager_token}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=fixed, headers=headers)
            try:
                fuzz_operation(op, strategy, failures, calls)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing left to make invalid
        if len(calls) > before:
            called.add(op.label)
    print(f"{service}: {len(operations)} operations, {len(calls)} calls, statuses "
          f"{ {c: calls.count(c) for c in sorted(set(calls))} }")
    # hypothesis stops early on operations with few distinct inputs (no parameters, no body): every operation is
    # called, not necessarily EXAMPLES times
    assert called == {op.label for op in operations}
    assert len(calls) >= len(operations) * 2
    assert failures == [], "\n".join(failures[:30])


# -- consumers -----------------------------------------------------------------------------------------------------


def readers(topic: str) -> set[str]:
    import importlib

    refs = {"subscription-service": ("subscription_service.adapters.projections", "CONSUMED_TOPICS"),
            "scheduler-service": ("scheduler_service.entrypoints.consumer", "TOPICS"),
            "order-service": ("order_service.entrypoints.consumer", "TOPICS"),
            "billing-service": ("billing_service.entrypoints.consumer", "TOPICS")}
    return {svc for svc, (mod, name) in refs.items() if topic in getattr(importlib.import_module(mod), name)}


def poison(shop_id: str) -> list[tuple[str, str, bytes]]:
    from datetime import UTC, datetime

    from shared_events import new_envelope
    from shared_events.envelope import encode

    good = json.loads(encode(new_envelope(
        "StockAdjusted", f"{shop_id}:box", 10**12, {"variant_id": "box", "shop_id": shop_id, "delta": -5,
                                                    "reason": "poison"}, producer="attacker", shop_id=shop_id,
        occurred_at=datetime.now(UTC))))

    def variant(**changes: Any) -> bytes:
        return json.dumps(dict(good, event_id=str(uuid.uuid4()), **changes)).encode()

    out: list[tuple[str, str, bytes]] = []
    for topic in ("catalog.events", "identity.events", "shops.events", "orders.events", "scheduler.events",
                  "subscriptions.events", "customers.events", "billing.events", "schedules.events"):
        out += [
            ("garbage", topic, b"\xff\xfe\x00 not an event"),
            ("truncated", topic, variant()[:80]),
            ("unknown type", topic, variant(event_type="ShopTeleported")),
            ("wrong schema version", topic, variant(schema_version=7)),
            ("not an object", topic, b"\"just a string\""),
            ("nested too deeply", topic, b"[" * 20_000 + b"]" * 20_000),
        ]
    out += [
        ("oversized", "catalog.events", b"{" + b" " * 1_030_000 + b"}"),
        ("oversized event", "catalog.events", variant(payload=dict(good["payload"], reason="x" * 1_000_000))),
        ("payload breaking its contract", "catalog.events", variant(payload={"delta": "many"})),
        ("OrderDue that is not one", "scheduler.events",
         json.dumps(dict(good, event_id=str(uuid.uuid4()), event_type="OrderDue", payload={}),
                    separators=(",", ":")).encode()),
        ("empty", "orders.events", b""),
    ]
    return out


def dead_letters(bootstrap: str, prefix: str) -> list[dict[str, str]]:
    from shared_events import kafka as kafka_clients
    from shared_events.topics import dlq_name, event_topics

    return [{k: v.decode(errors="replace") for k, v in (r.headers or [])}
            for t in event_topics() for r in kafka_clients.read_topic(prefix + dlq_name(t.name), bootstrap)]


def test_every_consumer_dead_letters_poison_drops_duplicates_stays_up_and_changes_nothing(system, world):
    stack = system.stack
    prefix, bootstrap = stack.cfg.topic_prefix, stack.bootstrap
    before = snapshot(world)
    producer = kafka_clients.producer(bootstrap, **{"message.max.bytes": 2_000_000})
    # the copies are chosen before any poison is planted: a "real" record is one the platform wrote
    copies = copies_of_real_records(bootstrap, prefix, producer)
    assert {t for t, _p, _o in copies} == {"subscriptions.events", "orders.events", "billing.events",
                                            "identity.events"}, copies
    planted = []
    for label, topic, value in poison(world.a.id):
        partition, offset = kafka_clients.deliver_one(producer, prefix + topic, world.a.id.encode(), value)
        planted.append((label, topic, partition, offset))
    names = {"subscription-service", "scheduler-service", f"{prefix}order-service", "billing-service"}

    def everyone_caught_up() -> bool:
        from shared_events.topics import physical

        for group in names:
            service = group[len(prefix):] if group.startswith(prefix) else group
            topics = [physical(t, prefix) for t in sorted(consumed(service))]
            if group_lag(bootstrap, group, topics) != 0:
                return False
        return True

    wait_for(everyone_caught_up, 180, "every consumer to get past the poison")
    letters = dead_letters(bootstrap, prefix)
    by_source: dict[tuple[str, int, int], set[str]] = {}
    for d in letters:
        key = (d.get("dlq.source.topic", ""), int(d.get("dlq.source.partition", -1)),
               int(d.get("dlq.source.offset", -1)))
        by_source.setdefault(key, set()).add(d.get("dlq.consumer", "?").removeprefix(prefix))
    wrong = []
    for label, topic, partition, offset in planted:
        got = by_source.get((prefix + topic, partition, offset), set())
        if got != readers(topic):
            wrong.append(f"{label} in {topic}: dead-lettered by {sorted(got)}, expected {sorted(readers(topic))}")
    for topic, partition, offset in copies:
        if (prefix + topic, partition, offset) in by_source:
            wrong.append(f"a copy of a real {topic} record was dead-lettered instead of dropped")
    assert wrong == [], "\n".join(wrong)
    for svc in SERVICES:
        assert stack.procs.running(f"{svc}.consumer"), f"{svc}'s consumer died"
    assert snapshot(world) == before


def consumed(service: str) -> list[str]:
    return sorted(t for t in ("identity.events", "shops.events", "customers.events", "schedules.events",
                              "subscriptions.events", "scheduler.events", "orders.events", "billing.events",
                              "catalog.events") if service in readers(t))


def copies_of_real_records(bootstrap: str, prefix: str, producer: kafka_clients.Producer
                           ) -> list[tuple[str, int, int]]:
    """The first well-formed record of some topics (whatever partition holds it), sent again byte for byte: a
    producer retry, a restored backup. Only a record that decodes counts: a poison message planted earlier in the
    session is not a real record, and its copy is rightly dead-lettered."""
    from shared_events.envelope import DecodeError, decode

    def decodes(value: bytes | None) -> bool:
        try:
            decode(value)
            return True
        except DecodeError:
            return False

    out = []
    for topic in ("subscriptions.events", "orders.events", "billing.events", "identity.events"):
        found = next((r for r in kafka_clients.read_topic(prefix + topic, bootstrap) if decodes(r.value)), None)
        if found is not None:
            partition, offset = kafka_clients.deliver_one(producer, prefix + topic, found.key, found.value)
            out.append((topic, partition, offset))
    return out


# -- Stripe webhooks -------------------------------------------------------------------------------------------------


def signed(body: bytes, secret: str, at: int | None = None) -> dict[str, str]:
    t = at if at is not None else int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


def test_stripe_webhooks_unsigned_forged_stale_or_unknown_are_refused_or_ignored_and_change_nothing(world):
    w = world
    url = w.p.urls["billing-service"] + "/webhooks/stripe"
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", LOCAL_WEBHOOK_SECRET)
    pay = w.admin("billing-service").get(f"{w.a.base}/payments/{w.ids['payment_id']}")
    intent = {"id": pay["stripe_payment_intent_id"], "object": "payment_intent", "status": "canceled",
              "amount": pay["amount"], "metadata": {"payment_id": pay["payment_id"], "attempt": "1"}}

    def event(kind: str, obj: dict[str, Any]) -> bytes:
        return json.dumps({"id": "evt_" + uuid.uuid4().hex[:24], "object": "event", "type": kind,
                           "created": int(time.time()), "data": {"object": obj}}).encode()

    before = snapshot(w)
    failed = event("payment_intent.payment_failed", intent)
    refused = {
        "unsigned": requests.post(url, data=failed, headers={"Content-Type": "application/json"}, timeout=30),
        "wrong secret": requests.post(url, data=failed, headers=signed(failed, "whsec_" + uuid.uuid4().hex),
                                      timeout=30),
        "outside the tolerance": requests.post(url, data=failed, headers=signed(failed, secret,
                                                                                int(time.time()) - 3600), timeout=30),
        "tampered after signing": requests.post(url, data=failed.replace(b"canceled", b"succeeded"),
                                                headers=signed(failed, secret), timeout=30),
        "signature of another body": requests.post(url, data=event("payment_intent.succeeded", intent),
                                                   headers=signed(failed, secret), timeout=30),
        "deeply nested, unsigned": requests.post(url, data=b"[" * 5000 + b"]" * 5000,
                                                 headers={"Stripe-Signature": "t=1,v1=00", "Content-Type":
                                                          "text/plain"}, timeout=30),
        "not JSON": requests.post(url, data=b"\xff\xfe", headers=signed(b"\xff\xfe", secret), timeout=30),
    }
    wrong = [f"{k}: {r.status_code} {r.text[:200]}" for k, r in refused.items()
             if r.status_code != 400 or secret in r.text]
    ignored = {kind: requests.post(url, data=body, headers=signed(body, secret), timeout=30)
               for kind, body in (("unknown type", event("charge.dispute.created", intent)),
                                  ("an account event", event("account.updated", {"id": "acct_1"})),
                                  ("an intent we never made", event("payment_intent.succeeded", dict(
                                      intent, id="pi_" + uuid.uuid4().hex[:20], metadata={}, status="succeeded"))))}
    wrong += [f"{k}: {r.status_code} {r.text[:200]}" for k, r in ignored.items() if r.status_code != 200]
    assert wrong == [], "\n".join(wrong)
    time.sleep(2)
    assert snapshot(w) == before


# -- body size and shape -----------------------------------------------------------------------------------------------


def api_rss_mb(system) -> float:
    """Resident memory of every API process (gunicorn masters and workers), in MB."""
    import subprocess

    total = 0.0
    for svc in SERVICES:
        pid = system.stack.procs.pid(f"{svc}.api")
        out = subprocess.run(["ps", "-o", "rss=", "--pid", str(pid), "--ppid", str(pid)], capture_output=True,
                             text=True).stdout
        total += sum(int(x) for x in out.split()) / 1024
    return total


def test_oversized_bodies_get_413_and_deep_or_huge_json_a_4xx_without_exhausting_memory(system, world):
    w = world
    targets = {"subscription-service": f"{w.a.base}/customers", "scheduler-service": "/api/v1/test-clock/advance",
               "order-service": f"{w.a.base}/orders/{w.ids['order_id']}/lines",
               "billing-service": f"{w.a.base}/payments/{w.ids['payment_id']}/refunds"}
    headers = {"Authorization": f"Bearer {w.p.admin_token}", "Content-Type": "application/json",
               "Idempotency-Key": str(uuid.uuid4())}
    before = snapshot(w)
    rss_before = api_rss_mb(system)
    wrong = []
    big = b'{"name": "' + b"x" * 1_100_000 + b'"}'

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    for svc, path in targets.items():
        url = w.p.urls[svc] + path
        cases = {
            "1.1 MB with Content-Length": (requests.post(url, data=big, headers=headers, timeout=60), {413}),
            "1.1 MB chunked": (requests.post(url, data=chunks(), headers=headers, timeout=60), {413}),
            "10 000 levels deep": (requests.post(url, data=b"[" * 10000 + b"]" * 10000, headers=headers,
                                                 timeout=60), {400}),
            "990 KB array": (requests.post(url, data=b"[" + b"1," * 494_000 + b"1]", headers=headers, timeout=60),
                             {400, 409, 422}),
            "900 KB of keys": (requests.post(url, data=json.dumps({f"k{i}": i for i in range(55_000)}).encode(),
                                             headers=headers, timeout=60), {400, 409, 422}),
        }
        for what, (r, ok) in cases.items():
            if r.status_code not in ok or not r.headers.get("Content-Type", "").startswith("application/problem+json"):
                wrong.append(f"{svc} {what}: {r.status_code} {r.text[:200]}")
    webhook = requests.post(w.p.urls["billing-service"] + "/webhooks/stripe", data=big, timeout=60,
                            headers={"Stripe-Signature": "t=1,v1=0", "Content-Type": "application/json"})
    if webhook.status_code != 413:
        wrong.append(f"webhook 1.1 MB: {webhook.status_code}")
    assert wrong == [], "\n".join(wrong)
    for svc in SERVICES:
        assert requests.get(w.p.urls[svc] + "/healthz", timeout=10).status_code == 200
    rss_after = api_rss_mb(system)
    print(f"API memory: {rss_before:.0f} MB before, {rss_after:.0f} MB after")
    assert rss_after < rss_before + 400, (rss_before, rss_after)
    assert snapshot(w) == before
