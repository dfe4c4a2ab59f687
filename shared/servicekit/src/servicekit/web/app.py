"""The Flask app every service starts from.

- ``/healthz`` (process alive), ``/readyz`` (PostgreSQL and Kafka reachable), ``/metrics``.
- ``/openapi.json`` (flask-smorest, from the marshmallow schemas) and a docs page at ``/docs`` (``pages``).
- HTML pages with a Content-Security-Policy that forbids framing and inline script (``pages``).
- One PostgreSQL connection and transaction per request (``request_conn()``): committed when
  the response is a success, rolled back otherwise, so a failed request changes nothing.
- Bearer authentication on every ``/api/`` route not marked ``@public``; a per-token rate limit.
- Errors of every kind as problem details; never a stack trace.
"""

from __future__ import annotations

import http
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest.spec import APISpecMixin
from marshmallow import ValidationError
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, RequestEntityTooLarge

from servicekit import logs, metrics, tracing
from servicekit.auth import Principal, authenticate
from servicekit.clock import Clock
from servicekit.config import Settings
from servicekit.web import pages
from servicekit.web.cursors import signer_for
from servicekit.web.problems import (
    Problem,
    ProblemSchema,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    flatten_errors,
    problem_response,
    problem_types_markdown,
)
from shared_events.outbox import pending_count

log = logging.getLogger("servicekit.web")

ERRORS_DESCRIPTION = ("Errors are RFC 9457 problem details (application/problem+json), one `type` per kind of error, "
                      "the same in the four services; `errors` names each field or query parameter at fault.\n\n"
                      + problem_types_markdown())
PUBLIC_ENDPOINTS_KEY = "public_endpoints"
JSON_BRACKETS_CHECKED = 500  # a JSON body with more brackets than this is checked for too deep a nesting


class ProblemApi(Api):
    """flask-smorest Api answering errors as application/problem+json and documenting them so."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        from flask_smorest.utils import prepare_response

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response(APISpecMixin.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        data = getattr(error, "data", None) or {}
        errors = None
        if "messages" in data or "errors" in data:
            raw = data.get("errors", data.get("messages"))
            # webargs nests by location: {"json": {...}} / {"query": {...}}; keep the location only if not json
            if isinstance(raw, dict) and set(raw) <= {"json", "query", "headers", "view_args", "form", "files"}:
                merged: dict[str, Any] = {}
                for loc, msgs in raw.items():
                    merged.update(flatten_errors(msgs, "" if loc == "json" else loc))
                errors = merged
            else:
                errors = flatten_errors(raw)
        code = error.code or 500
        title = {422: "Validation failed", 400: "Bad request"}.get(code, error.name)
        detail = data.get("message") or (error.description if code != 500 else "Something went wrong on our side.")
        if code == 400 and "JSON" in (error.description or ""):
            detail = "The request body is not valid JSON."
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return problem_response(code, title, detail=detail, errors=errors, headers=headers,
                                correlation_id=logs.correlation_id.get())


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as needing no bearer token (health, webhooks with their own signature)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def internal(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as for the cluster only (probes, metrics, operators' and test tools): the Ingress must not
    publish its path (tests/deploy checks each overlay against every app's URL map). Reach it inside the cluster
    or through ``kubectl port-forward``. Authentication is unchanged."""
    view._internal = True  # type: ignore[attr-defined]
    return view


def is_internal(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_internal", False))


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def request_conn() -> psycopg.Connection:
    """This request's connection, inside its transaction (committed only if the response succeeds).

    A GET or HEAD changes nothing, so it reads in autocommit: no BEGIN and no COMMIT round trips, and each
    statement sees what is committed when it starts, as it would inside a READ COMMITTED transaction."""
    if "db_conn" not in g:
        pool: ConnectionPool = current_app.extensions["pool"]
        conn = pool.getconn()
        if request.method in READ_ONLY_METHODS:
            conn.autocommit = True
        g.db_conn = conn
    return g.db_conn


def _give_back(conn: psycopg.Connection) -> None:
    """Back to the pool in the state the pool gave it: out of autocommit (set while idle: no round trip)."""
    try:
        if conn.autocommit and not conn.closed:
            conn.autocommit = False
    finally:
        current_app.extensions["pool"].putconn(conn)


def principal() -> Principal:
    p = g.get("principal")
    if p is None:
        raise Unauthorized("Send an Authorization: Bearer <token> header.")
    return p


def limit_rate(key: str) -> None:
    """The rate limit that every credential has, for a route that needs none (``@public``): keyed by what the
    caller is known by there (e.g. ``"ip:" + request.remote_addr``); 429 when exceeded."""
    wait = current_app.extensions["rate_limiter"].take(key)
    if wait > 0:
        per_minute = current_app.extensions["settings"].rate_limit_per_minute
        raise TooManyRequests(f"Rate limit of {per_minute}/minute exceeded.",
                              headers={"Retry-After": str(max(1, int(wait + 0.999)))})


def clock() -> Clock:
    return current_app.extensions["clock"]


def settings() -> Settings:
    return current_app.extensions["settings"]


def now():  # type: ignore[no-untyped-def]
    """One "now" per request, read once from the (possibly test) clock."""
    if "now" not in g:
        g.now = clock().now()
    return g.now


class _RateLimiter:
    """Token bucket per credential, per process (each API replica enforces its share)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute // 6, 10))
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if allowed, else seconds to wait."""
        with self.lock:
            level, stamp = self.buckets.get(key, (self.capacity, time.monotonic()))
            t = time.monotonic()
            level = min(self.capacity, level + (t - stamp) * self.rate)
            if level >= 1:
                self.buckets[key] = (level - 1, t)
                return 0.0
            self.buckets[key] = (level, t)
            return (1 - level) / self.rate


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON responses written by orjson, compact and in the dict's own key order (Flask 3 ignores
    ``JSON_SORT_KEYS`` and sorted every response with the json module). Dates and times, which the schemas already
    write as ISO strings, are left to Flask's default (an HTTP date), as before; so are Decimals. Reading JSON
    stays with Flask's json module."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dumps_bytes(obj).decode()

    def dumps_bytes(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self.default, option=self._OPTIONS)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return Response(self.dumps_bytes(obj) + b"\n", mimetype=self.mimetype)


