"""The web app with the services' APIs played by a recording stand-in (no I/O): each test says what the API
answers and sees what the app sent. The real services answer in the browser tests."""

from __future__ import annotations

import html as htmllib
import json as jsonlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from web_app.app import create_app
from web_app.config import SERVICES, WebSettings

TRANSLATIONS = Path(__file__).resolve().parents[2] / "src" / "web_app" / "translations"


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """What `make bootstrap` does: the .mo files are compiled, never committed."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            catalog = read_po(f)
        with po.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)


@dataclass
class FakeHttp:
    """requests.Session's ``request`` as the services would answer: ``answers[(method, path)]`` is (status, body)
    or a function of the JSON sent."""

    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, *, json: Any = None, params: Any = None, headers: Any = None,
                timeout: float | None = None, stream: bool = False) -> requests.Response:
        path = "/" + url.split("/", 3)[3]
        self.sent.append({"method": method, "path": path, "json": json, "params": params, "headers": headers})
        answer = self.answers.get((method, path))
        if answer is None:
            status, body = 404, {"title": "Not Found", "status": 404}
        else:
            status, body = answer(json) if callable(answer) else answer
        resp = requests.Response()
        resp.status_code = status
        if isinstance(body, bytes):  # a file (a CSV report): the body as the service streams it
            resp._content, resp._content_consumed = body, True
            resp.headers["Content-Type"] = "text/csv; charset=utf-8"
            resp.headers["Content-Disposition"] = 'attachment; filename="report.csv"'
            return resp
        resp._content = b"" if body is None else jsonlib.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json" if status < 400 else "application/problem+json"
        return resp


def settings(**kw: Any) -> WebSettings:
    values: dict[str, Any] = {"service_urls": {name: f"http://{name}.test" for name in SERVICES},
                              "public_url": "http://web.test", "secret_key": "test-secret-" + "x" * 40,
                              "cookie_secure": False}
    values.update(kw)
    return WebSettings(**values)


@pytest.fixture
def fake_http() -> FakeHttp:
    return FakeHttp()


@pytest.fixture
def make_app(fake_http: FakeHttp) -> Callable[..., Any]:
    def make(**kw: Any) -> Any:
        app = create_app(settings(**kw))
        app.extensions["api_http"] = fake_http
        app.testing = True
        return app

    return make


@pytest.fixture
def client(make_app: Callable[..., Any]) -> Any:
    return make_app().test_client()


@pytest.fixture
def csrf_of() -> Callable[[str], str]:
    """The CSRF token of the (first) form of a page."""

    def read(page: str) -> str:
        marker = 'name="csrf_token" type="hidden" value="'
        return page.split(marker, 1)[1].split('"', 1)[0]

    return read


@pytest.fixture
def shop_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def console_manager(client: Any, fake_http: FakeHttp, shop_id: str) -> Callable[..., Any]:
    """``console_manager(locale="en")``: the test client signed in as a manager of ``shop_id`` (the session the
    web app keeps), the shop answered by subscription-service in that language."""

    def sign_in(locale: str = "en") -> Any:
        with client.session_transaction() as session:
            session.update(token="rop_manager", token_id=str(uuid.uuid4()), role="manager", shop_ids=[shop_id],
                           customer_id=None, signed_in_at=0)
        fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, {
            "id": shop_id, "name": "La Ruche", "locale": locale, "timezone": "Europe/Paris", "currency": "EUR",
            "contact_email": "hub@example.org"})
        return client

    return sign_in


# -- the page tests' helpers: signing in through the emailed link, reading a page, what was sent --


@pytest.fixture
def signed_in_by_link(client: Any, fake_http: FakeHttp, csrf_of: Callable[[str], str],
                      shop_id: str) -> Callable[..., Any]:
    """``signed_in_by_link(role, **issued)``: the test client signed in through the emailed link's page,
    subscription-service issuing a ``role`` session for ``shop_id`` (``issued``: the rest of its answer)."""

    def sign_in(role: str, **issued: Any) -> Any:
        fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": f"rop_{role}_session", "role": role,
                                                                 "shop_ids": [shop_id], **issued})
        client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
        return client

    return sign_in


@pytest.fixture
def customer_signed_in(signed_in_by_link: Callable[..., Any], fake_http: FakeHttp, shop_id: str) -> Callable[..., Any]:
    """``customer_signed_in(shop={...}, customer={...})``: the test client signed in through the emailed link as the
    customer ``cust-1`` (Ann Martin, ann@example.org) of the shop ``shop_id`` (La Ruche, French, Europe/Paris, EUR),
    which the API answers as such; ``shop``, ``customer``: fields that differ in the API's answers. The client's
    ``base`` is the shop's API path."""

    def sign_in(shop: dict[str, Any] | None = None, customer: dict[str, Any] | None = None) -> Any:
        client = signed_in_by_link("customer", customer_id="cust-1")
        base = f"/api/v1/shops/{shop_id}"
        fake_http.answers[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": "fr",
                                                  "timezone": "Europe/Paris", "currency": "EUR",
                                                  "contact_email": "ruche@example.org", **(shop or {})})
        fake_http.answers[("GET", f"{base}/customers/cust-1")] = (200, {
            "id": "cust-1", "first_name": "Ann", "last_name": "Martin", "locale": None, "email": "ann@example.org",
            **(customer or {})})
        client.base = base
        return client

    return sign_in


@pytest.fixture
def text_of() -> Callable[[str], str]:
    """A page's text as a person reads it: without its tags, its spaces collapsed."""

    def read(html: str) -> str:
        return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))

    return read


@pytest.fixture
def csrf_in() -> Callable[[str, str], dict[str, str]]:
    """``csrf_in(html, action)``: the CSRF field (its name carries the form's prefix) of the form posting to
    ``action``."""

    def field(html: str, action: str) -> dict[str, str]:
        form = html.split(f'action="{action}"', 1)[1]
        found = re.search(r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"', form)
        assert found, action
        return {found.group(1): found.group(2)}

    return field


@pytest.fixture
def sent() -> Callable[[FakeHttp, str], list[dict[str, Any]]]:
    """``sent(fake_http, method)``: what the app sent the services with that method, in order."""

    def of(fake_http: FakeHttp, method: str) -> list[dict[str, Any]]:
        return [s for s in fake_http.sent if s["method"] == method]

    return of
