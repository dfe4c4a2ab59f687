"""Small helpers for integration tests (importable from any test module)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition",
             interval: float = 0.2) -> Any:
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def wait_for_answer(fn: Callable[[], Any], timeout: float = 60, what: str = "an answer") -> Any:
    """``wait_for(fn)``, an API's 401 or 404 (``scenario.ApiError``) counted as not yet: a token or a shop that the
    other services have not heard of through Kafka yet."""
    from devstack.scenario import ApiError  # scenario imports this module

    def attempt() -> Any:
        try:
            return fn()
        except ApiError as exc:
            if " -> 401 " in str(exc) or " -> 404 " in str(exc):
                return None
            raise

    return wait_for(attempt, timeout, what)


def scalar(dsn: str, query: str, params: Any = ()) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def rows(dsn: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def process_env(dsn: str, bootstrap: str, topic_prefix: str, **extra: Any) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=dsn, KAFKA_BOOTSTRAP_SERVERS=bootstrap, TOPIC_PREFIX=topic_prefix,
               APP_ENV="test", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """python <args> in the background, output to log."""
    return subprocess.Popen([sys.executable, *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def load_module(path: Path, name: str | None = None) -> Any:
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def group_lag(bootstrap: str, group: str, topics: list[str]) -> int | None:
    """Records not yet committed by a consumer group on the given physical topics (None = no commits yet)."""
    from shared_events import kafka as kafka_clients

    lag = kafka_clients.group_lag(bootstrap, group, topics)
    return None if lag is None else sum(lag.values())


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics whose names start with ``prefix`` (a test's own): a broker shared by every suite slows
    down with every partition it keeps."""
    from shared_events import kafka as kafka_clients

    admin = kafka_clients.admin(bootstrap, **{"client.id": "topic-cleanup"})
    mine = [t for t in admin.list_topics(timeout=30).topics if t.startswith(prefix)]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30, request_timeout=30).values():
            future.result()


def race(calls: list[Callable[[], Any]], timeout: float = 30) -> list[Any]:
    """Run the calls at the same moment, each in its own thread (released together by a barrier); return their
    results in order."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


# -- a customer in person: signing in by email, saving a card through Stripe, consenting -------------------------

Call = Callable[[str, str, Any, "str | None"], Any]
"""(method, path from /api/v1, JSON body or None, bearer token or None) -> the answer's JSON; raises unless 2xx.
The one seam the helpers below need, so that in-process test clients and HTTP clients share them."""

SIGN_IN_LINK = re.compile(r"/sign-in/([A-Za-z0-9_\-]+)")


def sink_messages(smtp_api: str, to: str) -> list[dict[str, Any]]:
    """The messages sent to ``to``, from the SMTP sink (tests) or Mailpit (make run's demo): devstack.mailbox."""
    from devstack.mailbox import messages

    return messages(smtp_api, to)


def emailed_sign_in_token(smtp_api: str, email: str, after_id: int = 0, timeout: float = 30) -> str:
    """The one-time token of the newest sign-in link emailed to ``email`` (read from the SMTP sink's API) in a
    message newer than ``after_id``."""

    def newest() -> str | None:
        for m in reversed(sink_messages(smtp_api, email)):
            found = SIGN_IN_LINK.search(m.get("text") or "") if m["id"] > after_id else None
            if found:
                return found.group(1)
        return None

    return wait_for(newest, timeout, f"a sign-in link emailed to {email}", interval=0.1)


def last_message_id(smtp_api: str) -> int:
    from devstack.mailbox import messages

    return max((m["id"] for m in messages(smtp_api)), default=0)


def sign_in_by_email(call: Call, smtp_api: str, shop_id: str, email: str, attempts: int = 3) -> str:
    """As the customer: ask for a sign-in link, read it in the mailbox, exchange it. Returns the session token.

    A link that never came (the API died before sending it) or was used by a first exchange whose answer was lost
    (a client resending after a dead API gets 401) is what a person meets too: they ask for a new link."""
    for attempt in range(attempts):
        before = last_message_id(smtp_api)
        try:
            call("POST", "/api/v1/sign-in-links", {"email": email, "shop_id": shop_id}, None)
            token = emailed_sign_in_token(smtp_api, email, before)
            return str(call("POST", "/api/v1/sessions", {"token": token}, None)["token"])
        except AssertionError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def browser_confirms_card_setup(setup: dict[str, Any], number: str, *, authenticate: bool = True,
                                payment_method: str | None = None) -> dict[str, Any]:
    """What Stripe.js ``confirmCardSetup`` does in the customer's browser, against localstripe, with the
    publishable key only: confirm the SetupIntent with the card (or an existing ``payment_method`` id), and when
    the bank asks for 3-D Secure, confirm again (the customer completed it) unless ``authenticate`` is False.
    Returns the SetupIntent as Stripe answered last."""
    import requests

    base = setup.get("stripe_api_base")
    if not base:
        raise RuntimeError("the browser's part is simulated against localstripe only")
    url = f"{base.rstrip('/')}/v1/setup_intents/{setup['setup_intent_id']}/confirm"
    body: dict[str, Any] = {"key": setup["publishable_key"], "use_stripe_sdk": True,
                            "client_secret": setup["client_secret"]}
    if payment_method:
        body["payment_method"] = payment_method
    else:
        body["payment_method_data"] = {"type": "card", "card": {"number": number, "exp_month": 12,
                                                                "exp_year": 2034, "cvc": "123"}}
    seti = requests.post(url, json=body, timeout=30).json()
    if seti.get("status") == "requires_action" and authenticate:
        seti = requests.post(url, json={k: body[k] for k in ("key", "use_stripe_sdk", "client_secret")},
                             timeout=30).json()
    return seti


def save_card_in_person(call: Call, session: str, shop_id: str, customer_id: str, number: str,
                        allow_charges: bool = True, locale: str | None = None) -> dict[str, Any]:
    """As the signed-in customer: start a card setup, confirm it in the "browser" (3-D Secure included), save it,
    and (unless told not to) allow the shop to charge it, having read the consent text. Returns the customer."""
    base = f"/api/v1/shops/{shop_id}/customers/{customer_id}"
    setup = call("POST", f"{base}/card/setup", None, session)
    seti = browser_confirms_card_setup(setup, number)
    if seti.get("status") != "succeeded":
        raise AssertionError(f"the card setup did not succeed: {seti}")
    customer = call("PUT", f"{base}/card", {"setup_intent_id": setup["setup_intent_id"]}, session)
    if allow_charges:
        shown = call("GET", f"{base}/charges-permission" + (f"?locale={locale}" if locale else ""), None, session)
        customer = call("PUT", f"{base}/charges-permission", {"locale": shown["locale"]}, session)
    return customer


def customer_in_person(call: Call, smtp_api: str, shop_id: str, customer_id: str, email: str,
                       card: str | None, allow_charges: bool = True) -> str:
    """The whole way a customer saves a card and consents: sign in by email, then ``save_card_in_person``.
    Returns the customer's session token."""
    session = sign_in_by_email(call, smtp_api, shop_id, email)
    if card:
        save_card_in_person(call, session, shop_id, customer_id, card, allow_charges)
    return session
