"""The four services running as separate processes (gunicorn APIs + consumer, relay and other workers) on the
session's real PostgreSQL, Kafka, localstripe and SMTP sink, driven only through public APIs, the catalog topic
and the test clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devstack.stack import SERVICES


class ApiError(AssertionError):
    pass


@dataclass
class Client:
    """A small REST client for one service with one bearer token."""

    base: str
    token: str | None = None

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, *, expect: int | tuple[int, ...] | None = None,
             headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        r = requests.request(method, self.base + path, headers=self._headers(headers), timeout=60, **kw)
        wanted = (expect,) if isinstance(expect, int) else expect
        if wanted is not None and r.status_code not in wanted:
            raise ApiError(f"{method} {path} -> {r.status_code} (wanted {wanted}): {r.text[:2000]}")
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, expect=kw.pop("expect", 200), **kw).json()

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("POST", path, json=json, expect=kw.pop("expect", (200, 201, 202)), **kw)
        return r.json() if r.content else None

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("PATCH", path, json=json, expect=kw.pop("expect", 200), **kw)
        return r.json() if r.content else None

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        r = self.call("PUT", path, json=json, expect=kw.pop("expect", (200, 204)), **kw)
        return r.json() if r.content else None

    def delete(self, path: str, **kw: Any) -> Any:
        r = self.call("DELETE", path, expect=kw.pop("expect", (200, 204)), **kw)
        return r.json() if r.content else None

    def as_(self, token: str) -> Client:
        return Client(self.base, token)


@dataclass
class System:
    stack: Any
    admin_token: str

    def client(self, service: str, token: str | None = None) -> Client:
        return Client(self.stack.service_url(service), token)

    @property
    def smtp_api(self) -> str:
        return self.stack.smtp.api_url

    def mail(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        return requests.get(f"{self.smtp_api}/messages", params=params, timeout=10).json()

    def process_names(self) -> list[str]:
        return [n for s in SERVICES for n in self.stack.process_names(s)]


@pytest.fixture(scope="session")
def system(infra) -> System:
    stack = infra.stack
    stack.migrate()
    stack.start_services()
    try:
        yield System(stack, stack.cfg.admin_token)
    finally:
        stack.stop_services()
