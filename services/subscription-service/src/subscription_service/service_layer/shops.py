"""Use cases on shops: their settings, shipping and payment methods, managers, and readiness."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from servicekit.auth import EMAIL_SIGN_IN
from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import shops as views
from subscription_service.domain import access, managers, readiness, shops, standards, tokens
from subscription_service.domain.errors import NotFound
from subscription_service.domain.shops import Shop
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import envelopes, record, record_decided


def load_shop(conn: psycopg.Connection, caller: Caller, shop_id: str, *, manage: bool = True,
              lock: str | None = None) -> Shop:
    (access.manage_shop if manage else access.see_shop)(caller.principal, shop_id)
    shop = repo.shop(conn, shop_id, lock)
    if shop is None:
        raise NotFound("No such shop.")
    return shop


def create_shop(conn: psycopg.Connection, caller: Caller, settings: dict[str, Any]) -> dict[str, Any]:
    access.admin_only(caller.principal)
    shop_id = str(uuid.uuid4())
    record_decided(conn, caller, shop_id, shop_id, 0, shops.create_shop(shop_id, settings, caller.by))
    return views.shop(conn, shop_id)  # type: ignore[return-value]


def get_shop(conn: psycopg.Connection, caller: Caller, shop_id: str) -> dict[str, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    return views.shop(conn, shop_id)  # type: ignore[return-value]


def update_shop(conn: psycopg.Connection, caller: Caller, shop_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    shop = load_shop(conn, caller, shop_id, lock="update")
    caller.check_version(shop.version)
    has_subs = "currency" in changes and repo.shop_has_subscriptions(conn, shop_id)
    decided = shops.update_shop(shop, changes, caller.by, has_subscriptions=has_subs)
    record_decided(conn, caller, shop_id, shop_id, shop.version, decided)
    return views.shop(conn, shop_id)  # type: ignore[return-value]


def create_method(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str,
                  data: dict[str, Any]) -> dict[str, Any]:
    shop = load_shop(conn, caller, shop_id, lock="update")
    method_id = str(uuid.uuid4())
    decided = shops.save_method(shop, kind, method_id, data, caller.by, new=True)
    record_decided(conn, caller, shop_id, shop_id, shop.version, decided)
    return views.method(conn, shop_id, kind, method_id)  # type: ignore[return-value]


def get_method(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str, method_id: str) -> dict[str, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    found = views.method(conn, shop_id, kind, method_id)
    if found is None:
        raise NotFound(f"No such {kind} method.")
    return found


def _method_version(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str, method_id: str) -> None:
    """A method's ETag is the shop version at which it last changed: check it against If-Match."""
    current = views.method(conn, shop_id, kind, method_id)
    if current is None:
        raise NotFound(f"No such {kind} method.")
    caller.check_version(current["version"])


def update_method(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str, method_id: str,
                  data: dict[str, Any]) -> dict[str, Any]:
    shop = load_shop(conn, caller, shop_id, lock="update")
    _method_version(conn, caller, shop_id, kind, method_id)
    decided = shops.save_method(shop, kind, method_id, data, caller.by, new=False)
    record_decided(conn, caller, shop_id, shop_id, shop.version, decided)
    return views.method(conn, shop_id, kind, method_id)  # type: ignore[return-value]


def remove_method(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str, method_id: str) -> None:
    shop = load_shop(conn, caller, shop_id, lock="update")
    _method_version(conn, caller, shop_id, kind, method_id)
    record_decided(conn, caller, shop_id, shop_id, shop.version,
                   shops.remove_method(shop, kind, method_id, caller.by))


def list_shops(conn: psycopg.Connection, caller: Caller, page: Any, q: str | None) -> tuple[list, Any]:
    return views.list_shops(conn, caller.principal, page, q)


def list_methods(conn: psycopg.Connection, caller: Caller, shop_id: str, kind: str, page: Any,
                 active: bool | None) -> tuple[list, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    return views.list_methods(conn, shop_id, kind, page, active)


def readiness_of(conn: psycopg.Connection, caller: Caller, shop_id: str) -> dict[str, Any]:
    """The set-up checklist (the shop's managers): what is done and what is left before subscriptions run."""
    load_shop(conn, caller, shop_id)
    return readiness.readiness(views.readiness_facts(conn, shop_id, caller.now))


def list_managers(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any) -> tuple[list, Any]:
    load_shop(conn, caller, shop_id)
    return views.list_managers(conn, shop_id, page)


def get_manager(conn: psycopg.Connection, caller: Caller, shop_id: str, manager_id: str) -> dict[str, Any]:
    load_shop(conn, caller, shop_id)
    found = views.manager(conn, shop_id, manager_id)
    if found is None:
        raise NotFound("No such manager.")
    return found


def add_manager(conn: psycopg.Connection, caller: Caller, shop_id: str, email: str) -> dict[str, Any]:
    """The admin or the shop's managers add a manager by their email address."""
    shop = load_shop(conn, caller, shop_id, lock="update")
    manager_id = str(uuid.uuid4())
    decided = managers.add_manager(shop, repo.managers(conn, shop_id), manager_id, email, caller.by)
    record_decided(conn, caller, shop_id, shop_id, shop.version, decided)
    return views.manager(conn, shop_id, manager_id)  # type: ignore[return-value]


def remove_manager(conn: psycopg.Connection, caller: Caller, shop_id: str, manager_id: str) -> None:
    """The manager no longer manages the shop: the sessions they opened by email that reach it end (they sign in
    again for the shops they still manage)."""
    shop = load_shop(conn, caller, shop_id, lock="update")
    found = views.manager(conn, shop_id, manager_id)
    if found is None:
        raise NotFound("No such manager.")
    caller.check_version(found["version"])
    decided = managers.remove_manager(shop, repo.managers(conn, shop_id), manager_id, caller.by)
    envs = envelopes(caller, shop_id, shop_id, shop.version, decided)
    for t in repo.live_manager_sessions(conn, shop_id, found["email"]):
        if t.obtained_by == EMAIL_SIGN_IN:
            envs += envelopes(caller, t.token_id, None, t.version, tokens.end_session(t, caller.by))
    record(conn, envs)


def time_zones() -> list[str]:
    """The names a shop's ``timezone`` may be (domain.standards), sorted."""
    return sorted(standards.canonical_timezones())
