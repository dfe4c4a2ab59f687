"""Calls to the services' REST APIs with the admin token."""

from __future__ import annotations

from typing import Any

import requests

from platformctl.targets import admin_token, target


class ApiFailure(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
        raise ApiFailure(f"{method} {path} -> {r.status_code}: {detail}", r.status_code)
    return r.json() if r.content else None


def all_pages(service: str, path: str, params: dict[str, Any] | None = None, *,
              parent_may_be_unknown: bool = False) -> list[dict[str, Any]]:
    """Every item of a list. ``parent_may_be_unknown``: a 404 (a shop the service has not heard of yet, its
    events still on their way) is an empty list."""
    items: list[dict[str, Any]] = []
    params = dict(params or {}, limit=200)
    while True:
        try:
            page = call(service, "GET", path, params=params)
        except ApiFailure as exc:
            if parent_may_be_unknown and exc.status == 404 and not items:
                return []
            raise
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]
