"""What every route shares: strict request fields, the caller, pagination, ETag responses, error mapping."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Response, g, request

from servicekit.web.app import now, principal
from servicekit.web.http import decode_cursor, encode_cursor, etag, expected_version
from servicekit.web.problems import problem_response
from subscription_service.adapters.queries import PageRequest
from subscription_service.domain.cycles import YEARS, within_years
from subscription_service.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PeerRefused,
    Stale,
    Unauthenticated,
    Unavailable,
)
from subscription_service.service_layer.caller import Caller

REASON_HEADER = "X-Change-Reason"


def _clean(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise ma.ValidationError("Control characters are not allowed.")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ma.ValidationError("Not valid Unicode text.")
    return value


class Text(ma.fields.String):
    """A string without control characters (PostgreSQL text cannot hold NUL)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return _clean(super()._deserialize(value, attr, data, **kwargs))


class StrictBool(ma.fields.Boolean):
    """true or false, nothing else (no "yes", no 1)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class QueryBool(ma.fields.Boolean):
    truthy = {"true"}
    falsy = {"false"}


class When(ma.fields.AwareDateTime):
    """An ISO-8601 instant with an offset (any offset, stored UTC), between the years 2000 and 2200."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str):
            _clean(value)
        try:
            at = super()._deserialize(value, attr, data, **kwargs)
            if not within_years(at):
                raise ma.ValidationError(YEARS)
            return at.astimezone(UTC)
        except OverflowError:
            raise ma.ValidationError(YEARS) from None


