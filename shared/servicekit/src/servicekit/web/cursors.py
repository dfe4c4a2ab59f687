"""Cursors of paginated lists, made and checked here for every service.

A cursor is the keyset of the last item of a page (e.g. ``[placed_at, order_id]``), signed with itsdangerous
(HMAC) under a salt that names its list: the service, the route, the path and the query without ``cursor`` and
``limit``. So a client can only hand back a cursor this list gave it, with the same filters and sort; anything
else (altered, made up, of another list or other filters) is a 400 ``bad-cursor`` problem. The route then says
what shape it expects (``decode_cursor(raw, ("time", "text"))``) and gets typed values, or the same 400: a
cursor never reaches a query with the wrong number or kind of values.

The key is ``CURSOR_SECRET`` (``Settings.cursor_secret``), shared by every replica of a service; unset, a
development key is used, which production refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from flask import current_app, request
from itsdangerous import BadData, URLSafeSerializer

from servicekit.config import ConfigError, Settings
from servicekit.web.problems import Problem

DEVELOPMENT_SECRET = "recurring-orders-development-cursor-secret"
Kind = Literal["time", "text", "int"]
# query parameters that move through a list without making it another list
PAGING_PARAMETERS = frozenset({"cursor", "limit"})


class BadCursor(Problem):
    status, title, slug = 400, "Bad cursor", "bad-cursor"

    def __init__(self, why: str) -> None:
        super().__init__(f"{why} Start again without a cursor, or pass the next_cursor this list returned.",
                         errors={"cursor": [why]})


def signer_for(settings: Settings) -> URLSafeSerializer:
    secret = settings.cursor_secret
    if not secret:
        if settings.app_env == "production":
            raise ConfigError("CURSOR_SECRET is required when APP_ENV=production")
        secret = DEVELOPMENT_SECRET
    return URLSafeSerializer(secret, salt=f"cursor:{settings.service_name}")


def _list_identity() -> str:
    """The list this request reads: route, path and filters (repeated values in their order)."""
    query = sorted((k, v) for k, v in request.args.items(multi=True) if k not in PAGING_PARAMETERS)
    return "\x1f".join([request.endpoint or "", request.path, *(f"{k}={v}" for k, v in query)])


def _signer() -> URLSafeSerializer:
    return current_app.extensions["cursor_signer"]


def encode_cursor(values: Sequence[Any]) -> str:
    """The cursor of the next page of this request's list (datetimes as ISO-8601, other values as JSON)."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return _signer().dumps([_list_identity(), plain])


def decode_cursor(raw: str | None, shape: Sequence[Kind]) -> list[Any] | None:
    """The values of a cursor this list made, typed by ``shape`` ("time" -> aware datetime, "text" -> str,
    "int" -> int); None without a cursor; 400 ``bad-cursor`` for anything else."""
    if not raw:
        return None
    try:
        made_for, values = _signer().loads(raw)
    except (BadData, TypeError, ValueError):
        raise BadCursor("Not a cursor this API returned (altered or made up).") from None
    if made_for != _list_identity():
        raise BadCursor("This cursor belongs to another list or to other filters or sort.")
    if not isinstance(values, list) or len(values) != len(shape):
        raise BadCursor("This cursor does not fit this list.")
    return [_typed(v, kind) for v, kind in zip(values, shape, strict=True)]


def _typed(value: Any, kind: Kind) -> Any:
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "time" and isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if at.tzinfo is not None:
                return at
    raise BadCursor("This cursor does not fit this list.")
