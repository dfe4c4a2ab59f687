"""The web app's factory: ``gunicorn "web_app.app:create_app()"``.

Wires settings, the encrypted session cookie, CSRF on every form (Flask-WTF), translations (Flask-Babel), the
security headers, the pages, and what a refusal of a service becomes: 401 (the person's session ended at the API)
-> sign in again and come back; 404 -> not found; anything unexpected -> an error page, never a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from servicekit import logs
from servicekit.config import env
from servicekit.web.app import internal
from web_app import SERVICE_NAME, i18n, manage, people, words
from web_app.api import ApiError
from web_app.config import WebSettings
from web_app.forms import ConfirmForm
from web_app.security import secure_headers
from web_app.sessions import EncryptedSessionInterface
from web_app.views import auth, customer, orders, payment, payments, substitutes, time_off

log = logging.getLogger("web_app")


def create_app(settings: WebSettings | None = None) -> Flask:
    settings = settings or WebSettings.from_env()
    app = Flask(__name__)
    app.extensions["web_settings"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="__Host-session" if settings.cookie_secure else "session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        MAX_CONTENT_LENGTH=100_000,
        TEMPLATES_AUTO_RELOAD=settings.app_env == "development",
    )
    app.session_interface = EncryptedSessionInterface()
    CSRFProtect(app)
    i18n.init_app(app)
    logs.configure(SERVICE_NAME, env("LOG_LEVEL", "INFO") or "INFO")

    @app.before_request
    def correlate() -> None:
        g.correlation_id = (request.headers.get("X-Correlation-ID") or str(uuid.uuid4()))[:100]
        logs.correlation_id.set(g.correlation_id)
        session.permanent = True  # every cookie expires (PERMANENT_SESSION_LIFETIME after its last use)

    app.after_request(secure_headers)

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        return {"person": people.current(), "sign_out_form": ConfirmForm(), "words": words,
                "locale": i18n.select_locale()}

    app.register_blueprint(auth.bp)
    app.register_blueprint(customer.bp)
    app.register_blueprint(payment.bp)
    app.register_blueprint(payments.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(time_off.bp)
    app.register_blueprint(substitutes.bp)
    manage.register(app)  # the managers' console, with every page module of web_app/manage

    @app.get("/healthz")
    @internal
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    @internal
    def readyz() -> Any:
        """Ready once started: the app holds nothing to warm, and a service that does not answer is a page's
        error (502), not a reason to take every page down."""
        return {"status": "ok"}

    @app.errorhandler(ApiError)
    def api_refused(err: ApiError) -> Any:
        if err.status == 401:  # the credential expired or was revoked: sign in again, then come back here
            people.sign_out()
            if (request.blueprint or "").startswith("manage"):
                return redirect(url_for("manage.sign_in", next=manage.coming_back_to()))
            shop_id = (request.view_args or {}).get("shop_id")
            if shop_id:
                return redirect(url_for("auth.ask_for_link", shop_id=shop_id, next=customer.coming_back_to()))
            return redirect(url_for("customer.home"))
        if err.status == 404:
            return render_template("error.html", code=404), 404
        log.warning("a service refused a page", extra={"status": err.status, "title": err.title,
                                                        "path": request.path})
        return render_template("error.html", code=502), 502

    @app.errorhandler(CSRFError)
    def csrf_refused(err: CSRFError) -> Any:
        return render_template("error.html", code=400, csrf=True), 400

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, lambda err, code=code: (render_template("error.html", code=code), code))

    @app.errorhandler(500)
    def failed(err: Any) -> Any:
        return render_template("error.html", code=500), 500

    return app
