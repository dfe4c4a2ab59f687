"""Route helpers: ETags and If-Match, Idempotency-Key, cursor pagination (cursors: servicekit.web.cursors)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, g, request

from servicekit.web.app import principal, request_conn
from servicekit.web.cursors import decode_cursor, encode_cursor
from servicekit.web.problems import PreconditionFailed, Problem, Unprocessable

__all__ = ["check_version", "decode_cursor", "encode_cursor", "etag", "expected_version", "idempotent", "page",
           "set_header", "with_etag"]

# -- ETag / If-Match ---------------------------------------------------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def with_etag(resp: Response, version: int) -> Response:
    resp.headers["ETag"] = etag(version)
    return resp


def expected_version() -> int | None:
    """The version the client says it read (If-Match), or None when it did not send one."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise Problem("If-Match must be an ETag this API returned, e.g. \"3\".", title="Bad If-Match header")
    return int(value)


def check_version(current: int) -> None:
    """412 when the client's If-Match is not the current version."""
    wanted = expected_version()
    if wanted is not None and wanted != current:
        raise PreconditionFailed(f"You sent If-Match {etag(wanted)} but the current version is {etag(current)}.",
                                 headers={"ETag": etag(current)})


# -- Idempotency-Key ---------------------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Outermost decorator of a POST view: a retry with the same key gets the first response.

    The key is claimed by inserting its row (an empty response) in the request's own transaction, and
    the response is written into that row in the same transaction: the create and its stored response
    commit together. A concurrent retry's insert waits on the key for the first to finish; it then
    reads the stored response, or claims the key itself if the first failed (rolled back: nothing
    of it remains, not even the claim). One round trip to claim, where a lock and a read took two.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not (1 <= len(key) <= 200):
            raise Unprocessable(errors={IDEMPOTENCY_HEADER: ["Must be 1 to 200 characters."]})
        if not key.isprintable():  # PostgreSQL text cannot hold NUL: refuse control characters, never a 500
            raise Unprocessable(errors={IDEMPOTENCY_HEADER: ["Must be printable characters only."]})
        who = principal().token_id
        conn = request_conn()
        body_hash = hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()
        claimed = conn.execute(
            "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status, headers, body) "
            "VALUES (%s, %s, %s, %s, %s, 0, '{}', '') ON CONFLICT DO NOTHING RETURNING true",
            [who, key, request.method, request.path, body_hash],
        ).fetchone()
        if claimed is None:  # stored by a request that committed (a new statement sees it)
            row: Any = conn.execute(
                "SELECT request_hash, status, headers, body FROM idempotency_keys WHERE principal = %s AND key = %s",
                [who, key],
            ).fetchone()
            if row is None:  # removed between the two statements (by hand): a clear answer, not a second create
                raise Problem("This Idempotency-Key's stored response was just removed; retry.", status=409,
                              title="Idempotency-Key busy", slug="idempotency-key-busy")
            if not isinstance(row, dict):
                row = dict(zip(("request_hash", "status", "headers", "body"), row, strict=True))
            if row["request_hash"] != body_hash:
                raise Problem("This Idempotency-Key was used with a different request.", status=422,
                              title="Idempotency-Key reused", slug="idempotency-key-reused")
            resp = Response(bytes(row["body"]), status=row["status"], headers=row["headers"])
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        resp = view(*args, **kwargs)
        if not isinstance(resp, Response):
            from flask import make_response

            resp = make_response(resp)
        if resp.status_code < 400:
            headers = {k: v for k, v in resp.headers.items() if k in ("Content-Type", "ETag", "Location")}
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, headers = %s, body = %s WHERE principal = %s AND key = %s",
                [resp.status_code, json.dumps(headers), resp.get_data(), who, key],
            )
        return resp

    return wrapper


# -- cursor pagination -------------------------------------------------------------------------------------------


def page(items: list[dict[str, Any]], limit: int, key: Callable[[dict[str, Any]], list[Any]]) -> dict[str, Any]:
    """Cut a list fetched with limit+1 rows into a page and the cursor of the next one."""
    has_more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if has_more and items else None}


def set_header(name: str, value: str) -> None:
    g.setdefault("extra_headers", {})[name] = value
