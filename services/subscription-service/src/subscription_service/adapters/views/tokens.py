"""API tokens, as the API shows them (never the secret, never the hash)."""

from __future__ import annotations

from typing import Any

import psycopg

from servicekit.auth import Principal
from subscription_service.adapters.queries import PageRequest, Query, Sort, fetch_page, select
from subscription_service.adapters.views.common import row

TOKEN_SORTS = {"issued_at": Sort("issued_at", "issued_at")}


def token_from_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(r["token_id"]), "role": r["role"], "shop_ids": list(r["shop_ids"]),
            "customer_id": r["customer_id"], "label": r["label"], "expires_at": r["expires_at"],
            "issued_at": r["issued_at"], "revoked_at": r["revoked_at"], "obtained_by": r["obtained_by"],
            "version": r["version"]}


def token(conn: psycopg.Connection, token_id: str) -> dict[str, Any] | None:
    found = row(conn, "SELECT * FROM api_tokens WHERE token_id::text = %s", [token_id])
    return token_from_row(found) if found else None


def list_tokens(conn: psycopg.Connection, p: Principal, page: PageRequest, *, shop_id: str | None,
                role: str | None, include_revoked: bool) -> tuple[list, Any]:
    sort = TOKEN_SORTS[page.sort]
    query = Query(select("*", "api_tokens", sort, "token_id::text"), "token_id::text")
    if p.is_manager:  # their own token and the customer tokens of their shops
        query.filter("(token_id::text = %s OR (role = 'customer' AND shop_ids && %s::text[]))", p.token_id,
                     list(p.shop_ids))
    elif not p.is_admin:
        query.filter("token_id::text = %s", p.token_id)
    if shop_id is not None:
        query.filter("%s = ANY(shop_ids)", shop_id)
    if role is not None:
        query.filter("role = %s", role)
    if not include_revoked:
        query.filter("revoked_at IS NULL")
    found, cursor = fetch_page(conn, query, TOKEN_SORTS, page)
    return [token_from_row(r) for r in found], cursor