def create_base_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    pool: ConnectionPool,
    clock: Clock,
    version: str = "1.0.0",
    extra_ready_checks: list[Callable[[], None]] | None = None,
    consumer_group: str | None = None,
) -> tuple[Flask, ProblemApi]:
    """The service's Flask app with the platform's conventions. ``consumer_group``: the Kafka group of the service's
    consumer when it is not the default of servicekit.runners.make_consumer (CONSUMER_GROUP, else the service's
    name); /metrics reports that group's lag."""
    app = Flask(settings.service_name, static_folder=None)  # pages serve their own assets, under their own path
    app.json = OrjsonProvider(app)
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_SPEC_OPTIONS={
            "info": {"description": f"{description}\n\n{ERRORS_DESCRIPTION}"},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.extensions["pool"] = pool
    app.extensions["clock"] = clock
    app.extensions["settings"] = settings
    app.extensions["rate_limiter"] = _RateLimiter(settings.rate_limit_per_minute)
    app.extensions["cursor_signer"] = signer_for(settings)
    api = ProblemApi(app)
    app.register_blueprint(pages.docs)  # /docs: Swagger UI served by the app (no CDN), no inline script
    app.after_request(pages.secure_html)  # every HTML page: Content-Security-Policy, no framing
    tracing.instrument_app(app)  # a span per request when an OTLP endpoint is configured

    @app.before_request
    def _begin() -> Response | None:
        g.started = time.perf_counter()
        cid = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        g.correlation_id = cid[:100]
        logs.correlation_id.set(g.correlation_id)
        view = app.view_functions.get(request.endpoint or "")
        if not request.path.startswith("/api/") or getattr(view, "_public", False):
            return None
        header = request.headers.get("Authorization", "")
        if not header:
            return None  # the view decides: principal() raises 401 where a credential is needed
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(token) > 512:
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
        found = authenticate(request_conn(), token.strip(), settings.admin_token, now())
        if found is None:
            raise Unauthorized("Unknown, expired or revoked token.")
        g.principal = found
        limit_rate(found.token_id)
        return None

    @app.before_request
    def _require_credentials_on_api() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if request.path.startswith("/api/") and view is not None and not getattr(view, "_public", False):
            principal()

    @app.before_request
    def _refuse_streamed_bodies_over_the_limit() -> None:
        """A body without Content-Length (chunked) is cut at MAX_CONTENT_LENGTH by werkzeug without a word: the
        view would read the first megabyte as if it were all. Reaching the limit is a 413, as with Content-Length."""
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if chunked and request.content_length is None and \
                len(request.get_data(cache=True)) >= settings.max_body_bytes:
            raise RequestEntityTooLarge()

    @app.before_request
    def _refuse_json_nested_too_deeply() -> None:
        """json.loads recurses once per level: a body of a few thousand brackets would be a RecursionError (a 500)
        wherever it is parsed. Only a body with that many brackets can nest that deep, so only such a body is
        parsed here (cached: the view reads the same bytes)."""
        if request.is_json:
            data = request.get_data(cache=True)  # within MAX_CONTENT_LENGTH (413 beyond), chunked or not
            if data.count(b"[") + data.count(b"{") > JSON_BRACKETS_CHECKED:
                try:
                    json.loads(data)
                except RecursionError:
                    raise BadRequest("The request body is not valid JSON: it is nested too deeply.") from None
                except ValueError:
                    pass  # the view's parser reports invalid JSON

    @app.before_request
    def _refuse_nul_characters() -> None:
        """PostgreSQL text and jsonb cannot hold NUL: a NUL in a query, path or JSON string is a 422 here, not a
        database error (a 500) wherever the value reaches a query."""
        bad = {k for k, v in request.args.items(multi=True) if "\x00" in k + v}
        bad |= {k for k, v in (request.view_args or {}).items() if isinstance(v, str) and "\x00" in v}
        if request.is_json and b"\\u0000" in request.get_data(cache=True):  # only then can a string hold one
            try:
                bad |= set(_nul_paths(json.loads(request.get_data(cache=True))))
            except (ValueError, RecursionError):
                pass  # the view's parser reports invalid JSON
        if bad:
            raise Unprocessable(errors={k.replace("\x00", "\\0"): ["Must not contain the NUL character."]
                                        for k in sorted(bad)})

    @app.after_request
    def _finish(resp: Response) -> Response:
        conn = g.pop("db_conn", None)
        if conn is not None:
            try:
                if conn.autocommit:
                    pass  # a read: nothing to commit or roll back
                elif resp.status_code < 400:
                    conn.commit()
                else:
                    conn.rollback()
            except psycopg.Error as exc:
                log.warning("commit failed", extra={"error": str(exc)})
                conn.rollback()
                resp = problem_response(409, "Conflict", detail="A concurrent change won; read and try again.",
                                        slug="conflict", correlation_id=g.get("correlation_id"))
            finally:
                _give_back(conn)
        resp.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.REQUESTS.labels(request.method, route, str(resp.status_code)).inc()
        metrics.LATENCY.labels(request.method, route).observe(elapsed)
        return resp

    @app.teardown_request
    def _release(_exc: BaseException | None) -> None:
        conn = g.pop("db_conn", None)
        if conn is not None:  # an exception escaped after_request
            try:
                conn.rollback()
            finally:
                _give_back(conn)

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc.status, exc.title, detail=exc.detail, errors=exc.errors, slug=exc.slug,
                                headers=exc.headers, instance=request.path, correlation_id=g.get("correlation_id"))

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return problem_response(422, "Validation failed", errors=flatten_errors(exc.messages), slug="validation",
                                correlation_id=g.get("correlation_id"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return api.handle_http_exception(exc)
        log.exception("unhandled error")
        return problem_response(500, "Internal error", detail="Something went wrong on our side.",
                                slug="internal", correlation_id=g.get("correlation_id"))

    @app.get("/healthz")
    @internal
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz")
    @internal
    def readyz() -> Response | dict[str, Any]:
        checks: dict[str, str] = {}
        try:
            with pool.connection(timeout=2) as c:
                c.execute("SELECT 1")
            checks["postgresql"] = "ok"
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            checks["postgresql"] = f"down: {type(exc).__name__}"
        # The API writes events to its outbox, never to Kafka: a broker outage must not take it out of service.
        # Kafka's reachability is reported for operators but does not decide readiness.
        kafka = _kafka_reachable(settings.kafka_bootstrap)
        for check in extra_ready_checks or []:
            try:
                check()
            except Exception as exc:  # noqa: BLE001
                checks[getattr(check, "__name__", "check")] = f"down: {exc}"
        ok = all(v == "ok" for v in checks.values())
        checks["kafka"] = kafka
        if not ok:
            return problem_response(503, "Not ready", detail=str(checks), slug="not-ready")
        return {"status": "ready", "checks": checks}

    def outbox_backlog() -> tuple[int, float | None]:
        with pool.connection(timeout=2) as c:
            return pending_count(c, cap=metrics.OUTBOX_COUNT_CAP)

    outbox = metrics.OutboxCollector(settings.service_name, outbox_backlog)
    group = consumer_group or settings.consumer_group or settings.service_name  # as servicekit.runners names it
    lag = metrics.ConsumerLagCollector(group, metrics.kafka_group_lag(group, settings.kafka_bootstrap))

    @app.get("/metrics")
    @internal
    def metrics_view() -> Response:
        body, ctype = metrics.render(outbox, lag)
        return Response(body, mimetype=ctype.split(";")[0])

    return app, api


def _nul_paths(value: Any, path: str = "") -> list[str]:
    """The fields of a JSON document whose name or string value holds a NUL, as dotted paths like marshmallow's
    flattened errors ("name", "items.0.variant_id"; "body" for the document itself)."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            out += [here] if "\x00" in str(k) else _nul_paths(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _nul_paths(v, f"{path}.{i}" if path else str(i))
    return out


def _kafka_reachable(bootstrap: str) -> str:
    """A TCP connect to a bootstrap broker (cheap; the broker opens its port only when it is ready)."""
    for hostport in bootstrap.split(","):
        host, _, port = hostport.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return "ok"
        except OSError:
            continue
    return "down: no broker reachable"
