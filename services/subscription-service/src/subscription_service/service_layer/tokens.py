"""Use cases on API tokens: issue (the secret is shown once; only its SHA-256 is kept and published), revoke."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from servicekit.auth import new_token, token_hash
from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import tokens as views
from subscription_service.domain import tokens
from subscription_service.domain.errors import NotFound
from subscription_service.domain.tokens import TokenRequest
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import record_decided


def issue_token(conn: psycopg.Connection, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
    req = TokenRequest(data["role"], tuple(dict.fromkeys(data.get("shop_ids") or [])), data.get("customer_id"),
                       data.get("label"), data.get("expires_at"))
    unknown = set(req.shop_ids) - repo.existing_shops(conn, req.shop_ids)
    known = False
    if req.role == "customer" and len(req.shop_ids) == 1 and req.customer_id:
        c = repo.customer(conn, req.shop_ids[0], req.customer_id, "share")
        known = c is not None and not c.deleted
    secret, token_id = new_token(), str(uuid.uuid4())
    decided = tokens.issue_token(caller.principal, req, token_id, token_hash(secret), caller.by,
                                 unknown_shops=unknown, customer_known=known)
    record_decided(conn, caller, token_id, req.shop_ids[0] if len(req.shop_ids) == 1 else None, 0, decided)
    return {**views.token(conn, token_id), "token": secret}  # type: ignore[dict-item]


def _visible(conn: psycopg.Connection, caller: Caller, token_id: str, lock: str | None = None) -> tokens.Token:
    t = repo.token(conn, token_id, lock)
    if t is None or not tokens.may_see_token(caller.principal, t):
        raise NotFound("No such token.")
    return t


def get_token(conn: psycopg.Connection, caller: Caller, token_id: str) -> dict[str, Any]:
    _visible(conn, caller, token_id)
    return views.token(conn, token_id)  # type: ignore[return-value]


def revoke_token(conn: psycopg.Connection, caller: Caller, token_id: str) -> dict[str, Any]:
    t = _visible(conn, caller, token_id, "update")
    caller.check_version(t.version)
    record_decided(conn, caller, token_id, None, t.version, tokens.revoke_token(caller.principal, t, caller.by))
    return views.token(conn, token_id)  # type: ignore[return-value]


def list_tokens(conn: psycopg.Connection, caller: Caller, page: Any, **filters: Any) -> tuple[list, Any]:
    return views.list_tokens(conn, caller.principal, page, **filters)
