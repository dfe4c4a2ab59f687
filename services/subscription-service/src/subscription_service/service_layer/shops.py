"""Use cases on shops and their shipping and payment methods."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import shops as views
from subscription_service.domain import access, shops
from subscription_service.domain.errors import NotFound
from subscription_service.domain.shops import Shop
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import record_decided


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