class LocalOrInstant(ma.fields.DateTime):
    """An ISO-8601 instant with an offset, or a wall-clock time without one: the shop's local time, made an
    instant by the service (domain.wallclock's rule for a time skipped or repeated by a clock change)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str):
            _clean(value)
            if len(value.strip()) <= len("2027-03-28"):  # a bare date would be a midnight nobody chose
                raise ma.ValidationError("Not a valid datetime: give a date and a time.")
        at = super()._deserialize(value, attr, data, **kwargs)
        try:  # a local time is held to the years as if it were UTC here; the domain checks the instant exactly
            if not within_years(at if at.tzinfo is not None else at.replace(tzinfo=UTC)):
                raise ma.ValidationError(YEARS)
        except OverflowError:
            raise ma.ValidationError(YEARS) from None
        return at.astimezone(UTC) if at.tzinfo is not None else at


def Id(**kw: Any) -> Text:
    return Text(validate=ma.validate.Length(min=1, max=100), **kw)


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Address(StrictSchema):
    first_name = Text(required=True, validate=ma.validate.Length(min=1, max=100))
    last_name = Text(required=True, validate=ma.validate.Length(min=1, max=100))
    address1 = Text(required=True, validate=ma.validate.Length(min=1, max=200))
    address2 = Text(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))
    city = Text(required=True, validate=ma.validate.Length(min=1, max=100))
    zipcode = Text(required=True, validate=ma.validate.Length(min=1, max=20))
    state = Text(load_default=None, allow_none=True, validate=ma.validate.Length(max=100))
    country = Text(required=True, validate=ma.validate.Regexp(r"^[A-Z]{2}$"),
                   metadata={"description": "ISO 3166-1 alpha-2, e.g. FR"})
    phone = Text(load_default=None, allow_none=True, validate=ma.validate.Length(max=40))


class AddressOut(ma.Schema):
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    address1 = ma.fields.String()
    address2 = ma.fields.String(allow_none=True)
    city = ma.fields.String()
    zipcode = ma.fields.String()
    state = ma.fields.String(allow_none=True)
    country = ma.fields.String()
    phone = ma.fields.String(allow_none=True)


def page_args(sorts: list[str], default: str) -> type[ma.Schema]:
    """Query arguments of a list: limit, cursor, sort (prefix - for descending)."""
    choices = sorts + [f"-{s}" for s in sorts]

    class PageArgs(ma.Schema):
        class Meta:
            unknown = ma.RAISE

        limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
        cursor = Text(load_default=None, validate=ma.validate.Length(max=1000),
                      metadata={"description": "next_cursor of the previous page"})
        sort = ma.fields.String(load_default=default, validate=ma.validate.OneOf(choices),
                                metadata={"description": "sort key; prefix with - for descending"})

    PageArgs.__name__ = f"PageArgs_{'_'.join(sorts)}"
    return PageArgs


def page_request(args: dict[str, Any]) -> PageRequest:
    sort = args.pop("sort")
    return PageRequest(limit=args.pop("limit"), sort=sort.lstrip("-"), descending=sort.startswith("-"),
                       cursor=decode_cursor(args.pop("cursor"), ("text", "text")))


def page_out(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    class Page(ma.Schema):
        items = ma.fields.List(ma.fields.Nested(item_schema), required=True)
        next_cursor = ma.fields.String(allow_none=True, required=True,
                                       metadata={"description": "pass as cursor to get the next page; null = last"})

    Page.__name__ = f"{item_schema.__name__.removesuffix('Schema').removesuffix('Out')}Page"
    return Page


def page(items: list[dict[str, Any]], cursor: list[Any] | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(cursor) if cursor else None}


def caller() -> Caller:
    """The current request as a handler sees it (401 without a credential)."""
    p = principal()
    reason = request.headers.get(REASON_HEADER)
    if reason is not None:
        try:
            _clean(reason)
        except ma.ValidationError as exc:
            raise Invalid({REASON_HEADER: list(exc.messages)}) from None
        if len(reason) > 500:
            raise Invalid({REASON_HEADER: ["At most 500 characters."]})
        reason = reason.strip() or None
    return Caller(principal=p, now=now(), reason=reason, if_match=expected_version(),
                  correlation_id=g.get("correlation_id"))


def with_version(data: dict[str, Any], status: int = 200, version: int | None = None) -> tuple[Any, int, dict]:
    """A body with its ETag (the aggregate version); a creation also says where the new resource lives."""
    headers = {"ETag": etag(data["version"] if version is None else version)}
    if status == 201 and "id" in data:
        headers["Location"] = f"{request.path.rstrip('/')}/{data['id']}"
    return data, status, headers


def no_content() -> Response:
    return Response(status=204)


# -- documentation of the headers every write understands ---------------------------------------------------------

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": 'The ETag you read (e.g. "3"); a stale one gets 412.'}
REASON = {"in": "header", "name": REASON_HEADER, "required": False,
          "schema": {"type": "string", "maxLength": 500}, "description": "Why (kept in the change history)."}
IDEMPOTENCY = {"in": "header", "name": "Idempotency-Key", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 200},
               "description": "A retry with the same key returns the first response instead of creating twice."}
WRITE = [IF_MATCH, REASON]
CREATE = [IDEMPOTENCY, REASON]


# -- domain errors as problem details -----------------------------------------------------------------------------

STATUS = [(Stale, 412, "Precondition failed: the resource changed since you read it", "stale-version"),
          (Invalid, 422, "Validation failed", "validation"), (Forbidden, 403, "Not allowed", "forbidden"),
          (NotFound, 404, "Not found", "not-found"), (Conflict, 409, "Conflict", "conflict"),
          (Unauthenticated, 401, "Authentication required", "unauthorized"),
          (PeerRefused, 502, "Stripe refused the request", "stripe-refused"),
          (Unavailable, 503, "Not ready", "not-ready")]


def domain_error_response(exc: DomainError) -> Response:
    for cls, status, title, slug in STATUS:
        if isinstance(exc, cls):
            headers = {"ETag": etag(exc.current)} if isinstance(exc, Stale) else None
            return problem_response(status, title, detail=exc.message, errors=exc.errors or None, slug=slug,
                                    headers=headers, instance=request.path, correlation_id=g.get("correlation_id"))
    return problem_response(400, "Bad request", detail=exc.message, errors=exc.errors or None,
                            correlation_id=g.get("correlation_id"))


READ_PROBLEMS = (401, 404)
WRITE_PROBLEMS = (401, 403, 404, 409, 412, 422)


def problems(blp: Any, *codes: int) -> Any:
    """Document the problem responses a route can answer (RFC 9457 application/problem+json)."""
    from http import HTTPStatus

    def decorator(fn: Any) -> Any:
        for code in codes:
            fn = blp.alt_response(code, response=HTTPStatus(code).name)(fn)
        return fn

    return decorator
