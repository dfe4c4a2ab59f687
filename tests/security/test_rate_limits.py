"""Per-token rate limits on every API: a replica of each service's API with a low RATE_LIMIT_PER_MINUTE (30: a burst
of 10, then one every 2 s) on the running platform's database answers 429 with Retry-After to the token that went
too fast, and goes on serving the others; after Retry-After seconds the first is served again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devstack.procs import free_port, port_open, wait_until
from devstack.stack import SERVICES

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PER_MINUTE = 30
BURST = 10  # servicekit: max(per_minute // 6, 10)


@pytest.fixture(scope="module")
def limited(system, tmp_path_factory):
    """service name -> base URL of a rate-limited replica of its API."""
    stack = system.stack
    procs, urls = [], {}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    for svc in SERVICES:
        port = free_port()
        metrics = tmp_path_factory.mktemp(f"metrics-{svc.name}")
        env = dict(stack.service_env(svc), PORT=str(port), RATE_LIMIT_PER_MINUTE=str(PER_MINUTE), WEB_CONCURRENCY="1",
                   PROMETHEUS_MULTIPROC_DIR=str(metrics))
        log = (tmp_path_factory.mktemp("logs") / f"{svc.name}.log").open("ab")
        procs.append(subprocess.Popen([gunicorn, "-c", "python:servicekit.gunicorn_conf",
                                       f"{svc.package}.entrypoints.flask_app:create_app()"], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        urls[svc.name] = f"http://127.0.0.1:{port}"
        wait_until(lambda p=port: port_open(p), 60, f"the limited replica of {svc.name}")
    try:
        yield urls
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)


def paths(world) -> dict[str, str]:
    base = world.a.base
    return {"subscription-service": base, "scheduler-service": f"{base}/boundaries",
            "order-service": f"{base}/orders", "billing-service": f"{base}/payments"}


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_a_token_that_goes_too_fast_gets_429_with_retry_after_while_other_tokens_are_served(limited, world, service):
    url = limited[service] + paths(world)[service]
    fast, other = world.a.manager_token, world.a_manager.token

    def get(token: str) -> requests.Response:
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    answers = [get(fast) for _ in range(BURST + 5)]
    codes = [r.status_code for r in answers]
    assert codes[:BURST - 2] == [200] * (BURST - 2), codes  # the burst (a little refill may add to it)
    limited_answers = [r for r in answers if r.status_code == 429]
    assert limited_answers, codes
    first = limited_answers[0]
    assert first.headers["Content-Type"].startswith("application/problem+json")
    retry_after = int(first.headers["Retry-After"])
    assert 1 <= retry_after <= 60 // PER_MINUTE + 1, retry_after
    assert first.json()["status"] == 429
    assert get(other).status_code == 200, "the limit is per token"
    time.sleep(retry_after + 0.5)
    assert get(fast).status_code == 200, "served again after Retry-After"
