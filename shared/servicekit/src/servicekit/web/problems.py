"""Errors as RFC 9457 problem details (application/problem+json), never a stack trace."""

from __future__ import annotations

import http
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import Response, json

PROBLEM_TYPE_BASE = "https://docs.recurring-orders.example/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of error: its ``type`` URI is PROBLEM_TYPE_BASE + slug, its title and status the same wherever
    it is answered."""

    slug: str
    status: int
    title: str
    meaning: str

    @property
    def uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug


# Every kind of error the four services answer, one ``type`` each. A service's own kinds are listed here too, so
# that this table is the whole list (docs/DEVELOPING.md and each API description show it).
PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in (
    ProblemType("bad-request", 400, "Bad request", "The request is malformed (e.g. a body that is not JSON, a bad "
                                                   "If-Match header)."),
    ProblemType("bad-cursor", 400, "Bad cursor", "The cursor is not one this list returned: altered, of another "
                                                 "list or of other filters, or not a cursor at all."),
    ProblemType("unknown-query-parameter", 400, "Unknown query parameter",
                "The query names a parameter the operation does not take (each is named in errors)."),
    ProblemType("repeated-query-parameter", 400, "Repeated query parameter",
                "A parameter that takes one value was given several (each is named in errors)."),
    ProblemType("invalid-webhook", 400, "Invalid webhook", "A Stripe webhook that is unsigned, forged, stale or "
                                                           "malformed."),
    ProblemType("unauthorized", 401, "Authentication required", "No valid bearer token: missing, malformed, "
                                                                "unknown, expired or revoked."),
    ProblemType("forbidden", 403, "Not allowed", "The credential is valid but may not do this."),
    ProblemType("not-found", 404, "Not found", "No such resource or route, or one of another shop or customer; "
                                               "also a list whose parent does not exist."),
    ProblemType("method-not-allowed", 405, "Method not allowed", "The route exists but not with this method: "
                                                                 "the Allow header lists those it takes."),
    ProblemType("not-acceptable", 406, "Not acceptable", "No representation matches the Accept header."),
    ProblemType("conflict", 409, "Conflict", "The resource's state or a concurrent change prevents this; read it "
                                             "again."),
    ProblemType("order-closed", 409, "Order cycle closed", "The order's cycle has closed: it can no longer change."),
    ProblemType("order-not-editable", 409, "Order not editable", "The order cannot change in its current state."),
    ProblemType("idempotency-key-busy", 409, "Idempotency-Key busy", "The first request with this Idempotency-Key "
                                                                     "is still being answered; retry."),
    ProblemType("stale-version", 412, "Precondition failed: the resource changed since you read it",
                "If-Match names a version that is no longer the current one (the ETag header gives it)."),
    ProblemType("payload-too-large", 413, "Payload too large", "The body is larger than MAX_BODY_BYTES."),
    ProblemType("unsupported-media-type", 415, "Unsupported media type", "The body is not application/json."),
    ProblemType("validation", 422, "Validation failed", "A field is missing or invalid (each is named in errors)."),
    ProblemType("idempotency-key-reused", 422, "Idempotency-Key reused", "This Idempotency-Key was used with a "
                                                                         "different request."),
    ProblemType("refund-refused", 422, "Refund refused", "More than is still refundable was asked for."),
    ProblemType("rate-limited", 429, "Too many requests", "This token went over its rate limit: wait Retry-After "
                                                          "seconds."),
    ProblemType("internal", 500, "Internal error", "Something went wrong on our side (the correlation_id finds it "
                                                   "in the logs)."),
    ProblemType("boundary-failed", 500, "A boundary on the way could not be emitted", "The test clock stopped "
                                                                                      "where a boundary failed."),
    ProblemType("stripe-refused", 502, "Stripe refused the request", "Stripe answered with an error."),
    ProblemType("not-ready", 503, "Not ready", "A dependency of the service is down."),
)}

# The type of an error known only by its status (werkzeug's, a bare Problem): the generic kind of that status.
_BY_STATUS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
              406: "not-acceptable", 409: "conflict", 412: "stale-version", 413: "payload-too-large",
              415: "unsupported-media-type", 422: "validation", 429: "rate-limited", 500: "internal",
              503: "not-ready"}


def problem_type(slug: str | None, status: int) -> ProblemType:
    """The table's entry for ``slug``; for none (or one the table lacks: a test keeps them listed), the generic
    kind of the status, or a kind named after the status itself."""
    for key in (slug, _BY_STATUS.get(status)):
        found = PROBLEM_TYPES.get(key or "")
        if found is not None and found.status == status:
            return found
    phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
    return ProblemType(str(status), status, phrase, phrase)


def problem_types_markdown() -> str:
    """The table as Markdown (docs/DEVELOPING.md and the API descriptions)."""
    rows = [f"| `{t.slug}` | {t.status} | {t.title} | {t.meaning} |" for t in PROBLEM_TYPES.values()]
    return "\n".join(["| type (after " + PROBLEM_TYPE_BASE + ") | status | title | when |",
                      "|---|---|---|---|", *rows])


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; ``errors`` maps each invalid field to its messages."""

    type = ma.fields.String(metadata={"description": "URI identifying the problem type"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), metadata={"description": "field -> list of messages"})
    correlation_id = ma.fields.String()


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        status: int | None = None,
        title: str | None = None,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if slug is not None:
            self.slug = slug


class Unauthorized(Problem):
    status, title, slug = 401, "Authentication required", "unauthorized"


class Forbidden(Problem):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed: the resource changed since you read it", "stale-version"


class Unprocessable(Problem):
    status, title, slug = 422, "Validation failed", "validation"


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "rate-limited"


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages to {"items.0.quantity": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten_errors(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def problem_response(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    errors: dict[str, Any] | None = None,
    slug: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> Response:
    kind = problem_type(slug, status)
    body: dict[str, Any] = {"type": kind.uri, "title": kind.title if kind.slug != str(status) else title,
                            "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if instance:
        body["instance"] = instance
    if correlation_id:
        body["correlation_id"] = correlation_id
    resp = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
