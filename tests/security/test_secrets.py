"""Secrets (bearer tokens, the Stripe key, the webhook secret) never appear in an error body nor in any log line of
the running platform: requests that carry them in every wrong place are answered without echoing them, and then the
log of every process of the session (services, workers, Kafka, PostgreSQL, localstripe, SMTP sink) is scanned.
The fault run (tests/faults) scans the logs of its own full run the same way, with random secrets."""

from __future__ import annotations

import os

import pytest
import requests
from security_world import SERVICES, fill, operations

from devstack.stack import LOCAL_STRIPE_KEY, LOCAL_WEBHOOK_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def secrets_of(system, world) -> dict[str, str]:
    out = {"admin token": system.stack.cfg.admin_token,
           "Stripe secret key": os.environ.get("STRIPE_API_KEY", LOCAL_STRIPE_KEY),
           "webhook secret": os.environ.get("STRIPE_WEBHOOK_SECRET", LOCAL_WEBHOOK_SECRET)}
    out.update({f"issued token {i}": t for i, t in enumerate(world.issued)})
    return out


def test_error_bodies_never_echo_a_secret_sent_in_the_wrong_place(system, world):
    w = world
    secrets = secrets_of(system, w)
    sample = list(secrets.values())
    wrong, tried = [], 0
    for svc in SERVICES:
        for method, path, _op in operations(w.p.urls[svc]):
            url = w.p.urls[svc] + fill(path, w.ids)
            for secret in sample:
                attempts = [
                    {"headers": {"Authorization": f"Bearer {secret}x"}},  # almost a token
                    {"headers": {"Authorization": secret}},  # no scheme
                    {"headers": {"Authorization": f"Bearer {w.b.manager_token}", "X-Api-Key": secret},
                     "params": {"token": secret, "api_key": secret}},
                    {"headers": {"Authorization": f"Bearer {w.b.manager_token}"},
                     "json": {"token": secret, "name": secret, "email": secret, "stripe_customer_id": secret}},
                ]
                for kw in attempts:
                    r = requests.request(method, url, timeout=60, **kw)
                    tried += 1
                    if secret in r.text or any(secret in v for v in r.headers.values()):
                        wrong.append(f"{svc} {method} {path} -> {r.status_code} echoes a secret")
    assert wrong == [], "\n".join(wrong[:20])
    assert tried > 1000


def test_no_log_line_of_the_session_holds_a_secret(system, world):
    # a request in every wrong way first, so that the logs have had their chance
    for svc in SERVICES:
        requests.get(f"{world.p.urls[svc]}/api/v1/shops/x/y", timeout=30,
                     headers={"Authorization": f"Bearer {system.stack.cfg.admin_token}-wrong"})
    state = system.stack.cfg.state
    logs = sorted((state / "logs").glob("*.log")) + sorted(state.glob("pg/*.log"))
    assert len(logs) >= 17, [p.name for p in logs]  # every service process and the infrastructure
    found, size = [], 0
    for path in logs:
        text = path.read_text(errors="replace")
        size += len(text)
        found += [f"{path.name}: {what}" for what, secret in secrets_of(system, world).items() if secret in text]
    assert size > 1000  # they say something
    assert found == []
