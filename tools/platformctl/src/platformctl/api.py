"""Calls to the services' REST APIs with the admin token."""

from __future__ import annotations

from typing import Any

import requests

from platformctl.targets import admin_token, target


class ApiFailure(Exception):
    pass


def call(service: str, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
         token: str | None = None, timeout: float = 120, headers: dict[str, str] | None = None) -> Any:
    t = target(service)
    try:
        r = requests.request(method, t.url + path, json=json, params=params, timeout=timeout,
                             headers={"Authorization": f"Bearer {token or admin_token()}", **(headers or {})})
    except requests.RequestException as exc:
        raise ApiFailure(f"{service} at {t.url} is not reachable: {type(exc).__name__}") from None
    if r.status_code >= 400:
        try:
            body = r.json()
            detail = body.get("detail") or body.get("title")
            if body.get("errors"):
                detail = f"{detail} {body['errors']}"
        except ValueError:
            detail = r.text[:300]
        raise ApiFailure(f"{method} {path} -> {r.status_code}: {detail}")
    return r.json() if r.content else None


def all_pages(service: str, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = dict(params or {}, limit=200)
    while True:
        page = call(service, "GET", path, params=params)
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]
