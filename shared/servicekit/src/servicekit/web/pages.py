"""HTML pages: the headers every page gets, and the API's docs page.

Every ``text/html`` response leaves with a Content-Security-Policy that forbids framing (``frame-ancestors
'none'``, clickjacking) and any script or style not served by the app itself: no inline script, no
``'unsafe-inline'`` for scripts, so an injected ``<script>`` never runs. A page keeps its JavaScript and CSS in
static files served by the app (under the page's own path, so the Ingress publishes them with it). A page that
needs more (Stripe.js on a payment page) widens its own response's policy with :func:`allow`; nothing widens it
for every page.

``/docs`` is Swagger UI from the pinned ``swagger-ui-bundle`` package, served by the app itself (``/docs/assets/``):
the docs work in a closed network and load nothing from a CDN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from flask import Blueprint, Response, current_app, g, render_template_string, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "form-action": ("'self'",),
    "base-uri": ("'none'",),
    "frame-ancestors": ("'none'",),
}

# What Stripe.js needs on a page (its script, its 3-D Secure and card frames, its API calls): Stripe's CSP guide.
STRIPE_JS: dict[str, tuple[str, ...]] = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}


def allow(sources: Mapping[str, Iterable[str]]) -> None:
    """Widen the Content-Security-Policy of the response to this request only: ``allow(STRIPE_JS)``.
    ``'unsafe-inline'`` and ``'unsafe-eval'`` are refused for scripts, and framing stays forbidden."""
    extra: dict[str, list[str]] = g.setdefault("csp_extra", {})
    for directive, values in sources.items():
        values = list(values)
        if directive == "frame-ancestors" or (directive in ("script-src", "default-src") and
                                              {"'unsafe-inline'", "'unsafe-eval'"} & set(values)):
            raise ValueError(f"{directive} {values}: a page may not allow that")
        extra.setdefault(directive, []).extend(values)


def content_security_policy(extra: Mapping[str, Iterable[str]] | None = None) -> str:
    directives = {k: list(v) for k, v in POLICY.items()}
    for directive, values in (extra or {}).items():
        mine = directives.setdefault(directive, [])
        mine.extend(v for v in values if v not in mine)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


def secure_html(resp: Response) -> Response:
    """after_request: the page headers on every HTML response (a view may set its own policy instead)."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_extra")))
        resp.headers.setdefault("X-Frame-Options", "DENY")  # browsers that predate frame-ancestors
    return resp


# -- /docs ---------------------------------------------------------------------------------------------------------

STATIC = Path(__file__).parent / "static"

docs = Blueprint("docs", __name__, url_prefix="/docs", static_folder=str(swagger_ui_path),
                 static_url_path="/assets")

_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for('docs.static', filename='swagger-ui.css') }}">
<link rel="icon" type="image/png" href="{{ url_for('docs.static', filename='favicon-32x32.png') }}">
</head><body>
<div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
<script src="{{ url_for('docs.static', filename='swagger-ui-bundle.js') }}"></script>
<script src="{{ url_for('docs.initializer') }}"></script>
</body></html>
"""


@docs.get("")
def page() -> Response:
    """Swagger UI on this app's OpenAPI document. Swagger UI sets style attributes on its elements: styles (never
    scripts) may be inline on this page."""
    allow({"style-src": ["'unsafe-inline'"]})
    html = render_template_string(_DOCS_PAGE, title=current_app.config["API_TITLE"],
                                  spec_url=url_for("api-docs.openapi_json"))
    return Response(html, mimetype="text/html")


@docs.get("/initializer.js")
def initializer() -> Response:
    """Starts Swagger UI on the page's ``data-spec-url`` (a file, not an inline script)."""
    return send_from_directory(STATIC, "swagger-initializer.js", mimetype="text/javascript", max_age=3600)
