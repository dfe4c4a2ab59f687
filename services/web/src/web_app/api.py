"""The one way this app acts: the four services' REST APIs, with the signed-in person's bearer credential.

``Api(settings, token).get("subscriptions", "/api/v1/shops/…")`` returns the JSON answer; any answer that is not a
success raises :class:`ApiError`, which carries the problem details (RFC 9457) the services answer with, so a page
can show a refusal next to the field it concerns (:func:`web_app.forms.show_problem`). The services' ``errors``
are ``{field: [messages]}`` with dotted paths for nested fields (``items.0.quantity``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from web_app.config import WebSettings

_http = requests.Session()  # one connection pool per process, shared by its threads (requests' Session is)


@dataclass
class ApiError(Exception):
    """A refusal (4xx) or failure (5xx, unreachable) of a service, as problem details."""

    status: int
    title: str = ""
    detail: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    type: str = "about:blank"

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    @classmethod
    def from_response(cls, resp: requests.Response) -> ApiError:
        body: Any = None
        if resp.headers.get("Content-Type", "").split(";")[0].strip() in ("application/problem+json",
                                                                          "application/json"):
            try:
                body = resp.json()
            except ValueError:
                body = None
        if not isinstance(body, Mapping):
            return cls(resp.status_code, resp.reason or "", "")
        raw = body.get("errors")
        raw = raw if isinstance(raw, Mapping) else {}
        errors = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
        return cls(resp.status_code, str(body.get("title") or resp.reason or ""), str(body.get("detail") or ""),
                   errors, str(body.get("type") or "about:blank"))


ISSUER = "subscriptions"  # the service that issues sessions; the others learn of them through identity.events
NEW_SESSION_RETRY_S = 0.2


class Api:
    """The services' APIs as one person: ``token`` is their bearer credential (None: only public operations).

    ``new_session_wait_s``: a session just issued by subscription-service reaches the other services through Kafka
    (identity.events), a moment later; for that long, a 401 from another service is asked again (every
    ``NEW_SESSION_RETRY_S``) before it counts, so a person who just signed in is not signed out by a service that
    has not heard of their session yet. 0 (the default): a 401 counts at once."""

    def __init__(self, settings: WebSettings, token: str | None = None, *, correlation_id: str | None = None,
                 http: requests.Session | None = None, new_session_wait_s: float = 0.0) -> None:
        self.settings = settings
        self.token = token
        self.correlation_id = correlation_id
        self.http = http or _http
        self.new_session_wait_s = new_session_wait_s

    def request(self, method: str, service: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> Any:
        resp = self._send(method, service, path, json=json, params=params, headers=headers)
        return resp.json() if resp.content else None

    def download(self, service: str, path: str, accept: str = "text/csv", **params: Any) -> requests.Response:
        """A file the service streams (a CSV report, a receipt's PDF: ``accept``): the open response, whose body the
        caller passes on as it comes (``iter_content``) and closes; a refusal raises :class:`ApiError` as ``get``
        does."""
        return self._send("GET", service, path, params={k: v for k, v in params.items() if v is not None},
                          headers={"Accept": f"{accept}, application/problem+json"}, stream=True)

    def _send(self, method: str, service: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
              stream: bool = False) -> requests.Response:
        """The service's successful answer (its body read, or left to read when ``stream``), else ApiError."""
        sent = {"Accept": "application/json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if self.correlation_id:
            sent["X-Correlation-ID"] = self.correlation_id
        sent.update(headers or {})
        url = self.settings.service_urls[service] + path
        waited_until = time.monotonic() + (self.new_session_wait_s if service != ISSUER and self.token else 0.0)
        while True:
            try:
                resp = self.http.request(method, url, json=json, params=params, headers=sent,
                                         timeout=self.settings.api_timeout_s, stream=stream)
            except requests.RequestException as exc:
                raise ApiError(503, "Service unavailable", f"{service} did not answer: {type(exc).__name__}") from exc
            if resp.status_code != 401 or time.monotonic() >= waited_until:
                break
            if stream:
                resp.close()
            time.sleep(NEW_SESSION_RETRY_S)  # nothing was done: a 401 is answered before anything changes
        if not 200 <= resp.status_code < 300:
            try:
                raise ApiError.from_response(resp)
            finally:
                if stream:
                    resp.close()
        return resp

    def get(self, service: str, path: str, **params: Any) -> Any:
        return self.request("GET", service, path, params={k: v for k, v in params.items() if v is not None})

    def post(self, service: str, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", service, path, json=json, **kw)

    def all_items(self, service: str, path: str, limit: int = 200, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list (follows ``next_cursor``)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get(service, path, limit=limit, cursor=cursor, **params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items
