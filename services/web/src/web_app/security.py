"""The headers every response of the web app carries.

A Content-Security-Policy that lets a page load only what this app serves (``default-src 'self'``, no inline
script, no ``'unsafe-inline'`` or ``'unsafe-eval'`` for scripts: an injected ``<script>`` never runs), never be
framed (``frame-ancestors 'none'``), and post forms only to itself. A page that needs more (Stripe.js on a card
page) widens its own response's policy with :func:`allow`; nothing widens it for every page.
``Referrer-Policy: same-origin``: no address of ours (a sign-in token, an id) leaks to another site.
Pages may show personal data: they are never stored by a cache (``Cache-Control: no-store``).

Written to move to ``servicekit.web`` as it is, when the services' own pages want the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Response, g

POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "form-action": ("'self'",),
    "base-uri": ("'none'",),
    "frame-ancestors": ("'none'",),
}
REFUSED = {"'unsafe-inline'", "'unsafe-eval'", "*"}


def allow(sources: Mapping[str, Iterable[str]]) -> None:
    """Widen this response's policy: ``allow({"script-src": [stripe_origin], "frame-src": [stripe_origin]})``.
    Framing stays forbidden and scripts stay free of inline code."""
    extra: dict[str, list[str]] = g.setdefault("csp_extra", {})
    for directive, values in sources.items():
        values = list(values)
        if directive in ("frame-ancestors", "base-uri") or (
                directive in ("script-src", "default-src") and REFUSED & set(values)):
            raise ValueError(f"{directive} {values}: a page may not allow that")
        extra.setdefault(directive, []).extend(values)


def content_security_policy(extra: Mapping[str, Iterable[str]] | None = None) -> str:
    directives = {k: list(v) for k, v in POLICY.items()}
    for directive, values in (extra or {}).items():
        mine = directives.setdefault(directive, list(POLICY["default-src"]))
        mine.extend(v for v in values if v not in mine)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


def secure_headers(resp: Response) -> Response:
    """after_request: on every response; the page headers on HTML ones."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_extra"))
        resp.headers.setdefault("X-Frame-Options", "DENY")  # browsers that predate frame-ancestors
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp
