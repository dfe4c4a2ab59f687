"""The web app with the services' APIs played by a recording stand-in (no I/O): each test says what the API
answers and sees what the app sent. The real services answer in the browser tests."""

from __future__ import annotations

import json as jsonlib
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
