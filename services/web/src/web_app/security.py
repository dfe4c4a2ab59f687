"""The headers every response of the web app carries.

The Content-Security-Policy is servicekit's (``servicekit.web.pages``, the one the services' own pages get): a page
loads only what this app serves, no inline script and no ``'unsafe-inline'`` for scripts (an injected ``<script>``
never runs), never framed (``frame-ancestors 'none'``), forms posted only to itself. A page that needs more
(Stripe.js on a card page) widens its own response's policy with :func:`allow`; nothing widens it for every page.
Besides: ``Referrer-Policy: same-origin`` (no address of ours, with its ids, leaks to another site) and, pages
showing personal data, ``Cache-Control: no-store``.
"""

from __future__ import annotations

from flask import Response

from servicekit.web.pages import allow, content_security_policy, secure_html

__all__ = ["allow", "content_security_policy", "secure_headers"]


def secure_headers(resp: Response) -> Response:
    """after_request: on every response; the page headers on HTML ones."""
    resp = secure_html(resp)
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp
