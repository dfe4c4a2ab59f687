"""Errors as RFC 9457 problem details (application/problem+json), never a stack trace."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, json

PROBLEM_TYPE_BASE = "https://docs.recurring-orders.example/problems/"


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
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + (slug or str(status)), "title": title, "status": status}
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
