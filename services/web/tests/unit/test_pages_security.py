"""Every page's headers, the session cookie and CSRF: what a browser is told to enforce."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from werkzeug.http import parse_set_header

from web_app import security


def test_every_page_forbids_inline_scripts_framing_and_foreign_sources(client, shop_id):
    for path in ("/", f"/shops/{shop_id}/sign-in", "/sign-in/rsl_abc", "/no-such-page"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"  # servicekit's: only what each directive names
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["form-action"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"


def test_pages_send_no_referrer_elsewhere_and_the_sign_in_link_page_none_at_all(client, shop_id):
    assert client.get(f"/shops/{shop_id}/sign-in").headers["Referrer-Policy"] == "same-origin"
    assert client.get("/sign-in/rsl_secret").headers["Referrer-Policy"] == "no-referrer"


def test_a_page_may_widen_its_own_policy_but_never_allow_inline_scripts_or_framing(make_app):
    app = make_app()
    with app.test_request_context("/"):
        security.allow({"script-src": ["http://127.0.0.1:8420"], "frame-src": ["http://127.0.0.1:8420"]})
        for bad in ({"script-src": ["'unsafe-inline'"]}, {"script-src": ["'unsafe-eval'"]},
                    {"frame-ancestors": ["*"]}):
            with pytest.raises(ValueError):
                security.allow(bad)
        policy = security.content_security_policy(g.csp_extra)
    assert "script-src 'self' http://127.0.0.1:8420" in policy
    assert "frame-src http://127.0.0.1:8420" in policy


def test_the_session_cookie_is_httponly_samesite_lax_secure_and_expires(make_app, shop_id):
    client = make_app(cookie_secure=True, session_lifetime=timedelta(hours=2)).test_client()
    resp = client.get(f"/shops/{shop_id}/sign-in", base_url="https://web.test")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "expires", "path"} <= attributes
    assert "SameSite=Lax" in cookie and "Domain" not in cookie


def test_the_session_cookie_hides_the_credential_and_refuses_tampering(make_app, fake_http, csrf_of, shop_id):
    app = make_app()
    client = app.test_client()
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {
        "token": "rop_secret_session_credential", "role": "customer", "shop_ids": [shop_id],
        "customer_id": "c1", "id": "t1"})
    page = client.get("/sign-in/rsl_link").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_link", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303
    cookie = client.get_cookie("session")
    assert cookie is not None and "rop_secret" not in cookie.value
    import base64
    padded = cookie.value + "=" * (-len(cookie.value) % 4)
    assert b"rop_secret" not in base64.urlsafe_b64decode(padded)
    # altered by one character: the browser is nobody
    client.set_cookie("session", cookie.value[:-5] + ("A" if cookie.value[-5] != "A" else "B") + cookie.value[-4:])
    assert client.get(f"/shops/{shop_id}/subscriptions").status_code == 302


def test_a_session_cookie_older_than_its_lifetime_is_refused(make_app):
    from web_app.sessions import EncryptedCookie, fernet_for

    app = make_app(session_lifetime=timedelta(hours=1))
    cookie = EncryptedCookie(fernet_for(app.secret_key))
    old = cookie.fernet.encrypt_at_time(b'{"token": "rop_x"}', current_time=1_000_000)
    from itsdangerous import BadSignature

    with pytest.raises(BadSignature):
        cookie.loads(old, max_age=3600)
    assert cookie.loads(cookie.dumps({"token": "rop_x"}), max_age=3600) == {"token": "rop_x"}


def test_a_form_posted_without_its_csrf_token_is_refused_and_reaches_no_service(client, fake_http, shop_id):
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"email": "ann@example.org"})
    assert resp.status_code == 400
    assert fake_http.sent == []
    assert client.post("/sign-in/rsl_link", data={}).status_code == 400
    assert client.post("/sign-out", data={}).status_code == 400
    assert fake_http.sent == []


def test_every_form_on_the_pages_carries_a_csrf_token(client, shop_id):
    for path in (f"/shops/{shop_id}/sign-in", "/sign-in/rsl_abc"):
        page = client.get(path).get_data(as_text=True)
        forms = re.findall(r"<form\b.*?</form>", page, re.S)
        assert forms and all('name="csrf_token"' in f for f in forms)


def test_vary_and_headers_are_parseable(client, shop_id):
    resp = client.get(f"/shops/{shop_id}/sign-in")
    assert "Cookie" in parse_set_header(resp.headers.get("Vary"))


def test_production_refuses_the_development_secret_key_and_insecure_cookies(make_app):
    from servicekit.config import ConfigError
    from web_app.config import LOCAL_SECRET_KEY

    for bad in ({"secret_key": LOCAL_SECRET_KEY}, {"secret_key": "short"}, {"cookie_secure": False},
                {"stripe_publishable_key": "pk_test_local_development"}):
        with pytest.raises(ConfigError):
            make_app(app_env="production", **{"secret_key": "s" * 40, "cookie_secure": True,
                                              "stripe_publishable_key": "pk_live_x", **bad})
    make_app(app_env="production", secret_key="s" * 40, cookie_secure=True, stripe_publishable_key="pk_live_x")
